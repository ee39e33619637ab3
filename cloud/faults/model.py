"""Pure rules of fault work orders: states and their one transition table, routing, fault reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cloud.edgelink.model import InvalidPayload
from cloud.errors import Conflict, Invalid


class WorkOrderState(StrEnum):
    """Where a work order stands."""

    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class Action(StrEnum):
    """What may be done to a work order."""

    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: the states an action may start from, and where it leads."""

    sources: frozenset[WorkOrderState]
    target: WorkOrderState


# Every legal move in one place. Re-assigning an assigned order hands it to someone else.
TABLE: Mapping[Action, Transition] = {
    Action.ASSIGN: Transition(
        frozenset({WorkOrderState.OPEN, WorkOrderState.ASSIGNED}), WorkOrderState.ASSIGNED
    ),
    Action.START: Transition(frozenset({WorkOrderState.ASSIGNED}), WorkOrderState.IN_PROGRESS),
    Action.RESOLVE: Transition(frozenset({WorkOrderState.IN_PROGRESS}), WorkOrderState.RESOLVED),
}


class IllegalTransition(Conflict):
    """The action is not allowed from the work order's state."""

    code = "illegal_transition"


def check_action(state: WorkOrderState, action: Action) -> WorkOrderState:
    """The state `action` leads to from `state` (IllegalTransition otherwise)."""
    transition = TABLE[action]
    if state not in transition.sources:
        raise IllegalTransition(f"a work order cannot {action.value} when {state.value}", field="state")
    return transition.target


class Severity(StrEnum):
    """A fault's severity as the edge graded it."""

    MINOR = "minor"
    CRITICAL = "critical"


class AssigneeRole(StrEnum):
    """The role a work order is routed to (users and roles arrive with issue 5)."""

    STORE_MANAGER = "store_manager"
    MAINTAINER = "maintainer"


@dataclass(frozen=True, slots=True)
class Route:
    """Who gets a work order: the role to assign it to, and whether HQ is alerted."""

    assignee_role: AssigneeRole
    hq_alert: bool


# Minor faults (a light will not switch) go to the store manager; critical ones (a lock will not
# open, smoke) to the maintainers of the store's region, with HQ alerted.
ROUTING: Mapping[Severity, Route] = {
    Severity.MINOR: Route(AssigneeRole.STORE_MANAGER, hq_alert=False),
    Severity.CRITICAL: Route(AssigneeRole.MAINTAINER, hq_alert=True),
}


def route(severity: Severity) -> Route:
    """The route of a fault of this severity."""
    return ROUTING[severity]


class EdgeSync(StrEnum):
    """Whether the edge has been told of a resolution (it returns the room to service)."""

    PENDING = "pending"  # not yet confirmed by the edge: sent again when it reconnects
    DONE = "done"
    FAILED = "failed"  # the edge refused it (the code says why)


@dataclass(frozen=True, slots=True)
class FaultReport:
    """A `fault` event as the edge reported it."""

    fault_id: str
    device_id: str | None
    device_kind: str
    room_id: str | None
    code: str
    severity: Severity
    message: str


def _opt_str(payload: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidPayload(f"{key} must be a string of at most {limit} characters")
    return value


def parse_fault(payload: Mapping[str, Any], *, default_id: str) -> FaultReport:
    """Read a `fault` payload (protos/README.md); InvalidPayload when it does not fit."""
    code = payload.get("code")
    if not isinstance(code, str) or not code or len(code) > 60:
        raise InvalidPayload("code must be a non-empty string")
    try:
        severity = Severity(str(payload.get("severity")))
    except ValueError as err:
        raise InvalidPayload("severity must be minor or critical") from err
    message = payload.get("message", "")
    if not isinstance(message, str):
        raise InvalidPayload("message must be a string")
    return FaultReport(
        fault_id=_opt_str(payload, "fault_id", 64) or default_id[:64],
        device_id=_opt_str(payload, "device_id", 64),
        device_kind=(_opt_str(payload, "device_kind", 40) or "device"),
        room_id=_opt_str(payload, "room_id", 64),
        code=code,
        severity=severity,
        message=message[:2000],
    )


# ---- the maintainer's queue, work log and on-site check ----

# Most urgent first: the queue sorts by this rank, then by age (oldest first).
SEVERITY_RANK: Mapping[str, int] = {Severity.CRITICAL.value: 0, Severity.MINOR.value: 1}


def queue_key(severity: str, raised_at: datetime, order_id: str) -> tuple[int, datetime, str]:
    """The sort key of a work order in a maintainer's queue: severity, then age, then id."""
    return SEVERITY_RANK.get(severity, len(SEVERITY_RANK)), raised_at, order_id


class EntryKind(StrEnum):
    """What a line of a work order's log records."""

    OPEN = "open"
    ASSIGN = "assign"
    START = "start"  # on site
    RESOLVE = "resolve"
    NOTE = "note"
    PHOTO = "photo"


# The log line each transition writes.
ENTRY_OF_ACTION: Mapping[Action, EntryKind] = {
    Action.ASSIGN: EntryKind.ASSIGN,
    Action.START: EntryKind.START,
    Action.RESOLVE: EntryKind.RESOLVE,
}

MAX_NOTE_LENGTH = 2000


class NoteRequired(Invalid):
    """A resolution (or a note) needs some words on what was found and done."""

    code = "note_required"


class WorkOrderClosed(Conflict):
    """A resolved work order takes no more notes or photos."""

    code = "work_order_resolved"


class WrongRoom(Conflict):
    """The scanned room QR is of another room than the work order's."""

    code = "wrong_room"


def clean_note(text: str) -> str:
    """The note stripped; NoteRequired when empty, Invalid when too long."""
    stripped = text.strip()
    if not stripped:
        raise NoteRequired("write what was found and done", field="note")
    if len(stripped) > MAX_NOTE_LENGTH:
        raise Invalid(f"a note has at most {MAX_NOTE_LENGTH} characters", code="note_too_long", field="note")
    return stripped


def check_open_for_work(state: WorkOrderState) -> None:
    """Notes and photos go to work orders not yet resolved."""
    if state is WorkOrderState.RESOLVED:
        raise WorkOrderClosed("the work order is resolved", field="state")


def check_on_site_room(order_room_id: str | None, scanned_room_id: str) -> None:
    """The scanned room must be the work order's (any room of the store for a store-wide device)."""
    if order_room_id is not None and order_room_id != scanned_room_id:
        raise WrongRoom(f"this is the code of room {scanned_room_id}, not {order_room_id}", field="code")
