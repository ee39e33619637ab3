"""The edge daemon's configuration: a pydantic model of the store YAML and its loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudConfig(_Section):
    """Where the cloud's edge link is and how to trust it."""

    target: str = Field(description="gRPC host:port of the cloud's edge link")
    # Enroll needs a TLS port that does not demand a client certificate; default: `target`.
    enroll_target: str | None = None
    ca_cert: Path = Field(description="the CA PEM trusted until enrolment")
    server_name: str = "gatehouse-cloud"
    bootstrap_token: str | None = Field(default=None, repr=False)
    reconnect_base_s: float = Field(default=0.5, gt=0)
    reconnect_cap_s: float = Field(default=30.0, gt=0)

    @field_validator("target", "enroll_target")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port")
        return value


class ListenConfig(_Section):
    """A local bind address; port 0 picks any free port."""

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, lt=65536)


class LocalSettings(_Section):
    """Local defaults, under whatever the cloud's store data sets (store > room type > chain > these)."""

    early_grace_s: int = Field(default=900, ge=0)
    warning_lead_min: int = Field(default=5, ge=0, le=240)
    cleaning_gap_min: int = Field(default=30, ge=0, le=240)


class DeviceSettings(_Section):
    """Device commands (per-try timeout, tries, backoff), polling, availability checks, light flashes."""

    timeout_s: float = Field(default=5.0, gt=0)
    tries: int = Field(default=3, ge=1, le=10)
    backoff_s: float = Field(default=0.2, ge=0)
    poll_s: float = Field(default=10.0, gt=0)
    check_s: float = Field(default=1.0, gt=0)
    flash_s: float = Field(default=0.5, ge=0)


class EdgeConfig(_Section):
    """The whole edge configuration (`gatehouse edge run --config store.yaml`)."""

    data_dir: Path
    cloud: CloudConfig
    mqtt: ListenConfig = ListenConfig(port=1883)
    panel: ListenConfig = ListenConfig(port=8081)
    settings: LocalSettings = LocalSettings()
    devices: DeviceSettings = DeviceSettings()


def parse_config(data: Any, *, source: str = "<config>") -> EdgeConfig:
    """Validate already-parsed YAML data; raise ConfigError naming every bad field."""
    if not isinstance(data, dict):
        raise ConfigError("invalid", f"{source}: expected a mapping at the top level")
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError("invalid", f"{source}: {problems}") from err


def load_config(path: str | Path) -> EdgeConfig:
    """Read and validate an edge YAML config file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError("not_found", f"config file not found: {file}") from err
    except OSError as err:
        raise ConfigError("unreadable", f"cannot read config file {file}: {err}") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError("bad_yaml", f"{file}: not valid YAML: {err}") from err
    return parse_config(data, source=str(file))
