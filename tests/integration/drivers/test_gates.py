"""Gate drivers against their simulators: a Modbus coil pulse and an MQTT "open", with faults."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymodbus.constants import ExcCodes

from drivers.gate import (
    GateJammed,
    GateOffline,
    GateReplyError,
    GateStatus,
    GateTimeout,
    ModbusGate,
    MqttGate,
)
from drivers.mqtt import MqttBus
from edge.broker import EmbeddedBroker
from simulators.gate_modbus import SimulatedModbusGate
from simulators.gate_mqtt import SimulatedMqttGate
from tests.conftest import free_port
from tests.integration.drivers.support import eventually

# ---- Modbus ----


@pytest.fixture
async def modbus_sim() -> AsyncIterator[SimulatedModbusGate]:
    """A turnstile on a free port whose pulse outlasts every test."""
    async with SimulatedModbusGate(unit=3, pulse_s=60) as gate:
        yield gate


def modbus_gate(port: int, *, timeout: float = 1.0, tries: int = 3) -> ModbusGate:
    """A driver with test-sized timeouts and a fixed clock."""
    return ModbusGate(
        "gate-1", "127.0.0.1", port, unit=3, timeout=timeout, tries=tries, backoff=0.01, clock=lambda: 9.0
    )


async def test_open_pulses_the_coil_and_returns_the_open_read_back_and_pass_counter(
    modbus_sim: SimulatedModbusGate,
) -> None:
    async with modbus_gate(modbus_sim.port) as gate:
        assert await gate.status() == GateStatus(open=False, passes=0, at=9.0)
        assert await gate.open() == GateStatus(open=True, passes=0, at=9.0)
        assert modbus_sim.opens == 1
        assert modbus_sim.pass_through()
        assert await gate.status() == GateStatus(open=False, passes=1, at=9.0)
        assert gate.last_status == GateStatus(open=False, passes=1, at=9.0)


async def test_the_pass_counter_spans_two_registers(modbus_sim: SimulatedModbusGate) -> None:
    modbus_sim.passes = 70_000
    async with modbus_gate(modbus_sim.port) as gate:
        assert (await gate.status()).passes == 70_000


async def test_the_gate_closes_itself_when_the_pulse_ends() -> None:
    async with SimulatedModbusGate(unit=3, pulse_s=0.05) as sim, modbus_gate(sim.port) as gate:
        await gate.open()
        await eventually(lambda: not sim.is_open)
        assert (await gate.status()).open is False


async def test_a_jammed_gate_raises_gate_jammed_without_retrying(modbus_sim: SimulatedModbusGate) -> None:
    modbus_sim.jammed = True
    async with modbus_gate(modbus_sim.port) as gate:
        with pytest.raises(GateJammed) as info:
            await gate.open()
        assert info.value.code == "jammed"
        with pytest.raises(GateJammed):
            await gate.status()
    assert modbus_sim.requests == 3  # write + read, then one status read
    assert modbus_sim.opens == 0


@pytest.mark.parametrize("code", [int(code) for code in ExcCodes])
async def test_every_modbus_exception_reply_is_a_reply_error_naming_its_code(
    modbus_sim: SimulatedModbusGate, code: int
) -> None:
    modbus_sim.exception_code = code
    async with modbus_gate(modbus_sim.port, tries=2) as gate:
        with pytest.raises(GateReplyError, match=f"exception {code}") as info:
            await gate.open()
        assert info.value.code == "bad_reply"
        modbus_sim.exception_code = None
        assert (await gate.open()).open  # the connection is still good
    assert modbus_sim.opens == 1


async def test_a_gate_answering_too_late_is_a_timeout_and_the_next_command_recovers(
    modbus_sim: SimulatedModbusGate,
) -> None:
    async with modbus_gate(modbus_sim.port, timeout=0.1, tries=2) as gate:
        modbus_sim.delay_s = 0.3
        with pytest.raises(GateTimeout):
            await gate.status()
        modbus_sim.delay_s = 0.0
        assert (await gate.open()).open


async def test_an_offline_gate_is_gate_offline_and_works_once_back(modbus_sim: SimulatedModbusGate) -> None:
    async with modbus_gate(modbus_sim.port, timeout=0.2, tries=2) as gate:
        await gate.status()
        await modbus_sim.go_offline()
        with pytest.raises(GateOffline) as info:
            await gate.open()
        assert info.value.code == "offline"
        await modbus_sim.come_online()
        assert (await gate.open()).open


async def test_a_gate_down_at_start_is_reached_on_a_later_command() -> None:
    port = free_port()
    async with modbus_gate(port, timeout=0.2, tries=1) as gate:
        assert not gate.connected
        with pytest.raises(GateOffline):
            await gate.status()
        async with SimulatedModbusGate(port=port, unit=3):
            assert (await gate.open()).open


# ---- MQTT ----


@pytest.fixture
async def mqtt_sim(mqtt_broker: EmbeddedBroker) -> AsyncIterator[SimulatedMqttGate]:
    """A simulated MQTT gate with a long pulse."""
    async with SimulatedMqttGate(
        mqtt_broker.host, mqtt_broker.port, "gate-q", pulse_s=60, clock=lambda: 3.0
    ) as sim:
        yield sim


def mqtt_gate(bus: MqttBus, *, timeout: float = 1.0, tries: int = 3) -> MqttGate:
    """A driver with test-sized timeouts."""
    return MqttGate(bus, "gate-q", timeout=timeout, tries=tries, backoff=0.01)


async def test_an_mqtt_open_is_acknowledged_by_the_open_state_with_its_command_id(
    bus: MqttBus, mqtt_sim: SimulatedMqttGate
) -> None:
    gate = mqtt_gate(bus)
    seen: list[GateStatus] = []
    gate.on_status(seen.append)
    assert await gate.open() == GateStatus(open=True, passes=0, at=3.0)
    assert mqtt_sim.opens == 1
    assert await mqtt_sim.pass_through()
    await eventually(lambda: gate.last_status == GateStatus(open=False, passes=1, at=3.0))
    assert (await gate.status()).passes == 1
    assert GateStatus(open=True, passes=0, at=3.0) in seen


async def test_an_mqtt_gate_reports_heartbeats(bus: MqttBus, mqtt_sim: SimulatedMqttGate) -> None:
    gate = mqtt_gate(bus)
    await mqtt_sim.go_offline()
    await mqtt_sim.come_online()
    await eventually(lambda: gate.last_heartbeat is not None)
    assert gate.last_heartbeat is not None and gate.last_heartbeat.battery is None
    gate.close()


async def test_a_jammed_mqtt_gate_raises_gate_jammed_once(bus: MqttBus, mqtt_sim: SimulatedMqttGate) -> None:
    mqtt_sim.jammed = True
    with pytest.raises(GateJammed):
        await mqtt_gate(bus).open()
    assert len(mqtt_sim.commands) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [("garbage", GateReplyError), ("refuse_with", GateReplyError), ("drop_commands", GateTimeout)],
)
async def test_mqtt_gate_faults_become_gate_errors_after_three_tries(
    bus: MqttBus, mqtt_sim: SimulatedMqttGate, fault: str, error: type[Exception]
) -> None:
    setattr(mqtt_sim, fault, "busy" if fault == "refuse_with" else True)
    with pytest.raises(error):
        await mqtt_gate(bus, timeout=0.2).open()
    assert len(mqtt_sim.commands) == 3
    assert len({cmd["id"] for cmd in mqtt_sim.commands}) == 1


async def test_an_mqtt_gate_without_a_broker_is_offline() -> None:
    async with MqttBus("127.0.0.1", free_port()) as bus:
        with pytest.raises(GateOffline):
            await mqtt_gate(bus, timeout=0.05, tries=1).open()
