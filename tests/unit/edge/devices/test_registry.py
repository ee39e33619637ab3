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
        ("lock", "ble"),
        ("power", "modbus"),
        ("power", "mqtt"),
        ("gate", "modbus"),
        ("gate", "mqtt"),
        ("printer", "escpos"),
        ("scanner", "mqtt"),
        ("scanner", "tcp"),
        ("sensor", "mqtt"),
    }


@pytest.mark.parametrize(
    ("device", "code"),
    [
        (Device("d", "printer", "usb"), "unsupported"),
        (Device("d", "printer", "escpos", None, {"host": "h", "profile": "a4-laser"}), "bad_config"),
        (Device("d", "lock", "ble", "r1"), "missing_config"),
        (Device("d", "gate", "modbus", None, {"host": "h"}), "missing_config"),
        (Device("d", "sensor", "mqtt", "r1", {"sensor": "heat"}), "bad_config"),
        (Device("d", "power", "mqtt", "r1", {"channels": "2", "roles": "light,ac,fan"}), "bad_config"),
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
        assert built.lights() == [0]
    finally:
        await built.stop()


async def test_the_lights_are_the_channels_whose_role_is_light(ctx: BuildContext) -> None:
    built = await build(
        ctx, Device("pw", "power", "mqtt", "r1", {"channels": "3", "roles": "ac,light,light"})
    )
    try:
        assert built.lights() == [1, 2]
    finally:
        await built.stop()
