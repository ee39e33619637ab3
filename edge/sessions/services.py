"""Session service: moves rooms through their sessions, runs the persisted timers, handles the cleaner's scan.

Timers live in SQLite with their session, so they survive a restart: on start every overdue timer
runs at once (a session that ended while the edge was down is powered off, locked and handed to
the cleaner). The loop sleeps until the next due time on the injected clock and wakes early when
told (`poke`) or when a test clock moves, so tests never sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from edge.actuators import Announcement, DeviceFailure, SessionActuators
from edge.clock import Clock
from edge.faults.model import FaultCode, FaultSpec
from edge.faults.services import FaultService, alarm_holds_door, failure_spec
from edge.identity import Keyring
from edge.rooms import RoomLocks
from edge.sessions import reservations
from edge.sessions.model import (
    TABLE,
    Move,
    RoomSession,
    RoomState,
    SessionError,
    SessionSettings,
    Timer,
    TimerKind,
    verify_room_code,
)
from edge.sessions.writes import settings_for, transition
from edge.store import EdgeStore, Tx, TxHook
from protos.codes import CodeRefused

logger = logging.getLogger(__name__)

# The longest the loop sleeps without looking again (wall-clock steps, bookings coming into view).
MAX_SLEEP_S = 30.0
# A timer whose handling crashed is tried again this much later (never a hot loop).
RETRY_S = 5.0
# How far ahead the loop looks for bookings to hold rooms for.
LOOKAHEAD_S = 24 * 3600

MOVE_OF: dict[TimerKind, Move | None] = {
    TimerKind.RELEASE: Move.RELEASE,
    TimerKind.WARN: Move.WARN,
    TimerKind.END: Move.END,
    TimerKind.CLEANING_OVERDUE: None,
}


class Subscribable(Protocol):
    """A clock that tells when it is moved (FakeClock)."""

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` after every change; returns the unsubscribe."""
        ...


@dataclass(frozen=True, slots=True)
class CleaningResult:
    """The outcome of a cleaner's scan: ok, or a stable reason code."""

    ok: bool
    reason: str
    room_id: str | None = None


