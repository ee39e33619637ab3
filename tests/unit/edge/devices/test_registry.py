"""Device records -> drivers: the (kind, protocol) table and the config errors it reports."""

from __future__ import annotations

import pytest

from drivers.mqtt import MqttBus
from drivers.scanner import Scan
from edge.devices.registry import BUILDERS, BuildContext, DeviceConfigError, build
from edge.records import Device


async def ignore(scan: Scan) -> None:
    return None


@pytest.fixture
def ctx() -> BuildContext:
    return BuildContext(MqttBus("127.0.0.1", 1), ignore)  # never entered: nothing connects


def test_every_documented_kind_and_protocol_has_a_builder() -> None:
    assert set(BUILDERS) == {
        ("lock", "mqtt"),
        ("power", "modbus"),
        ("power", "mqtt"),
        ("scanner", "mqtt"),
        ("scanner", "tcp"),
    }


@pytest.mark.parametrize(
    ("device", "code"),
    [
        (Device("d", "printer", "escpos"), "unsupported"),
        (Device("d", "power", "modbus", "r1", {"port": "502"}), "missing_config"),
        (Device("d", "power", "modbus", "r1", {"host": "h"}), "missing_config"),
        (Device("d", "power", "modbus", "r1", {"host": "h", "port": "http"}), "bad_config"),
        (Device("d", "power", "mqtt", "r1", {"channels": "0"}), "bad_config"),
        (Device("d", "scanner", "tcp", None, {"host": "h", "port": "99999"}), "bad_config"),
    ],
)
async def test_records_that_cannot_be_built_say_why(ctx: BuildContext, device: Device, code: str) -> None:
    with pytest.raises(DeviceConfigError) as caught:
        await build(ctx, device)
    assert caught.value.code == code


async def test_an_mqtt_switch_takes_its_channel_count_from_the_record(ctx: BuildContext) -> None:
    built = await build(ctx, Device("pw", "power", "mqtt", "r1", {"channels": "3"}))
    try:
        assert (built.channels, built.power is not None, built.lock) == (3, True, None)
    finally:
        await built.stop()
