"""SimulatedStore: every device of a store's records, simulated over its real protocol."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from bleak.backends.client import BaseBleakClient

from .gate_modbus import SimulatedModbusGate
from .gate_mqtt import SimulatedMqttGate
from .lock_ble import BleAir, SimulatedBleLock
from .lock_mqtt import SimulatedMqttLock
from .mqtt_device import SimulatedMqttDevice
from .power_modbus import SimulatedModbusSwitch
from .power_mqtt import SimulatedMqttSwitch
from .printer_escpos import SimulatedEscposPrinter
from .scanner import SimulatedMqttScanner, SimulatedTcpScanner
from .sensor_mqtt import SimulatedMqttSensor

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A device record as the store data carries it (config values are strings)."""

    id: str
    kind: str
    protocol: str
    room_id: str | None = None
    config: Mapping[str, str] = field(default_factory=dict)


class _Simulator(Protocol):
    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class _Broker:
    """What factories share: the MQTT broker's address and the air BLE locks live in."""

    host: str
    port: int
    air: BleAir = field(default_factory=BleAir)


Factory = Callable[[DeviceSpec, _Broker], _Simulator]
Switch = SimulatedModbusSwitch | SimulatedMqttSwitch
Scanner = SimulatedMqttScanner | SimulatedTcpScanner
Gate = SimulatedModbusGate | SimulatedMqttGate


def _int(spec: DeviceSpec, key: str, default: int) -> int:
    raw = spec.config.get(key, "")
    return int(raw) if raw.strip() else default


def _float(spec: DeviceSpec, key: str, default: float) -> float:
    raw = spec.config.get(key, "")
    return float(raw) if raw.strip() else default


def ble_address(spec: DeviceSpec) -> str:
    """The lock's configured BLE address, or one derived from its id (locally administered)."""
    configured = spec.config.get("address", "").strip()
    if configured:
        return configured.upper()
    digest = hashlib.sha256(spec.id.encode()).digest()[:5]
    return ":".join(f"{byte:02X}" for byte in (0x02, *digest))


