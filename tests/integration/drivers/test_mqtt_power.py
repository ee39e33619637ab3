"""MqttPowerSwitch against SimulatedMqttSwitch over a real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from drivers.mqtt import MqttBus
from drivers.power import MqttPowerSwitch, PowerReplyError, PowerTimeout
from edge.broker import EmbeddedBroker
from simulators.power_mqtt import SimulatedMqttSwitch
from tests.integration.drivers.support import eventually


@pytest.fixture
async def sim(mqtt_broker: EmbeddedBroker) -> AsyncIterator[SimulatedMqttSwitch]:
    """A 2-channel switch."""
    async with SimulatedMqttSwitch(mqtt_broker.host, mqtt_broker.port, "power-2", channels=2) as switch:
        yield switch


def make_switch(bus: MqttBus, *, channels: int = 2, timeout: float = 1.0) -> MqttPowerSwitch:
    """A driver with test-sized timeouts."""
    return MqttPowerSwitch(bus, "power-2", channels=channels, timeout=timeout, backoff=0.01)


async def test_set_returns_the_value_the_switch_reports(bus: MqttBus, sim: SimulatedMqttSwitch) -> None:
    switch = make_switch(bus)
    assert await switch.set(True, channel=1) is True
    assert sim.channels == [False, True]
    assert sim.writes == 1
    assert await switch.state(1) is True
    assert await switch.state(0) is False
    assert switch.last_channels == (False, True)


async def test_a_manual_change_reaches_the_cache_without_a_command(
    bus: MqttBus, sim: SimulatedMqttSwitch
) -> None:
    switch = make_switch(bus)
    await eventually(lambda: switch.last_channels == (False, False))
    await sim.press(0, True)
    await eventually(lambda: switch.last_channels == (True, False))


async def test_a_refused_command_is_a_reply_error(bus: MqttBus, sim: SimulatedMqttSwitch) -> None:
    # The driver believes in 4 channels; the switch has 2 and refuses channel 3.
    with pytest.raises(PowerReplyError, match="bad_request"):
        await make_switch(bus, channels=4).set(True, channel=3)
    assert sim.writes == 0


async def test_dropped_commands_time_out(bus: MqttBus, sim: SimulatedMqttSwitch) -> None:
    sim.drop_commands = True
    with pytest.raises(PowerTimeout):
        await make_switch(bus, timeout=0.1).set(True)
    assert len(sim.commands) == 3


async def test_a_garbage_reply_is_a_reply_error(bus: MqttBus, sim: SimulatedMqttSwitch) -> None:
    sim.garbage = True
    with pytest.raises(PowerReplyError):
        await make_switch(bus).set(True)
