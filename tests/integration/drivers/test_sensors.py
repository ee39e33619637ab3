"""MqttSensor against SimulatedMqttSensor: states, changes, heartbeats and refused garbage."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from drivers.mqtt import MqttBus
from drivers.sensor import MqttSensor, SensorKind, SensorState
from edge.broker import EmbeddedBroker
from simulators.sensor_mqtt import SimulatedMqttSensor
from tests.integration.drivers.support import eventually


@pytest.fixture
async def smoke(mqtt_broker: EmbeddedBroker) -> AsyncIterator[SimulatedMqttSensor]:
    """A simulated smoke alarm on the test broker."""
    async with SimulatedMqttSensor(
        mqtt_broker.host, mqtt_broker.port, "smoke-1", "smoke", battery=88, clock=lambda: 4.0
    ) as sensor:
        yield sensor


async def test_the_retained_state_arrives_first_and_each_flip_calls_on_change(
    bus: MqttBus, smoke: SimulatedMqttSensor
) -> None:
    sensor = MqttSensor(bus, "smoke-1", kind=SensorKind.SMOKE, clock=lambda: 6.0)
    changes: list[SensorState] = []
    states: list[SensorState] = []
    sensor.on_change(changes.append)
    sensor.on_state(states.append)
    await eventually(lambda: len(changes) == 1)
    assert changes == [SensorState(SensorKind.SMOKE, False, 4.0)]
    await smoke.trigger()
    await eventually(lambda: len(changes) == 2)
    assert sensor.last_state == SensorState(SensorKind.SMOKE, True, 4.0)
    await smoke.trigger()  # still active: a state, not a change
    await smoke.clear()
    await eventually(lambda: len(changes) == 3)
    assert [state.active for state in changes] == [False, True, False]
    assert len(states) == 4
    sensor.close()


async def test_sensors_report_heartbeats_with_their_battery(bus: MqttBus, smoke: SimulatedMqttSensor) -> None:
    sensor = MqttSensor(bus, "smoke-1", clock=lambda: 6.0)
    await smoke.go_offline()
    await smoke.come_online()
    await eventually(lambda: sensor.last_heartbeat is not None)
    assert sensor.last_heartbeat is not None
    assert (sensor.last_heartbeat.battery, sensor.last_heartbeat.at, sensor.last_heartbeat.received_at) == (
        88,
        4.0,
        6.0,
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\xff{ not json", "bad_payload"),
        (b'{"kind": "smoke", "active": "yes", "ts": 1}', "bad_payload"),
        (b'{"kind": "fire", "active": true, "ts": 1}', "bad_payload"),
        (b'{"kind": "smoke", "active": true}', "bad_payload"),
        (b'{"kind": "button", "active": true, "ts": 1}', "wrong_kind"),
    ],
)
async def test_garbage_is_refused_with_its_reason_and_the_sensor_keeps_working(
    bus: MqttBus, smoke: SimulatedMqttSensor, payload: bytes, code: str
) -> None:
    sensor = MqttSensor(bus, "smoke-1", kind=SensorKind.SMOKE)
    changes: list[SensorState] = []
    sensor.on_change(changes.append)
    await eventually(lambda: len(changes) == 1)
    await smoke.send_raw(payload)
    await eventually(lambda: sensor.rejected.get(code) == 1)
    await smoke.trigger()
    await eventually(lambda: len(changes) == 2)
    assert changes[-1].active is True
    assert sum(sensor.rejected.values()) == 1


async def test_an_unconfigured_sensor_takes_the_kind_it_reports(
    mqtt_broker: EmbeddedBroker, bus: MqttBus
) -> None:
    async with SimulatedMqttSensor(mqtt_broker.host, mqtt_broker.port, "button-1", "button") as button:
        sensor = MqttSensor(bus, "button-1")
        await button.trigger()
        await eventually(lambda: sensor.last_state is not None and sensor.last_state.active)
        assert sensor.last_state is not None and sensor.last_state.kind is SensorKind.BUTTON


def test_a_simulated_sensor_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        SimulatedMqttSensor("127.0.0.1", 1, "x", "fire")
