"""ModbusPowerSwitch against SimulatedModbusSwitch over real Modbus TCP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from drivers.power import ModbusPowerSwitch, PowerOffline, PowerReplyError, PowerTimeout
from simulators.power_modbus import SimulatedModbusSwitch
from tests.conftest import free_port


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedModbusSwitch]:
    """A 4-channel switch on a free port."""
    async with SimulatedModbusSwitch(channels=4) as switch:
        yield switch


def make_switch(port: int, *, timeout: float = 1.0, tries: int = 3, unit: int = 1) -> ModbusPowerSwitch:
    """A driver with test-sized timeouts."""
    return ModbusPowerSwitch(
        "power-1", "127.0.0.1", port, unit=unit, channels=4, timeout=timeout, tries=tries, backoff=0.01
    )


async def test_set_writes_the_coil_and_returns_the_read_back(sim: SimulatedModbusSwitch) -> None:
    async with make_switch(sim.port) as switch:
        assert switch.connected
        assert await switch.set(True, channel=2) is True
        assert sim.channels == [False, False, True, False]
        assert sim.writes == 1
        assert await switch.state(2) is True
        assert await switch.state(1) is False
        assert await switch.set(False, channel=2) is False
        assert sim.channels == [False] * 4
        assert switch.last_states == {2: False, 1: False}


async def test_an_exception_reply_is_a_reply_error(sim: SimulatedModbusSwitch) -> None:
    sim.exception_code = 4  # device failure
    async with make_switch(sim.port) as switch:
        with pytest.raises(PowerReplyError, match="exception 4") as info:
            await switch.set(True)
        assert info.value.code == "bad_reply"
    assert sim.writes == 0
    assert sim.requests == 3


async def test_an_offline_switch_is_power_offline_and_works_again_once_back(
    sim: SimulatedModbusSwitch,
) -> None:
    async with make_switch(sim.port, tries=2) as switch:
        assert await switch.set(True, channel=1) is True
        await sim.go_offline()
        with pytest.raises(PowerOffline) as info:
            await switch.set(False, channel=1)
        assert info.value.code == "offline"
        await sim.come_online()
        assert await switch.state(1) is True  # the relay kept its state
        assert await switch.set(False, channel=1) is False


async def test_a_switch_answering_too_late_is_power_timeout_and_the_next_command_recovers(
    sim: SimulatedModbusSwitch,
) -> None:
    async with make_switch(sim.port, timeout=0.1, tries=2) as switch:
        sim.delay_s = 0.3
        with pytest.raises(PowerTimeout):
            await switch.set(True)
        sim.delay_s = 0.0
        assert await switch.set(True) is True
        assert await switch.state() is True


async def test_a_reply_delayed_within_the_timeout_succeeds(sim: SimulatedModbusSwitch) -> None:
    sim.delay_s = 0.05
    async with make_switch(sim.port, timeout=1.0) as switch:
        assert await switch.set(True, channel=3) is True
    assert sim.writes == 1


async def test_a_switch_down_at_start_is_reached_on_a_later_command() -> None:
    port = free_port()
    async with make_switch(port, timeout=0.2, tries=1) as switch:
        assert not switch.connected
        with pytest.raises(PowerOffline):
            await switch.set(True)
        async with SimulatedModbusSwitch(port=port, channels=4) as sim:
            assert await switch.set(True) is True
            assert sim.channels[0] is True


async def test_the_wrong_unit_id_gets_an_exception_reply(sim: SimulatedModbusSwitch) -> None:
    async with make_switch(sim.port, unit=9, tries=1) as switch:
        with pytest.raises(PowerReplyError):
            await switch.set(True)


async def test_a_channel_the_switch_does_not_have_is_refused_before_any_io(
    sim: SimulatedModbusSwitch,
) -> None:
    async with make_switch(sim.port) as switch:
        with pytest.raises(ValueError):
            await switch.set(True, channel=4)
    assert sim.requests == 0
