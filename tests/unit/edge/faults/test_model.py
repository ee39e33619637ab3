"""Fault grading and routing: a light is the store manager's, a lock or smoke is HQ's and a maintainer's."""

from __future__ import annotations

import pytest

from edge.faults.model import (
    Audience,
    FaultSpec,
    Severity,
    fault_payload,
    grade,
    make_fault,
    takes_room_out,
)


@pytest.mark.parametrize(
    ("kind", "code", "severity"),
    [
        ("power", "timeout", Severity.MINOR),  # a light will not switch
        ("power", "offline", Severity.MINOR),
        ("lock", "timeout", Severity.CRITICAL),  # a lock will not open
        ("lock", "jammed", Severity.CRITICAL),
        ("lock", "offline", Severity.CRITICAL),
        ("lock", "battery_low", Severity.MINOR),
        ("sensor", "smoke", Severity.CRITICAL),
        ("panel", "emergency", Severity.CRITICAL),
        ("sensor", "offline", Severity.CRITICAL),
        ("printer", "paper_out", Severity.MINOR),
        ("scanner", "offline", Severity.MINOR),
        ("gate", "timeout", Severity.CRITICAL),
        ("room", "cleaning_overdue", Severity.MINOR),
        ("toaster", "on_fire_maybe", Severity.MINOR),
    ],
)
def test_faults_are_graded_by_device_kind_and_code(kind: str, code: str, severity: Severity) -> None:
    assert grade(kind, code) is severity


def test_only_definitive_critical_faults_of_a_room_take_it_out_of_service() -> None:
    assert takes_room_out(Severity.CRITICAL, "jammed", "r1")
    assert takes_room_out(Severity.CRITICAL, "offline", "r1")
    assert not takes_room_out(Severity.CRITICAL, "timeout", "r1")  # the next try may work
    assert not takes_room_out(Severity.MINOR, "offline", "r1")
    assert not takes_room_out(Severity.CRITICAL, "smoke", None)


def test_the_fault_event_names_its_id_severity_and_audience() -> None:
    fault = make_fault(FaultSpec("jammed", "bolt stuck", "lock-1", "lock", "r1"), "f1", 10.0)
    assert fault_payload(fault) == {
        "fault_id": "f1",
        "device_id": "lock-1",
        "device_kind": "lock",
        "room_id": "r1",
        "code": "jammed",
        "severity": "critical",
        "audience": Audience.HQ_AND_MAINTAINER.value,
        "message": "bolt stuck",
        "zone": "",
    }
