"""Fault work orders (pure): the one transition table, routing by severity, reading fault reports."""

from __future__ import annotations

import pytest

from cloud.edgelink.model import InvalidPayload
from cloud.faults.model import (
    TABLE,
    Action,
    AssigneeRole,
    IllegalTransition,
    Severity,
    WorkOrderState,
    check_action,
    parse_fault,
    route,
)

LEGAL = {
    (WorkOrderState.OPEN, Action.ASSIGN): WorkOrderState.ASSIGNED,
    (WorkOrderState.ASSIGNED, Action.ASSIGN): WorkOrderState.ASSIGNED,
    (WorkOrderState.ASSIGNED, Action.START): WorkOrderState.IN_PROGRESS,
    (WorkOrderState.IN_PROGRESS, Action.RESOLVE): WorkOrderState.RESOLVED,
}


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in WorkOrderState for a in Action])
def test_only_the_table_moves_are_allowed(state: WorkOrderState, action: Action) -> None:
    expected = LEGAL.get((state, action))
    if expected is not None:
        assert check_action(state, action) is expected
    else:
        with pytest.raises(IllegalTransition) as refused:
            check_action(state, action)
        assert refused.value.code == "illegal_transition"


def test_the_table_is_the_whole_story() -> None:
    assert {(s, a) for a, t in TABLE.items() for s in t.sources} == set(LEGAL)


def test_minor_faults_go_to_the_store_manager_and_critical_ones_to_maintainers_with_hq_alerted() -> None:
    assert (route(Severity.MINOR).assignee_role, route(Severity.MINOR).hq_alert) == (
        AssigneeRole.STORE_MANAGER,
        False,
    )
    assert (route(Severity.CRITICAL).assignee_role, route(Severity.CRITICAL).hq_alert) == (
        AssigneeRole.MAINTAINER,
        True,
    )


def test_a_fault_report_is_read_with_its_id_or_a_default() -> None:
    payload = {
        "fault_id": "f1",
        "device_id": "lock-1",
        "device_kind": "lock",
        "room_id": "r1",
        "code": "jammed",
        "severity": "critical",
        "message": "stuck",
    }
    report = parse_fault(payload, default_id="e-1:7")
    assert (report.fault_id, report.severity, report.device_kind) == ("f1", Severity.CRITICAL, "lock")
    legacy = parse_fault({"code": "timeout", "severity": "minor", "device_id": "pw-1"}, default_id="e-1:7")
    assert (legacy.fault_id, legacy.device_kind, legacy.room_id) == ("e-1:7", "device", None)


@pytest.mark.parametrize(
    "payload",
    [
        {"severity": "minor"},
        {"code": "x", "severity": "bad"},
        {"code": "x", "severity": "minor", "message": 5},
        {"code": "x", "severity": "minor", "room_id": 7},
        {"code": "x" * 61, "severity": "minor"},
    ],
)
def test_a_malformed_fault_report_is_invalid(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidPayload):
        parse_fault(payload, default_id="d")
