"""Availability: several missed heartbeats before offline, more slack for battery devices, polls count."""

from __future__ import annotations

from edge.devices import availability as av
from edge.devices.gate import CommandGate


def test_a_mains_device_is_offline_only_after_three_missed_heartbeats() -> None:
    health = av.seen(av.Health("power", since=0), 0, None, from_heartbeat=True)
    assert health.source is av.PowerSource.MAINS
    assert av.evaluate(health, 89) is av.Availability.ONLINE  # two missed, maybe a third late
    assert av.evaluate(health, 91) is av.Availability.OFFLINE


def test_a_battery_device_gets_more_slack_than_a_mains_device() -> None:
    health = av.seen(av.Health("lock", since=0), 0, 80, from_heartbeat=True)
    assert health.source is av.PowerSource.BATTERY
    assert av.evaluate(health, 299) is av.Availability.ONLINE
    assert av.evaluate(health, 301) is av.Availability.OFFLINE


def test_a_device_that_was_never_heard_from_is_unknown_then_offline() -> None:
    health = av.Health("scanner", since=100)
    assert av.evaluate(health, 150) is av.Availability.UNKNOWN
    assert av.evaluate(health, 191) is av.Availability.OFFLINE


def test_a_devices_own_heartbeat_interval_sets_its_threshold() -> None:
    health = av.seen(av.Health("lock", since=0, interval_s=0.1), 0, 50, from_heartbeat=True)
    assert av.evaluate(health, 0.49) is av.Availability.ONLINE
    assert av.evaluate(health, 0.51) is av.Availability.OFFLINE


def test_a_poll_or_a_state_message_is_a_sign_of_life_but_does_not_change_the_power_source() -> None:
    health = av.seen(av.Health("lock", since=0), 0, 80, from_heartbeat=True)
    later = av.seen(health, 250)
    assert (later.last_seen, later.source, later.battery) == (250, av.PowerSource.BATTERY, 80)


def test_a_low_battery_is_flagged() -> None:
    assert av.battery_low(av.seen(av.Health("lock", since=0), 0, 20, from_heartbeat=True))
    assert not av.battery_low(av.seen(av.Health("lock", since=0), 0, 21, from_heartbeat=True))
    assert not av.battery_low(av.seen(av.Health("power", since=0), 0, None, from_heartbeat=True))


def test_evidence_of_life_depends_on_kind_and_protocol() -> None:
    assert av.evidence_of("power", "modbus") is av.Evidence.POLL
    assert av.evidence_of("power", "mqtt") is av.Evidence.HEARTBEAT
    assert av.evidence_of("scanner", "tcp") is av.Evidence.CONNECTION


class Monotonic:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_no_poll_starts_while_any_command_waits_or_runs() -> None:
    clock = Monotonic()
    gate = CommandGate(clock, fresh_s=5)
    clock.now = 100
    assert gate.may_poll("pw-1")
    with gate.command("lock-1"):
        assert not gate.may_poll("pw-1")
    assert gate.may_poll("pw-1")


def test_a_device_that_just_answered_a_command_is_not_polled_until_its_read_back_is_stale() -> None:
    clock = Monotonic()
    gate = CommandGate(clock, fresh_s=5)
    with gate.command("pw-1"):
        assert gate.busy("pw-1")
    clock.now = 4.9
    assert not gate.may_poll("pw-1")
    clock.now = 5.0
    assert gate.may_poll("pw-1")


def test_a_device_is_not_polled_twice_at_once() -> None:
    clock = Monotonic()
    gate = CommandGate(clock, fresh_s=0)
    with gate.poll("pw-1"):
        assert not gate.may_poll("pw-1")
        assert gate.may_poll("pw-2")
