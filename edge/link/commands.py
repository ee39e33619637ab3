"""Cloud commands (unlock, power, print, extend, resolve_fault, service_call), each run once by id."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from edge.actuators import DeviceFailure, NoSuchDevice, RoomActuators
from edge.clock import Clock, now_ms
from edge.faults.services import FaultService, failure_spec
from edge.journal.model import JournalKind
from edge.records import NewEvent, ServiceCall
from edge.rooms import RoomLocks
from edge.sessions.model import SessionError, holds_room
from edge.store import EdgeStore, Tx

if TYPE_CHECKING:
    from edge.sessions.services import SessionService

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A command from the cloud: `deadline_ms` 0 means no deadline."""

    id: str
    kind: str
    deadline_ms: int
    args_json: str


@dataclass(frozen=True, slots=True)
class CommandReply:
    """The result of a command; `code` is "ok" on success or a stable reason code."""

    command_id: str
    ok: bool
    code: str
    message: str = ""
    result_json: str = "{}"


class CommandRefused(Exception):
    """A command cannot be carried out; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


Handler = Callable[[CommandRequest, Mapping[str, Any]], Awaitable[Mapping[str, Any]]]

# The longest an extension may run past now (a typo of minutes for seconds must not book a week).
MAX_EXTENSION_S = 24 * 3600

# A customer's call to the staff from a room's QR page (the cloud's reasons, see protos/README.md).
SERVICE_CALL_EVENT = "service_call"
SERVICE_CALL_REASONS = frozenset({"call_staff", "order_bar", "broken", "cleaning"})
MAX_CALL_NOTE = 200
MAX_CALL_ID = 64


@dataclass(frozen=True, slots=True)
class CallArgs:
    """The checked args of a `service_call` command."""

    call_id: str
    room_id: str
    reason: str
    note: str


def parse_service_call(args: Mapping[str, Any]) -> CallArgs:
    """The args of a `service_call` command, or CommandRefused("bad_args") naming what is wrong."""
    call_id = args.get("call_id")
    if not isinstance(call_id, str) or not call_id.strip() or len(call_id) > MAX_CALL_ID:
        raise CommandRefused("bad_args", f"call_id (a string of up to {MAX_CALL_ID} characters) is required")
    room_id = _room_id(args)
    reason = args.get("reason")
    if reason not in SERVICE_CALL_REASONS:
        raise CommandRefused("bad_args", f"reason must be one of {', '.join(sorted(SERVICE_CALL_REASONS))}")
    note = args.get("note", "")
    if note is None:
        note = ""
    if not isinstance(note, str) or len(note) > MAX_CALL_NOTE:
        raise CommandRefused("bad_args", f"note must be a string of up to {MAX_CALL_NOTE} characters")
    # The panel shows it as one line: no control characters, no runs of blanks.
    clean = " ".join("".join(ch if ch.isprintable() else " " for ch in note).split())
    return CallArgs(call_id.strip(), room_id, str(reason), clean)


class Printer(Protocol):
    """Something that prints text on the store's printers."""

    async def print_text(
        self, text: str, *, printer_id: str | None = None, room_id: str | None = None
    ) -> str:
        """Print; return the printer's id (NoSuchDevice: none; DeviceFailure: it failed)."""
        ...


@dataclass(frozen=True, slots=True)
class Forced:
    """HQ overrode an occupied room: the reason and whose session it was (journalled before acting)."""

    reason: str
    occupant: str | None


def _room_id(args: Mapping[str, Any]) -> str:
    room_id = args.get("room_id")
    if not isinstance(room_id, str) or not room_id:
        raise CommandRefused("bad_args", "room_id (string) is required")
    return room_id


