"""Session moves inside a store transaction: the session, its timers and its `session` event together."""

from __future__ import annotations

from typing import Any

from edge.records import NewEvent
from edge.sessions import model
from edge.sessions.model import (
    Move,
    RoomSession,
    SessionError,
    SessionSettings,
    plan_timers,
    resolve_settings,
)
from edge.store import Tx


def settings_for(tx: Tx, room_id: str, base: SessionSettings) -> SessionSettings:
    """The room's session settings: store > room type > chain > `base` (local config and built-ins)."""
    info = tx.store_info()
    room = tx.room(room_id)
    store_layer: dict[str, int] = {}
    chain_layer: dict[str, int] = {}
    if info is not None:
        store_layer = {"early_grace_s": info.early_grace_s, **info.store_settings}
        chain_layer = dict(info.chain_settings)
    type_layer = dict(room.type_settings) if room is not None else {}
    return resolve_settings(store_layer, type_layer, chain_layer, base=base)


def session_payload(session: RoomSession) -> dict[str, Any]:
    """The `session` event payload (protos/README.md)."""
    return {"room_id": session.room_id, "booking_ref": session.booking_ref, "state": session.state.value}


def apply_move(
    session: RoomSession,
    move: Move,
    now: float,
    *,
    booking_ref: str | None = None,
    starts_at: float | None = None,
    ends_at: float | None = None,
) -> RoomSession:
    """Dispatch a move to its guarded function (SessionError when illegal or missing arguments)."""
    match move:
        case Move.RESERVE | Move.CHECK_IN | Move.EXTEND if ends_at is None:
            raise SessionError("bad_args", f"{move} needs an end time")
        case Move.RESERVE | Move.CHECK_IN if booking_ref is None:
            raise SessionError("bad_args", f"{move} needs a booking")
        case Move.RESERVE:
            assert booking_ref is not None and ends_at is not None
            return model.reserve(
                session, booking_ref, starts_at if starts_at is not None else now, ends_at, now
            )
        case Move.RELEASE:
            return model.release(session, now)
        case Move.CHECK_IN:
            assert booking_ref is not None and ends_at is not None
            return model.check_in(session, booking_ref, now, ends_at)
        case Move.WARN:
            return model.warn(session, now)
        case Move.EXTEND:
            assert ends_at is not None
            return model.extend(session, ends_at, now)
        case Move.END:
            return model.end(session, now)
        case Move.CLEANED:
            return model.cleaned(session, now)
        case Move.FAULT:
            return model.fault(session, now)
        case Move.RESTORE:
            return model.restore(session, now)
    raise SessionError("illegal_transition", f"unknown move {move}")


def transition(
    tx: Tx,
    room_id: str,
    move: Move,
    now: float,
    base: SessionSettings,
    *,
    booking_ref: str | None = None,
    starts_at: float | None = None,
    ends_at: float | None = None,
) -> RoomSession:
    """Apply a move to the room's session; write it, its timers and its event (SessionError: nothing)."""
    current = tx.session(room_id)
    new = apply_move(current, move, now, booking_ref=booking_ref, starts_at=starts_at, ends_at=ends_at)
    tx.put_session(new, plan_timers(new, settings_for(tx, room_id, base)))
    tx.add_events([NewEvent("session", int(now * 1000), session_payload(new))])
    return new
