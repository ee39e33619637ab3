"""SimulatedStore: every device of a store's records, simulated over its real protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from .lock_mqtt import SimulatedMqttLock
from .mqtt_device import SimulatedMqttDevice
from .power_modbus import SimulatedModbusSwitch
from .power_mqtt import SimulatedMqttSwitch
from .scanner import SimulatedMqttScanner, SimulatedTcpScanner

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
    host: str
    port: int


Factory = Callable[[DeviceSpec, _Broker], _Simulator]
Switch = SimulatedModbusSwitch | SimulatedMqttSwitch
Scanner = SimulatedMqttScanner | SimulatedTcpScanner


def _int(spec: DeviceSpec, key: str, default: int) -> int:
    raw = spec.config.get(key, "")
    return int(raw) if raw.strip() else default


def _float(spec: DeviceSpec, key: str, default: float) -> float:
    raw = spec.config.get(key, "")
    return float(raw) if raw.strip() else default


def _mqtt_lock(spec: DeviceSpec, broker: _Broker) -> _Simulator:
    return SimulatedMqttLock(
        broker.host, broker.port, spec.id, relock_after_s=_float(spec, "relock_after_s", 5.0)
    )


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


# (kind, protocol) -> simulator factory: the device kinds this store can simulate.
SIMULATORS: Mapping[tuple[str, str], Factory] = {
    ("lock", "mqtt"): _mqtt_lock,
    ("power", "modbus"): _modbus_switch,
    ("power", "mqtt"): _mqtt_switch,
    ("scanner", "mqtt"): _mqtt_scanner,
    ("scanner", "tcp"): _tcp_scanner,
}


class SimulatedStore:
    """Async context manager starting one simulator per device record, all at once.

    Modbus switches and TCP scanners with no port (or "0") listen on a free port, published in
    `modbus_ports` / `tcp_ports` by device id. With `strict=False` devices of a kind nobody
    simulates are skipped (and listed in `skipped`) instead of refused.
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
        self._broker = _Broker(mqtt_host, mqtt_port)
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
            self._sims[spec.id] = factory(spec, self._broker)
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
            if isinstance(sim, SimulatedModbusSwitch):
                self.modbus_ports[device_id] = sim.port
            elif isinstance(sim, SimulatedTcpScanner):
                self.tcp_ports[device_id] = sim.port
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
