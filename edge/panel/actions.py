"""What staff do at the panel: each action goes through the edge's own services, recorded with its actor.

Every attempt that reaches a device or a session (done or refused) writes a `staff_action`
journal entry and outbox event naming the staff member and the reason given; door openings also
write the journal's `door_open` entry, as every other way of opening a door does. An action that
changes the store (an extension, a cleaned room, a resolved fault, an alarm, a call answered)
commits its record in the same transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edge.actuators import DeviceFailure, NoSuchDevice, StoreActuators
from edge.clock import Clock, now_ms
from edge.faults.model import FaultCode, FaultSpec
from edge.faults.services import FaultService, failure_spec
from edge.journal.model import JournalKind
from edge.metrics import EdgeMetrics
from edge.panel.model import Extension, clean_reason, extension_target
from edge.records import NewEvent
from edge.redemption import RedemptionResult, RedemptionService
from edge.redemption.services import PANEL_DEVICE
from edge.rooms import RoomLocks
from edge.sessions.model import SessionError, holds_room
from edge.sessions.services import SessionService
from edge.store import EdgeStore, Tx, TxHook

logger = logging.getLogger(__name__)

STAFF_ACTION_EVENT = "staff_action"


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in staff member acting."""

    staff_id: str
    username: str
    role: str


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The outcome of a staff action: ok, or a stable reason code, with what the panel shows."""

    ok: bool
    reason: str
    message: str = ""
    room_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the action's own fields beside ok/reason/message/room_id)."""
        return {
            "ok": self.ok,
            "reason": self.reason,
            "message": self.message,
            "room_id": self.room_id,
            **self.data,
        }


def refused(reason: str, message: str, room_id: str | None = None, **data: Any) -> ActionResult:
    """A refusal with its stable code."""
    return ActionResult(False, reason, message, room_id, data)


def done(room_id: str | None) -> ActionResult:
    """What an action's record says of it before it is carried out in the same transaction."""
    return ActionResult(True, "ok", room_id=room_id)


def _payload(
    actor: Actor, action: str, reason: str | None, result: ActionResult, **details: Any
) -> dict[str, Any]:
    """The `staff_action` journal entry and event of an action."""
    return {
        "action": action,
        "staff_id": actor.staff_id,
        "username": actor.username,
        "role": actor.role,
        "reason": reason,
        "ok": result.ok,
        "code": result.reason,
        "room_id": result.room_id,
        **{k: v for k, v in details.items() if v is not None},
    }


