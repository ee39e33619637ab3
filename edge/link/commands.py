"""Cloud commands (remote unlock, power): one handler per kind, results kept by id so replays are harmless."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from edge.actuators import DeviceFailure, RoomActuators
from edge.clock import Clock, now_ms
from edge.store import EdgeStore

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


Handler = Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any]]]


def _room_id(args: Mapping[str, Any]) -> str:
    room_id = args.get("room_id")
    if not isinstance(room_id, str) or not room_id:
        raise CommandRefused("bad_args", "room_id (string) is required")
    return room_id


class CommandRunner:
    """Run cloud commands once each: a replay of an id returns the first result with no second effect."""

    def __init__(self, store: EdgeStore, actuators: RoomActuators, clock: Clock) -> None:
        self._store = store
        self._actuators = actuators
        self._clock = clock
        self._running: dict[str, asyncio.Future[CommandReply]] = {}
        self._handlers: dict[str, Handler] = {
            "unlock": self._unlock,
            "power": self._power,
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
            result = await handler(args)
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

    async def _unlock(self, args: Mapping[str, Any]) -> Mapping[str, Any]:
        room_id = await self._room(args)
        try:
            device_id = await self._actuators.unlock_room(room_id)
        except DeviceFailure as err:
            raise CommandRefused("device_failed", str(err)) from err
        if device_id is None:
            raise CommandRefused("device_failed", f"room {room_id!r} has no lock")
        return {"room_id": room_id, "device_id": device_id}

    async def _power(self, args: Mapping[str, Any]) -> Mapping[str, Any]:
        room_id = await self._room(args)
        on = args.get("on")
        if not isinstance(on, bool):
            raise CommandRefused("bad_args", "on (boolean) is required")
        try:
            device_id = await self._actuators.power_room(room_id, on)
        except DeviceFailure as err:
            raise CommandRefused("device_failed", str(err)) from err
        if device_id is None:
            raise CommandRefused("device_failed", f"room {room_id!r} has no power switch")
        return {"room_id": room_id, "device_id": device_id, "on": on}
