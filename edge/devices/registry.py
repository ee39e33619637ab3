"""Device records -> driver objects: one builder per (kind, protocol), in one table."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.gate import Gate, ModbusGate, MqttGate
from drivers.lock import BleLock, MonitoredLock, MqttLock
from drivers.mqtt import MqttBus
from drivers.power import ChannelRole, ModbusPowerSwitch, MqttPowerSwitch, PowerSwitch, parse_channel_roles
from drivers.printer import PROFILES, EscposPrinter, Printer
from drivers.scanner import MqttScanner, ScanHandler, ScannerSource, TcpLineScanner
from drivers.sensor import MqttSensor, SensorKind
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
    """What builders need: the shared bus, the scan handler, command timing, the BLE backend."""

    bus: MqttBus
    on_scan: ScanHandler
    timing: DriverTiming = DriverTiming()
    # bleak's client backend for BLE locks (None: the platform's own, BlueZ on Linux).
    ble_backend: type[Any] | None = None


@dataclass(eq=False)
class BuiltDevice:
    """A running driver for one device record, and how to stop it."""

    record: Device
    lock: MonitoredLock | None = None
    power: PowerSwitch | None = None
    channels: int = 1
    roles: tuple[ChannelRole, ...] = ()
    gate: Gate | None = None
    printer: Printer | None = None
    sensor: MqttSensor | None = None
    scanner: ScannerSource | None = None
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def driver(self) -> object | None:
        """The device's driver object, whatever its kind."""
        return self.lock or self.power or self.gate or self.printer or self.sensor or self.scanner

    def lights(self) -> list[int]:
        """The channels that power lights (channel 0 when no roles are configured)."""
        found = [i for i, role in enumerate(self.roles) if role is ChannelRole.LIGHT]
        return found or [0]

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


def _required(device: Device, key: str) -> str:
    value = device.setting(key)
    if value is None:
        raise DeviceConfigError("missing_config", f"device {device.id}: config {key!r} is required")
    return value


def _roles(device: Device, channels: int) -> tuple[ChannelRole, ...]:
    try:
        return parse_channel_roles(device.setting("roles"), channels)
    except ValueError as err:
        raise DeviceConfigError("bad_config", f"device {device.id}: config 'roles': {err}") from err


async def _mqtt_lock(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    lock = MqttLock(ctx.bus, device.id, timeout=t.timeout_s, tries=t.tries, backoff=t.backoff_s)
    built = BuiltDevice(device, lock=lock)
    built.stack.callback(lock.close)
    return built


async def _ble_lock(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    lock = BleLock(
        device.id,
        _required(device, "address"),
        backend=ctx.ble_backend,
        timeout=t.timeout_s,
        tries=t.tries,
        backoff=t.backoff_s,
    )
    built = BuiltDevice(device, lock=lock)
    await built.stack.enter_async_context(lock)
    return built


async def _modbus_power(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    channels = _int(device, "channels", "1", low=1, high=64)
    switch = ModbusPowerSwitch(
        device.id,
        _required(device, "host"),
        _int(device, "port", None, low=1, high=65535),
        unit=_int(device, "unit", "1", low=0, high=255),
        channels=channels,
        timeout=t.timeout_s,
        tries=t.tries,
        backoff=t.backoff_s,
    )
    built = BuiltDevice(device, power=switch, channels=channels, roles=_roles(device, channels))
    await built.stack.enter_async_context(switch)
    return built


async def _mqtt_power(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    channels = _int(device, "channels", "1", low=1, high=64)
    roles = _roles(device, channels)
    switch = MqttPowerSwitch(
        ctx.bus, device.id, channels=channels, timeout=t.timeout_s, tries=t.tries, backoff=t.backoff_s
    )
    built = BuiltDevice(device, power=switch, channels=channels, roles=roles)
    built.stack.callback(switch.close)
    return built


async def _modbus_gate(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    gate = ModbusGate(
        device.id,
        _required(device, "host"),
        _int(device, "port", None, low=1, high=65535),
        unit=_int(device, "unit", "1", low=0, high=255),
        timeout=t.timeout_s,
        tries=t.tries,
        backoff=t.backoff_s,
    )
    built = BuiltDevice(device, gate=gate)
    await built.stack.enter_async_context(gate)
    return built


async def _mqtt_gate(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    gate = MqttGate(ctx.bus, device.id, timeout=t.timeout_s, tries=t.tries, backoff=t.backoff_s)
    built = BuiltDevice(device, gate=gate)
    built.stack.callback(gate.close)
    return built


async def _escpos_printer(ctx: BuildContext, device: Device) -> BuiltDevice:
    t = ctx.timing
    profile_name = device.setting("profile", "receipt-80mm") or "receipt-80mm"
    profile = PROFILES.get(profile_name)
    if profile is None:
        raise DeviceConfigError("bad_config", f"device {device.id}: unknown printer profile {profile_name!r}")
    printer = EscposPrinter(
        device.id,
        _required(device, "host"),
        _int(device, "port", "9100", low=1, high=65535),
        profile=profile,
        timeout=t.timeout_s,
        tries=t.tries,
        backoff=t.backoff_s,
    )
    built = BuiltDevice(device, printer=printer)
    await built.stack.enter_async_context(printer)
    return built


async def _mqtt_scanner(ctx: BuildContext, device: Device) -> BuiltDevice:
    scanner = MqttScanner(ctx.bus, device.id, ctx.on_scan)
    built = BuiltDevice(device, scanner=scanner)
    await scanner.start()
    built.stack.push_async_callback(scanner.stop)
    return built


async def _tcp_scanner(ctx: BuildContext, device: Device) -> BuiltDevice:
    scanner = TcpLineScanner(
        device.id, _required(device, "host"), _int(device, "port", None, low=1, high=65535), ctx.on_scan
    )
    built = BuiltDevice(device, scanner=scanner)
    await scanner.start()
    built.stack.push_async_callback(scanner.stop)
    return built


async def _mqtt_sensor(ctx: BuildContext, device: Device) -> BuiltDevice:
    raw = device.setting("sensor")
    try:
        kind = SensorKind(raw) if raw is not None else None
    except ValueError as err:
        raise DeviceConfigError("bad_config", f"device {device.id}: unknown sensor kind {raw!r}") from err
    sensor = MqttSensor(ctx.bus, device.id, kind=kind)
    built = BuiltDevice(device, sensor=sensor)
    built.stack.callback(sensor.close)
    return built


# Every device the edge can drive, keyed by (kind, protocol): the table the README documents.
BUILDERS: dict[tuple[str, str], Builder] = {
    ("lock", "mqtt"): _mqtt_lock,
    ("lock", "ble"): _ble_lock,
    ("power", "modbus"): _modbus_power,
    ("power", "mqtt"): _mqtt_power,
    ("gate", "modbus"): _modbus_gate,
    ("gate", "mqtt"): _mqtt_gate,
    ("printer", "escpos"): _escpos_printer,
    ("scanner", "mqtt"): _mqtt_scanner,
    ("scanner", "tcp"): _tcp_scanner,
    ("sensor", "mqtt"): _mqtt_sensor,
}


async def build(ctx: BuildContext, device: Device) -> BuiltDevice:
    """Build and start the driver for a device record; raise DeviceConfigError when it cannot be built."""
    builder = BUILDERS.get((device.kind, device.protocol))
    if builder is None:
        raise DeviceConfigError(
            "unsupported", f"device {device.id}: no driver for kind {device.kind!r} over {device.protocol!r}"
        )
    return await builder(ctx, device)