def _mqtt_lock(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedMqttLock(
        broker.host, broker.port, spec.id, relock_after_s=_float(spec, "relock_after_s", 5.0)
    )


def _ble_lock(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    lock = SimulatedBleLock(ble_address(spec), relock_after_s=_float(spec, "relock_after_s", 5.0))
    broker.air.add(lock)
    return lock


def _modbus_switch(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedModbusSwitch(
        spec.config.get("host") or "127.0.0.1",
        _int(spec, "port", 0),
        unit=_int(spec, "unit", 1),
        channels=max(_int(spec, "channels", 1), 1),
    )


def _mqtt_switch(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedMqttSwitch(broker.host, broker.port, spec.id, channels=max(_int(spec, "channels", 1), 1))


def _mqtt_scanner(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedMqttScanner(broker.host, broker.port, spec.id)


def _tcp_scanner(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedTcpScanner(spec.config.get("host") or "127.0.0.1", _int(spec, "port", 0))


def _modbus_gate(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedModbusGate(
        spec.config.get("host") or "127.0.0.1",
        _int(spec, "port", 0),
        unit=_int(spec, "unit", 1),
        pulse_s=_float(spec, "pulse_s", 1.0),
    )


def _mqtt_gate(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedMqttGate(broker.host, broker.port, spec.id, pulse_s=_float(spec, "pulse_s", 1.0))


def _escpos_printer(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedEscposPrinter(spec.config.get("host") or "127.0.0.1", _int(spec, "port", 0))


def _mqtt_sensor(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    kind = spec.config.get("sensor", "").strip() or "smoke"
    return SimulatedMqttSensor(broker.host, broker.port, spec.id, kind)


# (kind, protocol) -> simulator factory: the device kinds this store can simulate.
SIMULATORS: Mapping[tuple[str, str], Factory] = {
    ("lock", "mqtt"): _mqtt_lock,
    ("lock", "ble"): _ble_lock,
    ("power", "modbus"): _modbus_switch,
    ("power", "mqtt"): _mqtt_switch,
    ("gate", "modbus"): _modbus_gate,
    ("gate", "mqtt"): _mqtt_gate,
    ("printer", "escpos"): _escpos_printer,
    ("scanner", "mqtt"): _mqtt_scanner,
    ("scanner", "tcp"): _tcp_scanner,
    ("sensor", "mqtt"): _mqtt_sensor,
}


class SimulatedStore:
    """Async context manager starting one simulator per device record, all at once.

    Modbus switches and gates, TCP scanners and ESC/POS printers with no port (or "0") listen on
    a free port, published in `modbus_ports` / `tcp_ports` / `printer_ports` by device id. BLE
    locks live in one air: drivers reach them with `backend=store.ble_backend` at the addresses
    in `ble_addresses`. With `strict=False` devices of a kind nobody simulates are skipped (and
    listed in `skipped`) instead of refused.
    """

    def __init__(
        self,
        devices: Sequence[DeviceSpec],
        *,
        mqtt_host: str,
        mqtt_port: int,
        strict: bool = True,
    ) -> None:
        self.devices = {spec.id: spec for spec in devices}
        if len(self.devices) != len(devices):
            raise ValueError("duplicate device ids")
        self.skipped: list[str] = []
        self.modbus_ports: dict[str, int] = {}
        self.tcp_ports: dict[str, int] = {}
        self.printer_ports: dict[str, int] = {}
        self.ble_addresses: dict[str, str] = {}
        self._broker = _Broker(mqtt_host, mqtt_port)
        self.ble_backend: type[BaseBleakClient] = self._broker.air.backend
        self._sims: dict[str, _Simulator] = {}
        for spec in devices:
            factory = SIMULATORS.get((spec.kind, spec.protocol))
            if factory is None:
                if strict:
                    raise ValueError(f"no simulator for {spec.kind}/{spec.protocol} (device {spec.id})")
                logger.warning(
                    "device not simulated",
                    extra={"device_id": spec.id, "kind": spec.kind, "protocol": spec.protocol},
                )
                self.skipped.append(spec.id)
                continue
            sim = factory(spec, self._broker)
            self._sims[spec.id] = sim
            if isinstance(sim, SimulatedBleLock):
                self.ble_addresses[spec.id] = sim.address
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        sims = list(self._sims.values())
        results = await asyncio.gather(*(sim.__aenter__() for sim in sims), return_exceptions=True)
        failure: BaseException | None = None
        for sim, result in zip(sims, results, strict=True):
            if isinstance(result, BaseException):
                failure = failure or result
            else:
                self._stack.push_async_exit(sim)
        if failure is not None:
            await self._stack.aclose()
            raise failure
        for device_id, sim in self._sims.items():
            if isinstance(sim, SimulatedModbusSwitch | SimulatedModbusGate):
                self.modbus_ports[device_id] = sim.port
            elif isinstance(sim, SimulatedTcpScanner):
                self.tcp_ports[device_id] = sim.port
            elif isinstance(sim, SimulatedEscposPrinter):
                self.printer_ports[device_id] = sim.port

        logger.info("simulated store running", extra={"devices": len(sims), "skipped": len(self.skipped)})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    def lock(self, device_id: str) -> SimulatedMqttLock:
        """The simulated lock with this id."""
        sim = self._sims.get(device_id)
        if isinstance(sim, SimulatedMqttLock):
            return sim
        raise KeyError(f"no simulated lock {device_id!r}")

    def ble_lock(self, device_id: str) -> SimulatedBleLock:
        """The simulated BLE lock with this id."""
        sim = self._sims.get(device_id)
        if isinstance(sim, SimulatedBleLock):
            return sim
        raise KeyError(f"no simulated BLE lock {device_id!r}")

    def gate(self, device_id: str) -> Gate:
        """The simulated gate with this id."""
        sim = self._sims.get(device_id)
        if isinstance(sim, SimulatedModbusGate | SimulatedMqttGate):
            return sim
        raise KeyError(f"no simulated gate {device_id!r}")

    def printer(self, device_id: str) -> SimulatedEscposPrinter:
        """The simulated printer with this id."""
        sim = self._sims.get(device_id)
        if isinstance(sim, SimulatedEscposPrinter):
            return sim
        raise KeyError(f"no simulated printer {device_id!r}")

    def sensor(self, device_id: str) -> SimulatedMqttSensor:
        """The simulated sensor with this id."""
        sim = self._sims.get(device_id)
        if isinstance(sim, SimulatedMqttSensor):
            return sim
        raise KeyError(f"no simulated sensor {device_id!r}")

    def switch(self, device_id: str) -> Switch:
        """The simulated power switch with this id."""
        sim = self._sims.get(device_id)
        if isinstance(sim, SimulatedModbusSwitch | SimulatedMqttSwitch):
            return sim
        raise KeyError(f"no simulated power switch {device_id!r}")

    def scanner(self, device_id: str) -> Scanner:
        """The simulated scanner with this id."""
        sim = self._sims.get(device_id)
        if isinstance(sim, SimulatedMqttScanner | SimulatedTcpScanner):
            return sim
        raise KeyError(f"no simulated scanner {device_id!r}")

    async def wait_online(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every MQTT device is connected to the broker (e.g. after it restarted)."""
        mqtt = [sim for sim in self._sims.values() if isinstance(sim, SimulatedMqttDevice)]
        await asyncio.gather(*(sim.wait_online(timeout) for sim in mqtt))
