"""Device records -> driver objects: one builder per (kind, protocol), in one table."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from drivers.lock import MqttLock
from drivers.mqtt import MqttBus
from drivers.power import ModbusPowerSwitch, MqttPowerSwitch, PowerSwitch
from drivers.scanner import MqttScanner, ScanHandler, ScannerSource, TcpLineScanner
from edge.records import Device


class DeviceConfigError(ValueError):
    """A device record cannot be built into a driver; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class DriverTiming:
    """How long a device command may take and how often it is tried."""

    timeout_s: float = 5.0
    tries: int = 3
    backoff_s: float = 0.2


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What builders need: the shared bus, the scan handler and command timing."""

    bus: MqttBus
    on_scan: ScanHandler
    timing: DriverTiming = DriverTiming()


@dataclass(eq=False)
class BuiltDevice:
    """A running driver for one device record, and how to stop it."""

    record: Device
    lock: MqttLock | None = None
    power: PowerSwitch | None = None
    channels: int = 1
    scanner: ScannerSource | None = None
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def stop(self) -> None:
        """Release the driver's subscriptions and connections."""
        await self.stack.aclose()


Builder = Callable[[BuildContext, Device], Awaitable[BuiltDevice]]


def _int(device: Device, key: str, default: str | None, *, low: int, high: int) -> int:
    raw = device.setting(key, default)
    if raw is None:
        raise DeviceConfigError("missing_config", f"device {device.id}: config {key!r} is required")
    try:
        value = int(raw)
    except ValueError as err:
        raise DeviceConfigError("bad_config", f"device {device.id}: config {key!r} is not a number") from err
    if not low <= value <= high:
        raise DeviceConfigError("bad_config", f"device {device.id}: config {key!r} out of range")
    return value


def _host(device: Device) -> str:
    host = device.setting("host")
    if host is None:
        raise DeviceConfigError("missing_config", f"device {device.id}: config 'host' is required")
    return host


async def _mqtt_lock(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    lock = MqttLock(ctx.bus, device.id, timeout=t.timeout_s, tries=t.tries, backoff=t.backoff_s)
    built = BuiltDevice(device, lock=lock)
    built.stack.callback(lock.close)
    return built


async def _modbus_power(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    channels = _int(device, "channels", "1", low=1, high=64)
    switch = ModbusPowerSwitch(
        device.id,
        _host(device),
        _int(device, "port", None, low=1, high=65535),
        unit=_int(device, "unit", "1", low=0, high=255),
        channels=channels,
        timeout=t.timeout_s,
        tries=t.tries,
        backoff=t.backoff_s,
    )
    built = BuiltDevice(device, power=switch, channels=channels)
    await built.stack.enter_async_context(switch)
    return built


async def _mqtt_power(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    channels = _int(device, "channels", "1", low=1, high=64)
    switch = MqttPowerSwitch(
        ctx.bus, device.id, channels=channels, timeout=t.timeout_s, tries=t.tries, backoff=t.backoff_s
    )
    built = BuiltDevice(device, power=switch, channels=channels)
    built.stack.callback(switch.close)
    return built


async def _mqtt_scanner(ctx: BuildContext, device: Device) -> BuiltDevice:
    scanner = MqttScanner(ctx.bus, device.id, ctx.on_scan)
    built = BuiltDevice(device, scanner=scanner)
    await scanner.start()
    built.stack.push_async_callback(scanner.stop)
    return built


async def _tcp_scanner(ctx: BuildContext, device: Device) -> BuiltDevice:
    scanner = TcpLineScanner(
        device.id, _host(device), _int(device, "port", None, low=1, high=65535), ctx.on_scan
    )
    built = BuiltDevice(device, scanner=scanner)
    await scanner.start()
    built.stack.push_async_callback(scanner.stop)
    return built


BUILDERS: dict[tuple[str, str], Builder] = {
    ("lock", "mqtt"): _mqtt_lock,
    ("power", "modbus"): _modbus_power,
    ("power", "mqtt"): _mqtt_power,
    ("scanner", "mqtt"): _mqtt_scanner,
    ("scanner", "tcp"): _tcp_scanner,
}


async def build(ctx: BuildContext, device: Device) -> BuiltDevice:
    """Build and start the driver for a device record; raise DeviceConfigError when it cannot be built."""
    builder = BUILDERS.get((device.kind, device.protocol))
    if builder is None:
        raise DeviceConfigError(
            "unsupported", f"device {device.id}: no driver for kind {device.kind!r} over {device.protocol!r}"
        )
    return await builder(ctx, device)
