"""Redemption service: verify, decide, open the room, then record the session and event in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from edge.actuators import DeviceFailure, RoomActuators
from edge.clock import Clock, now_ms
from edge.faults.model import FaultSpec
from edge.faults.services import FaultService, failure_spec
from edge.identity import Keyring
from edge.journal.model import JournalKind
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
from edge.rooms import RoomLocks
from edge.sessions.model import Move, RoomSession, SessionError, holds_room
from edge.sessions.writes import transition
from edge.store import EdgeStore, Tx
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
class _Facts:
    """What a decision needs from the store, read in one snapshot."""

    scanner_room: str | None
    booking: Booking | None
    session: RoomSession
    room_exists: bool
    already_redeemed: bool
    early_grace_s: int


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
        faults: FaultService | None = None,
        locks: RoomLocks | None = None,
        on_session: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._actuators = actuators
        self._clock = clock
        self._keyring = keyring
        self._default_grace_s = default_grace_s
        self._faults = faults or FaultService(store, clock)
        # One attempt at a time per room: a double scan must not redeem twice or race the door
        # (shared with the session timers and commands, which act on the same devices).
        self._room_locks = locks or RoomLocks()
        self._on_session = on_session

    async def redeem_code(self, text: str, device_id: str | None = None) -> RedemptionResult:
        """Redeem a scanned or typed code; the scanner's room (if any) comes from its device record."""
        keyring = self._keyring()
        if keyring is None:
            scanner_room = await self._device_room(device_id)
            return await self._refuse(Reason.UNKNOWN_KEY, device_id, scanner_room, detail="edge not enrolled")
        try:
            claim = verify_code(text, keyring.store_id, keyring.keys, self._clock.now())
        except CodeRefused as err:
            scanner_room = await self._device_room(device_id)
            return await self._refuse(err.reason.value, device_id, scanner_room, detail=err.detail)
        entry = Entry(claim.booking_ref, claim.room_id, claim.starts_at, claim.ends_at)
        attempt = _Attempt(entry, "code", claim.key_version, device_id)
        async with self._room_locks[claim.room_id]:
            # Read inside the room's lock: this room's last redemption has committed by now.
            facts = await self._facts(claim.booking_ref, claim.room_id, device_id)
            decision = decide_code(
                claim,
                scanner_room=facts.scanner_room,
                room_exists=facts.room_exists,
                booking=facts.booking,
                session=facts.session,
                revocations=(),
                already_redeemed=facts.already_redeemed,
                now=self._clock.now(),
                early_grace_s=facts.early_grace_s,
            )
            return await self._carry_out(decision, attempt, facts.booking, facts.session)

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
            facts = await self._facts(booking.ref, booking.room_id, None, follow_booking=True)
            booking = facts.booking or booking
            decision = decide_order(
                booking,
                room_id=room_id,
                room_exists=facts.room_exists,
                session=facts.session,
                already_redeemed=facts.already_redeemed,
                now=self._clock.now(),
                early_grace_s=facts.early_grace_s,
            )
            return await self._carry_out(decision, attempt, booking, facts.session)

    # ---- helpers ----

    async def _device_room(self, device_id: str | None) -> str | None:
        return await self._store.snapshot(lambda tx: _scanner_room(tx, device_id))

    async def _facts(
        self, booking_ref: str, room_id: str, device_id: str | None, *, follow_booking: bool = False
    ) -> _Facts:
        """Everything the decision reads, in one snapshot (one hop to the reader thread, no queueing).

        The room is `room_id`, or with follow_booking the cached booking's (it may have moved).
        """

        def read(tx: Tx) -> _Facts:
            info = tx.store_info()
            booking = tx.booking(booking_ref)
            room = booking.room_id if follow_booking and booking is not None else room_id
            return _Facts(
                scanner_room=_scanner_room(tx, device_id),
                booking=booking,
                session=tx.session(room),
                room_exists=tx.room(room) is not None,
                already_redeemed=tx.redemption(booking_ref) is not None,
                early_grace_s=info.early_grace_s if info is not None else self._default_grace_s,
            )

        return await self._store.snapshot(read)

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
        faults: tuple[FaultSpec, ...] = (),
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
        event = self._event("redemption_refused", payload)
        now = self._clock.now()

        def write(tx: Tx) -> None:
            tx.add_events([event])
            for spec in faults:
                self._faults.raise_in(tx, spec, now)

        await self._store.transact(write)
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
            lock_id = await self._actuators.unlock_room(entry.room_id)
        except DeviceFailure as err:
            return await self._refuse(
                Reason.DEVICE_FAILED,
                attempt.device_id,
                entry.room_id,
                booking_ref=entry.booking_ref,
                detail=str(err),
                faults=(failure_spec(err, entry.room_id, "door did not open", "lock"),),
            )
        faults: list[FaultSpec] = []
        if attempt.device_id is not None and attempt.device_id != PANEL_DEVICE:
            try:
                await self._actuators.open_gate(attempt.device_id)
            except DeviceFailure as err:
                faults.append(failure_spec(err, None, "entrance gate did not open", "gate"))
        now = self._clock.now()
        # A reentry into the session in progress changes nothing; otherwise the booking's session starts.
        starts = isinstance(decision, Redeem) or not (
            holds_room(session, now) and session.booking_ref == entry.booking_ref
        )
        ends_at = float(booking.ends_at if booking is not None else entry.ends_at)
        redeemed = isinstance(decision, Redeem)
        known = decision.known if isinstance(decision, Redeem) else None
        door = {
            "room_id": entry.room_id,
            "device_id": lock_id,
            "cause": "redemption" if redeemed else "reentry",
            "booking_ref": entry.booking_ref,
            "scanner": attempt.device_id,
        }
        first = (
            self._redemption_event(attempt, bool(known))
            if redeemed
            else self._event(
                "reentry",
                {"booking_ref": entry.booking_ref, "room_id": entry.room_id, "device_id": attempt.device_id},
            )
        )

        def write(tx: Tx) -> None:
            tx.add_events([first])
            if starts:
                try:
                    transition(
                        tx,
                        entry.room_id,
                        Move.CHECK_IN,
                        now,
                        self._faults.base,
                        booking_ref=entry.booking_ref,
                        ends_at=ends_at,
                    )
                except SessionError as err:
                    # The room changed while the door opened (a fault took it out): the door is open and
                    # the redemption stands; the session stays where the fault put it.
                    logger.warning("session not started", extra={"room_id": entry.room_id, "code": err.code})
            at_ms = int(now * 1000)
            if redeemed:
                tx.add_redemption(Redemption(entry.booking_ref, entry.room_id, now, bool(known)))
                tx.append_journal(
                    at_ms,
                    JournalKind.REDEMPTION,
                    {
                        "booking_ref": entry.booking_ref,
                        "room_id": entry.room_id,
                        "method": attempt.method,
                        "known": bool(known),
                        "device_id": attempt.device_id,
                    },
                )
            tx.append_journal(at_ms, JournalKind.DOOR_OPEN, door)
            for spec in faults:
                self._faults.raise_in(tx, spec, now)

        # The door is open: the room's power switches on beside the commit (nobody waits on the
        # other), and a switch that fails is a fault of its own once the redemption stands.
        power_on = self._power_on(entry.room_id) if starts else _no_faults()
        _, power_faults = await asyncio.gather(self._store.transact(write), power_on)
        if power_faults:
            await self._store.transact(lambda tx: self._raise_all(tx, power_faults, now))
        if self._on_session is not None:
            self._on_session()
        outcome = Outcome.REDEEMED if redeemed else Outcome.REENTRY
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

    def _raise_all(self, tx: Tx, faults: list[FaultSpec], now: float) -> None:
        for spec in faults:
            self._faults.raise_in(tx, spec, now)

    async def _power_on(self, room_id: str) -> list[FaultSpec]:
        # The door is open: a power failure is a fault for staff, not a reason to refuse the guest.
        try:
            await self._actuators.power_room(room_id, True)
        except DeviceFailure as err:
            logger.warning("room power did not switch on", extra={"room_id": room_id, "code": err.code})
            return [failure_spec(err, room_id, "power did not switch on", "power")]
        return []


def _scanner_room(tx: Tx, device_id: str | None) -> str | None:
    """The room of the scanner a code was read at (None: the panel, a store-wide or unknown scanner)."""
    if device_id is None or device_id == PANEL_DEVICE:
        return None
    device = tx.device(device_id)
    return device.room_id if device is not None else None


async def _no_faults() -> list[FaultSpec]:
    return []