class CommandRunner:
    """Run cloud commands once each: a replay of an id returns the first result with no second effect."""

    def __init__(
        self,
        store: EdgeStore,
        actuators: RoomActuators,
        clock: Clock,
        *,
        sessions: SessionService | None = None,
        faults: FaultService | None = None,
        printer: Printer | None = None,
        locks: RoomLocks | None = None,
    ) -> None:
        self._store = store
        self._actuators = actuators
        self._clock = clock
        self._sessions = sessions
        self._faults = faults
        self._printer = printer
        self._locks = locks or (sessions.locks if sessions is not None else RoomLocks())
        self._running: dict[str, asyncio.Future[CommandReply]] = {}
        self._handlers: dict[str, Handler] = {
            "unlock": self._unlock,
            "power": self._power,
            "print": self._print,
            "extend": self._extend,
            "resolve_fault": self._resolve_fault,
            "service_call": self._service_call,
        }

    async def run(self, request: CommandRequest) -> CommandReply:
        """The command's result, from its first run (stored) or from running it now."""
        stored = await self._store.command_result(request.id)
        if stored is not None:
            return self._decode(request.id, stored)
        running = self._running.get(request.id)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()
        self._running[request.id] = future
        try:
            reply = await self._execute(request)
            stored = await self._store.save_command_result(
                request.id, json.dumps(asdict(reply), sort_keys=True), self._clock.now()
            )
            first = self._decode(request.id, stored)
            future.set_result(first)
            return first
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # marks it retrieved when no replay is waiting
            raise
        finally:
            del self._running[request.id]

    async def _execute(self, request: CommandRequest) -> CommandReply:
        log_extra = {"command_id": request.id, "kind": request.kind}
        if request.deadline_ms and now_ms(self._clock) > request.deadline_ms:
            logger.info("command past its deadline", extra=log_extra)
            return CommandReply(request.id, False, "deadline_exceeded", "the command's deadline has passed")
        handler = self._handlers.get(request.kind)
        if handler is None:
            return CommandReply(
                request.id, False, "unknown_command", f"unknown command kind {request.kind!r}"
            )
        try:
            args = json.loads(request.args_json or "{}")
            if not isinstance(args, dict):
                raise CommandRefused("bad_args", "args_json must be a JSON object")
            result = await handler(request, args)
        except json.JSONDecodeError:
            return CommandReply(request.id, False, "bad_args", "args_json is not JSON")
        except CommandRefused as err:
            logger.info("command refused", extra={**log_extra, "code": err.code, "detail": str(err)})
            return CommandReply(request.id, False, err.code, str(err))
        logger.info("command done", extra=log_extra)
        return CommandReply(request.id, True, "ok", "", json.dumps(dict(result), sort_keys=True))

    @staticmethod
    def _decode(command_id: str, stored: str) -> CommandReply:
        data = json.loads(stored)
        return CommandReply(
            command_id, bool(data["ok"]), str(data["code"]), str(data["message"]), str(data["result_json"])
        )

    # ---- handlers ----

    async def _room(self, args: Mapping[str, Any]) -> str:
        room_id = _room_id(args)
        if await self._store.room(room_id) is None:
            raise CommandRefused("no_such_room", f"no room {room_id!r} in this store")
        return room_id

    async def _fault(self, err: DeviceFailure, room_id: str | None, what: str, kind: str) -> None:
        """A device that failed a command is a fault (graded; critical for a lock)."""
        if self._faults is not None:
            await self._faults.raise_fault(failure_spec(err, room_id, what, kind))

    async def _guard(self, request: CommandRequest, args: Mapping[str, Any], room_id: str) -> Forced | None:
        """Refuse to act on a room another customer occupies, unless HQ forces it with a reason."""
        session = await self._store.session(room_id)
        if not holds_room(session, self._clock.now()):
            return None
        if args.get("booking_ref") is not None and args.get("booking_ref") == session.booking_ref:
            return None  # the occupant's own request (their app)
        if args.get("force") is not True:
            raise CommandRefused("room_occupied", f"room {room_id!r} is in use by another customer's session")
        reason = args.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise CommandRefused("reason_required", "a forced command needs a reason")
        forced = Forced(reason.strip()[:500], session.booking_ref)
        at_ms = now_ms(self._clock)
        payload = {
            "command_id": request.id,
            "kind": request.kind,
            "room_id": room_id,
            "reason": forced.reason,
            "occupant": forced.occupant,
        }

        def write(tx: Tx) -> None:
            tx.append_journal(at_ms, JournalKind.FORCED_COMMAND, payload)

        await self._store.transact(write)
        logger.warning("forced command on an occupied room", extra=payload)
        return forced

    async def _unlock(self, request: CommandRequest, args: Mapping[str, Any]) -> Mapping[str, Any]:
        room_id = await self._room(args)
        async with self._locks[room_id]:
            forced = await self._guard(request, args, room_id)
            try:
                device_id = await self._actuators.unlock_room(room_id)
            except DeviceFailure as err:
                await self._fault(err, room_id, "remote unlock failed", "lock")
                raise CommandRefused("device_failed", str(err)) from err
            if device_id is None:
                raise CommandRefused("device_failed", f"room {room_id!r} has no lock")
            door: dict[str, Any] = {
                "room_id": room_id,
                "device_id": device_id,
                "cause": "remote",
                "command_id": request.id,
                "forced": forced is not None,
            }
            if forced is not None:
                door["reason"] = forced.reason
            at_ms = now_ms(self._clock)
            await self._store.transact(lambda tx: tx.append_journal(at_ms, JournalKind.DOOR_OPEN, door))
        result: dict[str, Any] = {"room_id": room_id, "device_id": device_id}
        if forced is not None:
            result["forced"] = True
        return result

    async def _power(self, request: CommandRequest, args: Mapping[str, Any]) -> Mapping[str, Any]:
        room_id = await self._room(args)
        on = args.get("on")
        if not isinstance(on, bool):
            raise CommandRefused("bad_args", "on (boolean) is required")
        async with self._locks[room_id]:
            forced = await self._guard(request, args, room_id)
            try:
                device_id = await self._actuators.power_room(room_id, on)
            except DeviceFailure as err:
                await self._fault(err, room_id, "remote power switch failed", "power")
                raise CommandRefused("device_failed", str(err)) from err
        if device_id is None:
            raise CommandRefused("device_failed", f"room {room_id!r} has no power switch")
        result: dict[str, Any] = {"room_id": room_id, "device_id": device_id, "on": on}
        if forced is not None:
            result["forced"] = True
        return result

    async def _print(self, request: CommandRequest, args: Mapping[str, Any]) -> Mapping[str, Any]:
        text = args.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 8000:
            raise CommandRefused("bad_args", "text (a string of up to 8000 characters) is required")
        printer_id, room_id = args.get("printer_id"), args.get("room_id")
        if printer_id is not None and not isinstance(printer_id, str):
            raise CommandRefused("bad_args", "printer_id must be a string")
        if room_id is not None and not isinstance(room_id, str):
            raise CommandRefused("bad_args", "room_id must be a string")
        if self._printer is None:
            raise CommandRefused("no_printer", "this edge has no printer")
        try:
            used = await self._printer.print_text(text, printer_id=printer_id, room_id=room_id)
        except NoSuchDevice as err:
            raise CommandRefused(err.code, str(err)) from err
        except DeviceFailure as err:
            raise CommandRefused("device_failed", str(err)) from err
        return {"printer_id": used}

    async def _extend(self, request: CommandRequest, args: Mapping[str, Any]) -> Mapping[str, Any]:
        room_id = await self._room(args)
        if self._sessions is None:
            raise CommandRefused("unsupported", "this edge runs no sessions")
        now = self._clock.now()
        ends_at, minutes = args.get("ends_at"), args.get("minutes")
        booking_ref = args.get("booking_ref")
        if booking_ref is not None and not isinstance(booking_ref, str):
            raise CommandRefused("bad_args", "booking_ref must be a string")
        if isinstance(ends_at, int | float) and not isinstance(ends_at, bool):
            target = float(ends_at)
        elif isinstance(minutes, int) and not isinstance(minutes, bool) and minutes > 0:
            session = await self._store.session(room_id)
            if session.ends_at is None:
                raise CommandRefused("no_session", f"room {room_id!r} has no session in progress")
            target = session.ends_at + minutes * 60
        else:
            raise CommandRefused("bad_args", "ends_at (unix seconds) or minutes (> 0) is required")
        if target > now + MAX_EXTENSION_S:
            raise CommandRefused("bad_args", "an extension may not run more than a day past now")
        try:
            session = await self._sessions.extend(room_id, target, booking_ref)
        except SessionError as err:
            raise CommandRefused(err.code, str(err)) from err
        return {
            "room_id": room_id,
            "booking_ref": session.booking_ref,
            "ends_at": session.ends_at,
            "state": session.state.value,
        }

    async def _resolve_fault(self, request: CommandRequest, args: Mapping[str, Any]) -> Mapping[str, Any]:
        fault_id = args.get("fault_id")
        if not isinstance(fault_id, str) or not fault_id or len(fault_id) > 64:
            raise CommandRefused("bad_args", "fault_id (string) is required")
        room_id = args.get("room_id") or None
        if room_id is not None:
            room_id = await self._room(args)
        if self._faults is None:
            raise CommandRefused("unsupported", "this edge keeps no faults")
        resolution = await self._faults.resolve(fault_id, room_id)
        if self._sessions is not None:
            self._sessions.poke(reconcile=True)
        return {
            "fault_id": fault_id,
            "known": resolution.known,
            "room_id": resolution.room_id,
            "room_state": resolution.room_state.value if resolution.room_state is not None else None,
        }

    async def _service_call(self, request: CommandRequest, args: Mapping[str, Any]) -> Mapping[str, Any]:
        call = parse_service_call(args)
        await self._room(args)
        now = self._clock.now()
        at_ms = now_ms(self._clock)
        record = ServiceCall(call.call_id, call.room_id, call.reason, call.note, now, request.id)
        payload = {
            "call_id": call.call_id,
            "room_id": call.room_id,
            "reason": call.reason,
            "note": call.note,
            "command_id": request.id,
        }

        def write(tx: Tx) -> ServiceCall:
            # The call id makes a second command for the same call (a retry) harmless too.
            if not tx.add_service_call(record):
                kept = tx.service_call(call.call_id)
                assert kept is not None
                return kept
            tx.append_journal(at_ms, JournalKind.SERVICE_CALL, payload)
            tx.add_events([NewEvent(SERVICE_CALL_EVENT, at_ms, payload)])
            return record

        kept = await self._store.transact(write)
        logger.info("service call received", extra=payload)
        return {
            "call_id": kept.id,
            "room_id": kept.room_id,
            "received_at": kept.at,
            "repeat": kept.command_id != request.id,
        }
