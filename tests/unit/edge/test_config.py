"""The edge config: the brief's YAML loads; every mistake is named in one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import ConfigError, EdgeConfig, load_config

EXAMPLE = """
data_dir: .gatehouse/edges/store-a
cloud:
  target: 127.0.0.1:50051
  ca_cert: .gatehouse/cloud/ca.pem
  server_name: gatehouse-cloud
  bootstrap_token: "tok-123"
mqtt:  {host: 127.0.0.1, port: 1883}
panel: {host: 127.0.0.1, port: 8081}
settings: {early_grace_s: 900}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "store.yaml"
    path.write_text(text)
    return path


def test_the_documented_example_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE))
    assert isinstance(config, EdgeConfig)
    assert config.data_dir == Path(".gatehouse/edges/store-a")
    assert (config.cloud.target, config.cloud.server_name) == ("127.0.0.1:50051", "gatehouse-cloud")
    assert config.cloud.bootstrap_token == "tok-123"
    assert (config.mqtt.port, config.panel.port, config.settings.early_grace_s) == (1883, 8081, 900)
    assert (config.cloud.reconnect_base_s, config.cloud.reconnect_cap_s) == (0.5, 30.0)
    assert (config.devices.timeout_s, config.devices.tries) == (5.0, 3)


def test_optional_sections_take_their_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "data_dir: d\ncloud: {target: 'h:1', ca_cert: ca.pem}\n"))
    assert config.cloud.bootstrap_token is None
    assert (config.mqtt.host, config.mqtt.port) == ("127.0.0.1", 1883)
    assert config.panel.port == 8081


def test_the_token_is_not_shown_in_the_configs_repr(tmp_path: Path) -> None:
    assert "tok-123" not in repr(load_config(write(tmp_path, EXAMPLE)))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert caught.value.code == "not_found"
    assert "nope.yaml" in str(caught.value)


def test_broken_yaml_is_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "cloud: [unclosed"))
    assert caught.value.code == "bad_yaml"


def test_every_invalid_field_is_named_in_one_error(tmp_path: Path) -> None:
    text = "data_dir: d\ncloud: {target: 'no-port', ca_cert: ca.pem}\nmqtt: {port: 70000}\npanel: {prot: 1}\n"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert caught.value.code == "invalid"
    assert "cloud.target" in message
    assert "mqtt.port" in message
    assert "panel.prot" in message


def test_a_config_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "- just\n- a list\n"))
    assert caught.value.code == "invalid"