class StaffActions:
    """Doors, power, extensions, cleaning, faults, printing and redemption on behalf of staff."""

    def __init__(
        self,
        store: EdgeStore,
        clock: Clock,
        actuators: StoreActuators,
        redemption: RedemptionService,
        sessions: SessionService,
        faults: FaultService,
        *,
        locks: RoomLocks | None = None,
        metrics: EdgeMetrics | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._actuators = actuators
        self._redemption = redemption
        self._sessions = sessions
        self._faults = faults
        self._locks = locks or sessions.locks
        self._metrics = metrics

    # ---- redemption ----

    async def redeem_code(self, actor: Actor, code: str) -> RedemptionResult:
        """Redeem a code typed or scanned (keyboard wedge) at the panel."""
        result = await self._redemption.redeem_code(code.strip(), PANEL_DEVICE)
        await self._record_redemption(actor, "code", result)
        return result

    async def redeem_order(
        self, actor: Actor, order_no: str, phone_last4: str, room_id: str | None = None
    ) -> RedemptionResult:
        """Redeem by order number and the last 4 digits of the phone (cached bookings)."""
        result = await self._redemption.redeem_order(order_no, phone_last4.strip(), room_id or None)
        await self._record_redemption(actor, "order_phone", result)
        return result

    async def _record_redemption(self, actor: Actor, method: str, result: RedemptionResult) -> None:
        if self._metrics is not None:
            self._metrics.observe_redemption(result, method)
        await self._record(
            actor,
            "redeem",
            None,
            ActionResult(result.ok, result.reason, room_id=result.room_id),
            method=method,
            booking_ref=result.booking_ref,
            outcome=result.outcome.value,
        )

    # ---- rooms ----

    async def _room_known(self, room_id: str) -> bool:
        return await self._store.room(room_id) is not None

    async def open_door(
        self, actor: Actor, room_id: str, reason: str | None, *, force: bool = False
    ) -> ActionResult:
        """Unlock a room's door; a reason is required (it is journalled with the opening).

        A room a customer's session occupies opens only with `force` (staff confirmed they mean
        to walk in on a guest); the refusal names the occupant's booking and is recorded too.
        """
        why = clean_reason(reason)
        if why is None:
            return refused("reason_required", "say why the door is opened", room_id)
        if not await self._room_known(room_id):
            return refused("no_such_room", f"no room {room_id!r} in this store", room_id)
        async with self._locks[room_id]:
            session = await self._store.session(room_id)
            occupant = session.booking_ref
            occupied = holds_room(session, self._clock.now())
            if occupied and not force:
                result = refused(
                    "room_occupied",
                    f"a guest is in this room (booking {occupant}): confirm to open anyway",
                    room_id,
                    occupant=occupant,
                )
                await self._record(actor, "open_door", why, result, occupant=occupant)
                return result
            try:
                device_id = await self._actuators.unlock_room(room_id)
            except DeviceFailure as err:
                await self._faults.raise_fault(failure_spec(err, room_id, "door did not open", "lock"))
                result = refused(
                    "device_failed", f"the door did not open: {err.code}", room_id, device_code=err.code
                )
                await self._record(actor, "open_door", why, result)
                return result
            if device_id is None:
                result = refused("no_lock", "this room has no lock", room_id)
                await self._record(actor, "open_door", why, result)
                return result
            result = ActionResult(True, "ok", "door unlocked", room_id, {"device_id": device_id})
            door: dict[str, Any] = {
                "room_id": room_id,
                "device_id": device_id,
                "cause": "staff",
                "staff_id": actor.staff_id,
                "username": actor.username,
                "reason": why,
                "occupant": occupant,
            }
            if occupied:
                door["forced"] = True
            await self._record(actor, "open_door", why, result, door=door, forced=occupied or None)
        return result

    async def power(self, actor: Actor, room_id: str, on: bool, reason: str | None) -> ActionResult:
        """Switch a room's power on or off; a reason is required."""
        why = clean_reason(reason)
        if why is None:
            return refused("reason_required", "say why the power is switched", room_id)
        if not await self._room_known(room_id):
            return refused("no_such_room", f"no room {room_id!r} in this store", room_id)
        action = "power_on" if on else "power_off"
        async with self._locks[room_id]:
            try:
                device_id = await self._actuators.power_room(room_id, on)
            except DeviceFailure as err:
                await self._faults.raise_fault(failure_spec(err, room_id, "power did not switch", "power"))
                result = refused(
                    "device_failed", f"the power did not switch: {err.code}", room_id, device_code=err.code
                )
                await self._record(actor, action, why, result)
                return result
        if device_id is None:
            result = refused("no_power_switch", "this room has no power switch", room_id)
        else:
            result = ActionResult(
                True, "ok", f"power {'on' if on else 'off'}", room_id, {"device_id": device_id, "on": on}
            )
        await self._record(actor, action, why, result)
        return result

    async def extend(
        self, actor: Actor, room_id: str, extension: Extension, reason: str | None = None
    ) -> ActionResult:
        """Move the end of the room's session later (by minutes, or to a time)."""
        why = clean_reason(reason)
        if not await self._room_known(room_id):
            return refused("no_such_room", f"no room {room_id!r} in this store", room_id)
        session = await self._store.session(room_id)
        target = extension_target(extension, session.ends_at, self._clock.now())
        if isinstance(target, str):
            messages = {
                "no_session": "the room has no session in progress",
                "too_long": "an extension may not run more than a day past now",
                "bad_args": "give minutes or a time",
            }
            return refused(target, messages.get(target, target), room_id)
        payload, record = self._entry(actor, "extend", why, done(room_id), ends_at=target)
        try:
            extended = await self._sessions.extend(room_id, target, also=record)
        except SessionError as err:
            result = refused(err.code, str(err), room_id)
            await self._record(actor, "extend", why, result, ends_at=target)
            return result
        logger.info("staff action", extra=payload)
        return ActionResult(
            True,
            "ok",
            "session extended",
            room_id,
            {
                "ends_at": extended.ends_at,
                "booking_ref": extended.booking_ref,
                "state": extended.state.value,
            },
        )

    async def mark_cleaned(self, actor: Actor, room_id: str) -> ActionResult:
        """A room being cleaned is free again."""
        payload, record = self._entry(actor, "mark_cleaned", None, done(room_id))
        cleaned = await self._sessions.mark_cleaned(room_id, actor=actor.username, also=record)
        messages = {
            "ok": "room is free",
            "not_cleaning": "the room is not waiting for cleaning",
            "no_such_room": "no such room",
        }
        result = ActionResult(
            cleaned.ok, cleaned.reason, messages.get(cleaned.reason, cleaned.reason), room_id
        )
        if cleaned.ok:
            logger.info("staff action", extra=payload)
        elif cleaned.reason != "no_such_room":
            await self._record(actor, "mark_cleaned", None, result)
        return result

    # ---- store ----

    async def resolve_fault(self, actor: Actor, fault_id: str, reason: str | None) -> ActionResult:
        """Resolve an open fault by hand; its room returns to service once nothing critical is open."""
        why = clean_reason(reason)
        fault = await self._store.fault(fault_id)
        if fault is None or fault.resolved_at is not None:
            return refused("unknown_fault", "no such open fault")
        payload, record = self._entry(
            actor, "resolve_fault", why, done(fault.room_id), fault_id=fault_id, fault_code=fault.code
        )
        resolution = await self._faults.resolve(fault_id, also=record)
        logger.info("staff action", extra=payload)
        self._sessions.poke(reconcile=True)
        state = resolution.room_state.value if resolution.room_state is not None else None
        return ActionResult(
            True, "ok", "fault resolved", resolution.room_id, {"fault_id": fault_id, "room_state": state}
        )

    async def print_test(self, actor: Actor, store_name: str, tz: dt.tzinfo) -> ActionResult:
        """Print a test receipt on the store's printer; a printer fault is an error, never success."""
        when = dt.datetime.fromtimestamp(self._clock.now(), tz).strftime("%Y-%m-%d %H:%M")
        text = "\n".join((store_name, "TEST RECEIPT", when, f"by {actor.username}", "-" * 24, "Printer OK"))
        try:
            printer_id = await self._actuators.print_text(text)
        except NoSuchDevice as err:
            result = refused(err.code, "this store has no printer")
        except DeviceFailure as err:
            result = refused(
                "device_failed",
                f"the printer failed: {err.code}",
                device_code=err.code,
                device_id=err.device_id,
            )
        else:
            result = ActionResult(True, "ok", "test receipt printed", data={"printer_id": printer_id})
        await self._record(actor, "print_test", None, result)
        return result

    async def alarm(self, actor: Actor, code: str, room_id: str | None) -> ActionResult:
        """Sound the alarm: every door of the room's zone (no room: the store's) opens until resolved."""
        spec = FaultSpec(
            FaultCode(code), f"raised from the staff panel by {actor.username}", None, "panel", room_id
        )
        payload, record = self._entry(actor, "alarm", code, done(room_id))
        outcome = await self._faults.alarm(spec, also=record)
        logger.info("staff action", extra=payload)
        self._sessions.poke()
        where = f"of zone {outcome.zone}" if outcome.zone else "of the store"
        return ActionResult(
            True,
            "ok",
            f"alarm raised: every door {where} unlocked ({len(outcome.opened)} opened)",
            room_id,
            {"opened": list(outcome.opened), "failed": list(outcome.failed), "zone": outcome.zone},
        )

    # ---- customers' calls ----

    async def finish_call(self, actor: Actor, call_id: str) -> ActionResult:
        """Staff took care of a customer's call: it leaves the panel's list (the store keeps it)."""
        now = self._clock.now()
        at_ms = now_ms(self._clock)

        def write(tx: Tx) -> ActionResult:
            call = tx.service_call(call_id)
            if call is None:
                return refused("unknown_call", "no such call")
            if not tx.finish_service_call(call_id, now, actor.username):
                return refused("already_done", f"already done by {call.done_by}", call.room_id)
            result = ActionResult(True, "ok", "call done", call.room_id, {"call_id": call_id})
            payload = _payload(actor, "answer_call", None, result, call_id=call_id, call_reason=call.reason)
            # The done call and its record commit together: no call is done without its journal entry.
            tx.append_journal(at_ms, JournalKind.STAFF_ACTION, payload)
            tx.add_events([NewEvent(STAFF_ACTION_EVENT, at_ms, payload)])
            return result

        result = await self._store.transact(write)
        logger.info("service call done", extra={"call_id": call_id, "ok": result.ok, "code": result.reason})
        return result

    # ---- the record ----

    async def _record(
        self,
        actor: Actor,
        action: str,
        reason: str | None,
        result: ActionResult,
        *,
        door: dict[str, Any] | None = None,
        **details: Any,
    ) -> None:
        """Record an action whose change (if any) is not in the store: a device command, a refusal."""
        payload, write = self._entry(actor, action, reason, result, door=door, **details)
        await self._store.transact(write)
        logger.info("staff action", extra=payload)

    def _entry(
        self,
        actor: Actor,
        action: str,
        reason: str | None,
        result: ActionResult,
        *,
        door: dict[str, Any] | None = None,
        **details: Any,
    ) -> tuple[dict[str, Any], TxHook]:
        """The action's `staff_action` payload, and the write of its journal entry and event.

        An action that changes the store passes the write to the service as its `also`, so the
        change and its record commit together.
        """
        at_ms = now_ms(self._clock)
        payload = _payload(actor, action, reason, result, **details)

        def write(tx: Tx) -> None:
            if door is not None:
                tx.append_journal(at_ms, JournalKind.DOOR_OPEN, door)
            tx.append_journal(at_ms, JournalKind.STAFF_ACTION, payload)
            tx.add_events([NewEvent(STAFF_ACTION_EVENT, at_ms, payload)])

        return payload, write
