"""Redemption service: verify, decide, open the room, then record the session and event in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from edge.actuators import DeviceFailure, RoomActuators
from edge.clock import Clock, now_ms
from edge.identity import Keyring
from edge.records import Booking, NewEvent, Redemption
from edge.redemption.model import (
    Decision,
    Entry,
    Reason,
    Redeem,
    Refuse,
    decide_code,
    decide_order,
    match_order,
)
from edge.sessions.model import RoomSession, holds_room, start_session
from edge.store import EdgeStore
from protos.codes import CodeRefused, verify_code

logger = logging.getLogger(__name__)

PANEL_DEVICE = "panel"
_MAX_ORDER_NO = 64


class Outcome(StrEnum):
    """How a redemption attempt ended."""

    REDEEMED = "redeemed"
    REENTRY = "reentry"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class RedemptionResult:
    """What callers (scanners, panel, tests) learn: ok, a stable reason code and what happened."""

    ok: bool
    reason: str
    outcome: Outcome
    booking_ref: str | None = None
    room_id: str | None = None
    known: bool | None = None


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One redemption attempt being carried out."""

    entry: Entry
    method: str
    key_version: int | None
    device_id: str | None


class RedemptionService:
    """Redeem codes and order numbers: decide, open the door, record (session, redemption, outbox)."""

    def __init__(
        self,
        store: EdgeStore,
        actuators: RoomActuators,
        clock: Clock,
        keyring: Callable[[], Keyring | None],
        *,
        default_grace_s: int = 900,
    ) -> None:
        self._store = store
        self._actuators = actuators
        self._clock = clock
        self._keyring = keyring
        self._default_grace_s = default_grace_s
        # One attempt at a time per room: a double scan must not redeem twice or race the door.
        self._room_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def redeem_code(self, text: str, device_id: str | None = None) -> RedemptionResult:
        """Redeem a scanned or typed code; the scanner's room (if any) comes from its device record."""
        scanner_room = await self._device_room(device_id)
        keyring = self._keyring()
        if keyring is None:
            return await self._refuse(Reason.UNKNOWN_KEY, device_id, scanner_room, detail="edge not enrolled")
        try:
            claim = verify_code(text, keyring.store_id, keyring.keys, self._clock.now())
        except CodeRefused as err:
            return await self._refuse(err.reason.value, device_id, scanner_room, detail=err.detail)
        entry = Entry(claim.booking_ref, claim.room_id, claim.starts_at, claim.ends_at)
        attempt = _Attempt(entry, "code", claim.key_version, device_id)
        async with self._room_locks[claim.room_id]:
            booking = await self._store.booking(claim.booking_ref)
            session = await self._store.session(claim.room_id)
            decision = decide_code(
                claim,
                scanner_room=scanner_room,
                room_exists=await self._store.room(claim.room_id) is not None,
                booking=booking,
                session=session,
                revocations=(),
                already_redeemed=await self._store.redemption(claim.booking_ref) is not None,
                now=self._clock.now(),
                early_grace_s=await self._grace(),
            )
            return await self._carry_out(decision, attempt, booking, session)

    async def redeem_order(
        self,
        order_no: str,
        phone_last4: str,
        room_id: str | None = None,
        device_id: str | None = PANEL_DEVICE,
    ) -> RedemptionResult:
        """Redeem by order number + last 4 phone digits (cached bookings only)."""
        order = order_no.strip()
        bookings = await self._store.bookings_by_order(order) if 0 < len(order) <= _MAX_ORDER_NO else []
        picked = match_order(bookings, phone_last4, room_id, self._clock.now())
        if isinstance(picked, Refuse):
            detail = f"order {order[:_MAX_ORDER_NO]}"
            return await self._refuse(picked.reason, device_id, room_id, detail=detail)
        booking = picked
        entry = Entry(booking.ref, booking.room_id, booking.starts_at, booking.ends_at)
        attempt = _Attempt(entry, "order_phone", None, device_id)
        async with self._room_locks[booking.room_id]:
            booking = await self._store.booking(booking.ref) or booking
            session = await self._store.session(booking.room_id)
            decision = decide_order(
                booking,
                room_id=room_id,
                room_exists=await self._store.room(booking.room_id) is not None,
                session=session,
                already_redeemed=await self._store.redemption(booking.ref) is not None,
                now=self._clock.now(),
                early_grace_s=await self._grace(),
            )
            return await self._carry_out(decision, attempt, booking, session)

    # ---- helpers ----

    async def _device_room(self, device_id: str | None) -> str | None:
        if device_id is None or device_id == PANEL_DEVICE:
            return None
        device = await self._store.device(device_id)
        return device.room_id if device is not None else None

    async def _grace(self) -> int:
        info = await self._store.store_info()
        return info.early_grace_s if info is not None else self._default_grace_s

    def _event(self, kind: str, payload: dict[str, Any]) -> NewEvent:
        return NewEvent(kind, now_ms(self._clock), payload)

    async def _refuse(
        self,
        reason: str,
        device_id: str | None,
        room_id: str | None,
        *,
        booking_ref: str | None = None,
        detail: str = "",
        extra_events: tuple[NewEvent, ...] = (),
    ) -> RedemptionResult:
        logger.info(
            "redemption refused",
            extra={
                "reason": reason,
                "device_id": device_id,
                "room_id": room_id,
                "booking_ref": booking_ref,
                "detail": detail,
            },
        )
        payload: dict[str, Any] = {"reason": reason, "room_id": room_id, "device_id": device_id}
        if booking_ref is not None:
            payload["booking_ref"] = booking_ref
        await self._store.append_events([self._event("redemption_refused", payload), *extra_events])
        return RedemptionResult(False, reason, Outcome.REFUSED, booking_ref, room_id)

    async def _carry_out(
        self, decision: Decision, attempt: _Attempt, booking: Booking | None, session: RoomSession
    ) -> RedemptionResult:
        entry = attempt.entry
        if isinstance(decision, Refuse):
            return await self._refuse(
                decision.reason, attempt.device_id, entry.room_id, booking_ref=entry.booking_ref
            )
        try:
            await self._actuators.unlock_room(entry.room_id)
        except DeviceFailure as err:
            fault = self._fault(err, entry.room_id, "critical", "door did not open")
            return await self._refuse(
                Reason.DEVICE_FAILED,
                attempt.device_id,
                entry.room_id,
                booking_ref=entry.booking_ref,
                detail=str(err),
                extra_events=(fault,),
            )
        now = self._clock.now()
        events: list[NewEvent] = []
        new_session: RoomSession | None = None
        # A reentry into the session in progress changes nothing; otherwise the booking's session starts.
        if isinstance(decision, Redeem) or not (
            holds_room(session, now) and session.booking_ref == entry.booking_ref
        ):
            ends_at = booking.ends_at if booking is not None else entry.ends_at
            new_session = start_session(session, entry.room_id, entry.booking_ref, now, ends_at)
            events.append(self._session_event(new_session))
            events.extend(await self._power_on(entry.room_id))
        if isinstance(decision, Redeem):
            events.insert(0, self._redemption_event(attempt, decision.known))
            redemption = Redemption(entry.booking_ref, entry.room_id, now, decision.known)
            await self._store.record(events, session=new_session, redemption=redemption)
            outcome, known = Outcome.REDEEMED, decision.known
        else:
            events.insert(
                0,
                self._event(
                    "reentry",
                    {
                        "booking_ref": entry.booking_ref,
                        "room_id": entry.room_id,
                        "device_id": attempt.device_id,
                    },
                ),
            )
            await self._store.record(events, session=new_session)
            outcome, known = Outcome.REENTRY, None
        logger.info(
            "door opened",
            extra={
                "outcome": outcome.value,
                "booking_ref": entry.booking_ref,
                "room_id": entry.room_id,
                "known": known,
                "method": attempt.method,
                "device_id": attempt.device_id,
            },
        )
        return RedemptionResult(True, "ok", outcome, entry.booking_ref, entry.room_id, known)

    def _redemption_event(self, attempt: _Attempt, known: bool) -> NewEvent:
        return self._event(
            "redemption",
            {
                "booking_ref": attempt.entry.booking_ref,
                "room_id": attempt.entry.room_id,
                "method": attempt.method,
                "known": known,
                "key_version": attempt.key_version,
                "device_id": attempt.device_id,
            },
        )

    def _session_event(self, session: RoomSession) -> NewEvent:
        return self._event(
            "session",
            {
                "room_id": session.room_id,
                "booking_ref": session.booking_ref,
                "state": session.state.value,
            },
        )

    def _fault(self, err: DeviceFailure, room_id: str, severity: str, what: str) -> NewEvent:
        return self._event(
            "fault",
            {
                "device_id": err.device_id,
                "room_id": room_id,
                "code": err.code,
                "severity": severity,
                "message": f"{what}: {err.message}",
            },
        )

    async def _power_on(self, room_id: str) -> list[NewEvent]:
        # The door is open: a power failure is a fault for staff, not a reason to refuse the guest.
        try:
            await self._actuators.power_room(room_id, True)
        except DeviceFailure as err:
            logger.warning("room power did not switch on", extra={"room_id": room_id, "code": err.code})
            return [self._fault(err, room_id, "minor", "power did not switch on")]
        return []
