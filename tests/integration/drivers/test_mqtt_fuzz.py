"""Every MQTT driver on one broker: heartbeats reach each, and fuzzed payloads are refused harmlessly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.gate import MqttGate
from drivers.heartbeat import Heartbeat
from drivers.lock import LockState, MqttLock
from drivers.mqtt import MqttBus
from drivers.power import MqttPowerSwitch
from drivers.scanner import MqttScanner
from drivers.sensor import MqttSensor, SensorKind
from edge.broker import EmbeddedBroker
from simulators.gate_mqtt import SimulatedMqttGate
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.power_mqtt import SimulatedMqttSwitch
from simulators.scanner import SimulatedMqttScanner
from simulators.sensor_mqtt import SimulatedMqttSensor
from tests.integration.drivers.support import ScanInbox, eventually

DEVICE_TS = 1_800_000_000.0
RECEIVED = 1_800_000_001.0


@dataclass
class Fleet:
    """One driver per MQTT device kind, each with its simulator, on one bus."""

    bus: MqttBus
    lock: MqttLock
    switch: MqttPowerSwitch
    gate: MqttGate
    sensor: MqttSensor
    scanner: MqttScanner
    scans: ScanInbox
    sim_lock: SimulatedMqttLock
    sim_scanner: SimulatedMqttScanner


@pytest.fixture
async def fleet(mqtt_broker: EmbeddedBroker, bus: MqttBus) -> AsyncIterator[Fleet]:
    """Drivers subscribed first, then the simulators join (and announce themselves with a heartbeat)."""
    clock = {"clock": lambda: RECEIVED}
    lock = MqttLock(bus, "f-lock", timeout=1, backoff=0.01, **clock)
    switch = MqttPowerSwitch(bus, "f-power", channels=2, timeout=1, backoff=0.01, **clock)
    gate = MqttGate(bus, "f-gate", timeout=1, backoff=0.01, **clock)
    sensor = MqttSensor(bus, "f-smoke", kind=SensorKind.SMOKE, **clock)
    scans = ScanInbox()
    scanner = MqttScanner(bus, "f-scan", scans, **clock)
    await scanner.start()
    host, port = mqtt_broker.host, mqtt_broker.port
    device_clock = {"clock": lambda: DEVICE_TS}
    async with (
        SimulatedMqttLock(host, port, "f-lock", relock_after_s=60, battery=61, **device_clock) as sim_lock,
        SimulatedMqttSwitch(host, port, "f-power", channels=2, **device_clock),
        SimulatedMqttGate(host, port, "f-gate", pulse_s=60, **device_clock),
        SimulatedMqttSensor(host, port, "f-smoke", "smoke", battery=99, **device_clock),
        SimulatedMqttScanner(host, port, "f-scan", **device_clock) as sim_scanner,
    ):
        yield Fleet(bus, lock, switch, gate, sensor, scanner, scans, sim_lock, sim_scanner)
    await scanner.stop()


async def test_every_mqtt_driver_keeps_the_last_heartbeat_with_device_and_receive_time(fleet: Fleet) -> None:
    drivers = [fleet.lock, fleet.switch, fleet.gate, fleet.sensor, fleet.scanner]
    await eventually(lambda: all(driver.last_heartbeat is not None for driver in drivers))
    batteries = [driver.last_heartbeat.battery for driver in drivers if driver.last_heartbeat is not None]
    assert batteries == [61, None, None, 99, None]
    assert {driver.last_heartbeat for driver in drivers if driver.last_heartbeat is not None} >= {
        Heartbeat(DEVICE_TS, None, RECEIVED)
    }


TOPICS = ["f-lock", "f-power", "f-gate", "f-smoke"]
payloads = st.one_of(
    st.binary(max_size=80),
    st.dictionaries(
        st.sampled_from(
            ["state", "door", "cmd_id", "ts", "error", "channels", "open", "passes", "kind", "active"]
        ),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=8)
        | st.lists(st.booleans()),
        max_size=6,
    ).map(lambda obj: repr(obj).replace("'", '"').replace("None", "null").encode()),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(device=st.sampled_from(TOPICS), leaf=st.sampled_from(["state", "heartbeat"]), payload=payloads)
async def test_malformed_payloads_on_any_device_topic_are_refused_and_never_break_a_driver(
    fleet: Fleet, device: str, leaf: str, payload: bytes
) -> None:
    seen: list[bytes] = []
    # A wildcard subscriber runs after the device's own exact-topic callbacks for the same message.
    unsubscribe = fleet.bus.subscribe(f"gh/dev/+/{leaf}", lambda topic, data: seen.append(data))
    try:
        await fleet.bus.wait_subscribed(f"gh/dev/+/{leaf}")
        await fleet.bus.publish(f"gh/dev/{device}/{leaf}", payload)
        await eventually(lambda: payload in seen)
    finally:
        unsubscribe()
    # The drivers' read paths still hold only decodable values.
    if fleet.lock.last_status is not None:
        assert isinstance(fleet.lock.last_status.state, LockState)


async def test_after_a_storm_of_garbage_every_driver_still_commands_its_device(fleet: Fleet) -> None:
    for device in TOPICS:
        for payload in (b"\x00", b"{", b"[]", b'{"ts": "x"}', b'{"state": "locked"}', b"\xff" * 100):
            await fleet.bus.publish(f"gh/dev/{device}/state", payload)
            await fleet.bus.publish(f"gh/dev/{device}/heartbeat", payload, qos=0)
    await fleet.sim_scanner.send_raw(b"\xff\xfe")
    await fleet.sim_scanner.send_raw(b"")
    await fleet.sim_scanner.scan("GH1.after-the-storm")
    assert await fleet.scans.wait_for(1) == ["GH1.after-the-storm"]
    assert fleet.scanner.dropped == 2
    assert (await fleet.lock.unlock()).state is LockState.UNLOCKED
    assert await fleet.switch.set(True, channel=1) is True
    assert (await fleet.gate.open()).open
    await eventually(lambda: fleet.sensor.rejected.get("bad_payload", 0) >= 6)
    assert fleet.sensor.last_state is not None