class SessionService:
    """Room sessions: every move under the room's lock, in one transaction with its event and timers."""

    def __init__(
        self,
        store: EdgeStore,
        clock: Clock,
        actuators: SessionActuators,
        faults: FaultService,
        *,
        locks: RoomLocks | None = None,
        keyring: Callable[[], Keyring | None] = lambda: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._actuators = actuators
        self._faults = faults
        # The store id and keys that seal room QRs (None until the edge is enrolled).
        self._keyring = keyring
        self._base = faults.base
        self.locks = locks or RoomLocks()
        self._wake = asyncio.Event()
        self._reconcile_wanted = True
        self.fired = 0

    @property
    def base(self) -> SessionSettings:
        """The local session settings (under store data)."""
        return self._base

    def poke(self, *, reconcile: bool = False) -> None:
        """Wake the loop (timers may have changed; with reconcile, bookings too)."""
        if reconcile:
            self._reconcile_wanted = True
        self._wake.set()

    # ---- moves ----

    async def move(
        self,
        room_id: str,
        move: Move,
        *,
        booking_ref: str | None = None,
        ends_at: float | None = None,
    ) -> RoomSession:
        """Make one move now, under the room's lock (SessionError when illegal)."""
        async with self.locks[room_id]:
            return await self._transition(room_id, move, booking_ref=booking_ref, ends_at=ends_at)

    async def _transition(
        self,
        room_id: str,
        move: Move,
        *,
        booking_ref: str | None = None,
        ends_at: float | None = None,
        also: TxHook | None = None,
    ) -> RoomSession:
        now = self._clock.now()

        def write(tx: Tx) -> RoomSession:
            session = transition(tx, room_id, move, now, self._base, booking_ref=booking_ref, ends_at=ends_at)
            if also is not None:
                also(tx)
            return session

        session = await self._store.transact(write)
        self.poke()
        return session

    async def extend(
        self, room_id: str, ends_at: float, booking_ref: str | None = None, *, also: TxHook | None = None
    ) -> RoomSession:
        """Move the end of the room's session later (SessionError: no session, another booking, not later).

        `also` runs in the extension's transaction, only when the extension is made.
        """
        async with self.locks[room_id]:
            session = await self._store.session(room_id)
            if booking_ref is not None and session.booking_ref != booking_ref:
                raise SessionError("wrong_booking", f"room {room_id} is not in session for {booking_ref}")
            if session.state not in TABLE[Move.EXTEND].sources:
                raise SessionError("no_session", f"room {room_id} has no session in progress")
            return await self._transition(room_id, Move.EXTEND, ends_at=ends_at, also=also)

    async def settings(self, room_id: str) -> SessionSettings:
        """The room's resolved session settings."""
        return await self._store.read(lambda tx: settings_for(tx, room_id, self._base))

    # ---- the cleaner's scan ----

    async def cleaned_scan(self, text: str, device_id: str | None = None) -> CleaningResult:
        """The cleaner scanned a room's QR: a room being cleaned is free again.

        The QR must be sealed with a key of this store (refused: malformed, wrong_store,
        unknown_key, bad_signature), name one of its rooms (no_such_room), and be scanned at that
        room's scanner or a store-wide one (wrong_room).
        """
        keyring = self._keyring()
        if keyring is None:
            return self._cleaning_refused("unknown_key", None, device_id)
        try:
            claim = verify_room_code(text, keyring.store_id, keyring.keys)
        except CodeRefused as err:
            return self._cleaning_refused(err.reason.value, None, device_id)
        room_id = claim.room_id
        if await self._store.room(room_id) is None:
            return self._cleaning_refused("no_such_room", room_id, device_id)
        device = await self._store.device(device_id) if device_id else None
        if device is not None and device.room_id and device.room_id != room_id:
            return self._cleaning_refused("wrong_room", room_id, device_id)
        return await self.mark_cleaned(room_id, device_id=device_id)

    async def mark_cleaned(
        self,
        room_id: str,
        *,
        device_id: str | None = None,
        actor: str | None = None,
        also: TxHook | None = None,
    ) -> CleaningResult:
        """A room being cleaned is free again (the cleaner's scan, or staff on the panel as actor).

        `also` runs in the same transaction, only when the room is marked cleaned.
        """
        if await self._store.room(room_id) is None:
            return self._cleaning_refused("no_such_room", room_id, device_id)
        now = self._clock.now()

        def write(tx: Tx) -> bool:
            if tx.session(room_id).state is not RoomState.CLEANING:
                return False
            transition(tx, room_id, Move.CLEANED, now, self._base)
            # The overdue notice has done its job: a later cleaning may raise it again.
            for fault in tx.open_faults(room_id):
                if fault.code == FaultCode.CLEANING_OVERDUE:
                    tx.resolve_fault(fault.id, now)
            if also is not None:
                also(tx)
            return True

        async with self.locks[room_id]:
            done = await self._store.transact(write)
        if not done:
            return self._cleaning_refused("not_cleaning", room_id, device_id)
        logger.info("room cleaned", extra={"room_id": room_id, "device_id": device_id, "actor": actor})
        self.poke(reconcile=True)
        return CleaningResult(True, "ok", room_id)

    @staticmethod
    def _cleaning_refused(reason: str, room_id: str | None, device_id: str | None) -> CleaningResult:
        logger.info(
            "cleaning scan refused", extra={"reason": reason, "room_id": room_id, "device_id": device_id}
        )
        return CleaningResult(False, reason, room_id)

    # ---- the loop ----

    async def run(self) -> None:
        """Run due timers and hold rooms for their bookings, until cancelled."""
        subscribe = getattr(self._clock, "subscribe", None)
        unsubscribe = subscribe(self.poke) if callable(subscribe) else None
        try:
            while True:
                self._wake.clear()
                next_check: float | None = None
                try:
                    next_check = await self.reconcile()
                    await self.run_due()
                except Exception:
                    logger.exception("session timers failed")
                delay = await self._sleep_for(next_check)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
        finally:
            if unsubscribe is not None:
                unsubscribe()

    async def _sleep_for(self, next_check: float | None) -> float:
        due = await self._store.next_due()
        wake_at = min((t for t in (due, next_check) if t is not None), default=None)
        if wake_at is None:
            return MAX_SLEEP_S
        return min(max(wake_at - self._clock.now(), 0.0), MAX_SLEEP_S)

    async def reconcile(self) -> float | None:
        """Hold free rooms for bookings whose window opened, release and extend; return the next look."""
        self._reconcile_wanted = False
        now = self._clock.now()
        rooms = [r.id for r in await self._store.rooms()]
        if not rooms:
            return None
        bookings = await self._store.bookings_between(now, now + LOOKAHEAD_S)
        redeemed = await self._store.redeemed_refs([b.ref for b in bookings])
        sessions = await self._store.sessions()
        graces = {room_id: (await self.settings(room_id)).early_grace_s for room_id in rooms}
        plan = reservations.plan(sessions, rooms, bookings, redeemed, now, lambda r: graces.get(r, 0))
        for planned in plan.moves:
            await self._apply_planned(planned)
        return plan.next_check

    async def _apply_planned(self, planned: reservations.Planned) -> None:
        now = self._clock.now()
        async with self.locks[planned.room_id]:
            try:
                await self._store.transact(
                    lambda tx: transition(
                        tx,
                        planned.room_id,
                        planned.move,
                        now,
                        self._base,
                        booking_ref=planned.booking_ref,
                        starts_at=planned.starts_at,
                        ends_at=planned.ends_at,
                    )
                )
            except SessionError as err:
                # The room moved meanwhile (a scan, a fault): the plan is stale, nothing to do.
                logger.debug("planned move skipped", extra={"room_id": planned.room_id, "code": err.code})

    async def run_due(self) -> int:
        """Fire every timer due now, earliest first; return how many fired."""
        fired = 0
        while True:
            due = await self._store.due_timers(self._clock.now())
            if not due:
                return fired
            for timer in due:
                try:
                    await self._fire(timer)
                except Exception:
                    logger.exception(
                        "session timer failed", extra={"room_id": timer.room_id, "kind": timer.kind}
                    )
                    await self._postpone(timer)
                fired += 1
                self.fired += 1

    async def _postpone(self, timer: Timer) -> None:
        later = self._clock.now() + RETRY_S

        def write(tx: Tx) -> None:
            if tx.timer(timer.room_id, timer.kind) == timer:
                tx.put_timer(dataclasses.replace(timer, due_at=later))

        await self._store.transact(write)

    async def _fire(self, timer: Timer) -> None:
        async with self.locks[timer.room_id]:
            session = await self._store.session(timer.room_id)
            move = MOVE_OF[timer.kind]
            stale = timer.booking_ref != session.booking_ref or (
                move is not None and session.state not in TABLE[move].sources
            )
            if stale:
                await self._store.transact(lambda tx: self._drop_if_same(tx, timer))
                logger.debug("stale timer dropped", extra={"room_id": timer.room_id, "kind": timer.kind})
                return
            specs: list[FaultSpec] = []
            if timer.kind is TimerKind.WARN:
                specs = await self._warn_devices(session, timer)
            elif timer.kind is TimerKind.END:
                specs = await self._end_devices(session)
            elif timer.kind is TimerKind.CLEANING_OVERDUE:
                specs = [
                    FaultSpec(
                        FaultCode.CLEANING_OVERDUE,
                        "the room has not been cleaned within the cleaning gap",
                        device_kind="room",
                        room_id=timer.room_id,
                    )
                ]
            now = self._clock.now()

            def write(tx: Tx) -> None:
                if tx.timer(timer.room_id, timer.kind) != timer:
                    return  # replaced while the devices worked (an extension): the new plan stands
                if move is None:
                    tx.delete_timer(timer.room_id, timer.kind)
                else:
                    transition(tx, timer.room_id, move, now, self._base)
                for spec in specs:
                    self._faults.raise_in(tx, spec, now)

            await self._store.transact(write)
        logger.info(
            "session timer fired",
            extra={"room_id": timer.room_id, "kind": timer.kind.value, "booking_ref": timer.booking_ref},
        )

    @staticmethod
    def _drop_if_same(tx: Tx, timer: Timer) -> None:
        if tx.timer(timer.room_id, timer.kind) == timer:
            tx.delete_timer(timer.room_id, timer.kind)

    async def _warn_devices(self, session: RoomSession, timer: Timer) -> list[FaultSpec]:
        """Flash the lights and tell the speaker; a light that will not switch is a (minor) fault."""
        specs: list[FaultSpec] = []
        room_id = session.room_id
        try:
            await self._actuators.flash_room(room_id)
        except DeviceFailure as err:
            specs.append(failure_spec(err, room_id, "lights did not flash", "power"))
        minutes = 0 if session.ends_at is None else max(0, round((session.ends_at - self._clock.now()) / 60))
        announcement = Announcement(
            "session_ending", f"Your session ends in {minutes} minutes.", minutes_left=minutes
        )
        try:
            await self._actuators.announce(room_id, announcement)
        except DeviceFailure as err:
            specs.append(failure_spec(err, room_id, "speaker did not take the message", "speaker"))
        return specs

    async def _end_devices(self, session: RoomSession) -> list[FaultSpec]:
        """Power off and lock (unless an alarm covers the room); failures become faults (critical: a lock)."""
        specs: list[FaultSpec] = []
        room_id = session.room_id
        try:
            await self._actuators.power_room(room_id, False)
        except DeviceFailure as err:
            specs.append(failure_spec(err, room_id, "power did not switch off", "power"))
        if await self._store.read(lambda tx: alarm_holds_door(tx, room_id)):
            logger.warning("alarm active: door left unlocked at session end", extra={"room_id": room_id})
            return specs
        try:
            await self._actuators.lock_room(room_id)
        except DeviceFailure as err:
            specs.append(failure_spec(err, room_id, "door did not lock", "lock"))
        return specs
