"""Raising and resolving faults inside a store transaction, with their effect on the room's session."""

from __future__ import annotations

import logging

from edge.faults.model import Fault, FaultSpec, Severity, fault_payload, make_fault, subject_of
from edge.records import NewEvent
from edge.sessions.model import Move, RoomState, SessionSettings
from edge.sessions.writes import transition
from edge.store import Tx

logger = logging.getLogger(__name__)


def raise_fault(tx: Tx, spec: FaultSpec, fault_id: str, now: float, base: SessionSettings) -> Fault | None:
    """Record a fault and its `fault` event; a critical one takes its room out of service.

    None when the same subject already has this fault open (no second event, no second move).
    """
    if tx.open_fault(subject_of(spec.device_id, spec.room_id), spec.code) is not None:
        return None
    fault = make_fault(spec, fault_id, now)
    tx.insert_fault(fault)
    tx.add_events([NewEvent("fault", int(now * 1000), fault_payload(fault))])
    room_id = fault.room_id
    if (
        fault.takes_room_out
        and room_id is not None
        and tx.room(room_id) is not None
        and tx.session(room_id).state is not RoomState.MAINTENANCE
    ):
        transition(tx, room_id, Move.FAULT, now, base)
    logger.warning(
        "fault raised",
        extra={
            "fault_id": fault.id,
            "device_id": fault.device_id,
            "room_id": fault.room_id,
            "code": fault.code,
            "severity": fault.severity.value,
        },
    )
    return fault


def resolve_fault(
    tx: Tx, fault_id: str, room_id: str | None, now: float, base: SessionSettings
) -> tuple[Fault | None, RoomState | None]:
    """Resolve a fault; its room returns to service once no critical fault of it is open.

    Returns the fault (None: unknown here) and the room's state afterwards (None: no such room).
    """
    fault = tx.fault(fault_id)
    if fault is not None and fault.resolved_at is None:
        tx.resolve_fault(fault_id, now)
    room = room_id or (fault.room_id if fault is not None else None)
    if room is None or tx.room(room) is None:
        return fault, None
    session = tx.session(room)
    still_out = [f for f in tx.open_faults(room) if f.severity is Severity.CRITICAL]
    if session.state is RoomState.MAINTENANCE and not still_out:
        session = transition(tx, room, Move.RESTORE, now, base)
    return fault, session.state
