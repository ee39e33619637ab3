"""Command routing between cloud workers: a command goes to the worker holding the store's stream.

Channels on the bus: `gh:store:<id>:commands` (subscribed by each worker while it holds a stream
of that store), `gh:worker:<id>:replies` (each worker's answers) and `gh:edges:close` (revocations).
A command carries its id, deadline and the waiting worker; the holder relays it to the edge and
publishes the edge's reply back. A command id seen again is not sent twice: a replay in flight is
ignored and one already answered gets the same answer again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from cloud.bus.base import Bus, BusUnavailable, Unsubscribe
from cloud.clock import Clock
from cloud.edgelink.commands import CommandReply, LinkRegistry, OutgoingCommand
from cloud.edgelink.model import EdgeOffline

logger = logging.getLogger(__name__)

CLOSE_CHANNEL = "gh:edges:close"
# a relayed command waits for the edge this much longer than asked (the waiter gives up first)
RELAY_MARGIN_S = 1.0
REMEMBERED = 1024

ROUTED = Counter(
    "gatehouse_commands_routed_total", "Commands sent through another cloud worker's stream", ["outcome"]
)


def commands_channel(store_id: str) -> str:
    """Where commands for store_id's stream are published."""
    return f"gh:store:{store_id}:commands"


def replies_channel(worker_id: str) -> str:
    """Where a worker hears the replies to the commands it routed."""
    return f"gh:worker:{worker_id}:replies"


@dataclass(frozen=True, slots=True)
class RoutedCommand:
    """A command on its way to the worker that holds the stream."""

    id: str
    store_id: str
    kind: str
    deadline: datetime
    args: dict[str, Any]
    timeout_s: float
    reply_to: str

    def outgoing(self) -> OutgoingCommand:
        """The command as the stream sends it."""
        return OutgoingCommand(id=self.id, kind=self.kind, deadline=self.deadline, args=self.args)


@dataclass(frozen=True, slots=True)
class RoutedReply:
    """A holder's answer: the edge's reply, or "offline" when the stream closed first."""

    command_id: str
    offline: bool
    reply: CommandReply | None


def encode_command(command: RoutedCommand) -> bytes:
    """A routed command as JSON bytes."""
    return json.dumps(
        {
            "id": command.id,
            "store_id": command.store_id,
            "kind": command.kind,
            "deadline": command.deadline.isoformat(),
            "args": command.args,
            "timeout_s": command.timeout_s,
            "reply_to": command.reply_to,
        }
    ).encode()


def decode_command(data: bytes) -> RoutedCommand:
    """A routed command from JSON bytes (ValueError/KeyError/TypeError on garbage)."""
    raw = json.loads(data)
    args = raw["args"]
    if not isinstance(args, dict):
        raise ValueError("args must be an object")
    deadline = datetime.fromisoformat(str(raw["deadline"]))
    if deadline.tzinfo is None:
        raise ValueError("deadline must be aware")
    return RoutedCommand(
        id=str(raw["id"]),
        store_id=str(raw["store_id"]),
        kind=str(raw["kind"]),
        deadline=deadline,
        args=args,
        timeout_s=float(raw["timeout_s"]),
        reply_to=str(raw["reply_to"]),
    )


def encode_reply(routed: RoutedReply) -> bytes:
    """A routed reply as JSON bytes."""
    reply = routed.reply
    body: dict[str, Any] = {"id": routed.command_id, "offline": routed.offline}
    if reply is not None:
        body |= {
            "ok": reply.ok,
            "code": reply.code,
            "message": reply.message,
            "result": reply.result,
            "edge_id": reply.edge_id,
        }
    return json.dumps(body).encode()


def decode_reply(data: bytes) -> RoutedReply:
    """A routed reply from JSON bytes (ValueError/KeyError/TypeError on garbage)."""
    raw = json.loads(data)
    command_id = str(raw["id"])
    if raw.get("offline"):
        return RoutedReply(command_id, True, None)
    result = raw.get("result") or {}
    if not isinstance(result, dict):
        raise ValueError("result must be an object")
    edge_id = raw.get("edge_id")
    reply = CommandReply(
        command_id=command_id,
        ok=raw["ok"] is True,
        code=str(raw["code"]),
        message=str(raw.get("message") or ""),
        result=result,
        edge_id=str(edge_id) if edge_id else None,
    )
    return RoutedReply(command_id, False, reply)


class CommandRouter:
    """The registry's `remote`: sends commands to the worker holding a stream, relays those sent here."""

    def __init__(self, bus: Bus, registry: LinkRegistry, clock: Clock) -> None:
        self._bus = bus
        self._registry = registry
        self._clock = clock
        self._pending: dict[str, asyncio.Future[CommandReply]] = {}
        self._relaying: dict[str, asyncio.Task[None]] = {}
        self._answered: OrderedDict[str, bytes] = OrderedDict()
        self._stores: dict[str, Unsubscribe] = {}
        self._own: list[Unsubscribe] = []

    async def start(self) -> None:
        """Listen for replies and revocations; take over commands of the streams already open here."""
        self._own = [
            self._bus.subscribe(replies_channel(self._bus.worker_id), self._on_reply),
            self._bus.subscribe(CLOSE_CHANNEL, self._on_close),
        ]
        self._registry.remote = self
        for store_id in self._registry.stores():
            self.held(store_id)

    async def stop(self) -> None:
        """Stop relaying; every command still waiting here learns the edge is offline."""
        if self._registry.remote is self:
            self._registry.remote = None
        for cancel in [*self._own, *self._stores.values()]:
            cancel()
        self._own, self._stores = [], {}
        tasks = list(self._relaying.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(EdgeOffline("this cloud worker is shutting down"))
        self._pending.clear()

    # ---- RemoteLinks ----

    def held(self, store_id: str) -> None:
        """Relay the store's commands through this worker."""
        if store_id not in self._stores:
            self._stores[store_id] = self._bus.subscribe(
                commands_channel(store_id), lambda data: self._on_command(data)
            )

    def released(self, store_id: str) -> None:
        """Stop relaying the store's commands."""
        cancel = self._stores.pop(store_id, None)
        if cancel is not None:
            cancel()

    def close_edge(self, edge_id: str, status: str, reason: str) -> None:
        """Ask every other worker to end the edge's streams."""
        body = {"edge_id": edge_id, "status": status, "reason": reason, "from": self._bus.worker_id}
        self._bus.publish(CLOSE_CHANNEL, json.dumps(body).encode())

    async def dispatch(
        self, store_id: str, command: OutgoingCommand, timeout_s: float
    ) -> asyncio.Future[CommandReply]:
        """Publish the command to the holder of store_id's stream; a future of its reply."""
        if not self._bus.available:
            # Our reply channel is not subscribed: the answer could not reach us.
            ROUTED.labels("bus_down").inc()
            raise EdgeOffline(
                "the store's stream is not in this worker and the bus to the others is down",
                field="store_id",
            )
        future: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()
        self._pending[command.id] = future
        routed = RoutedCommand(
            id=command.id,
            store_id=store_id,
            kind=command.kind,
            deadline=command.deadline,
            args=command.args,
            timeout_s=timeout_s,
            reply_to=self._bus.worker_id,
        )
        try:
            receivers = await self._bus.deliver(commands_channel(store_id), encode_command(routed))
        except BusUnavailable as err:
            self._pending.pop(command.id, None)
            ROUTED.labels("bus_down").inc()
            raise EdgeOffline(
                "the store's stream is not in this worker and the bus to the others is down",
                field="store_id",
            ) from err
        if receivers == 0:
            self._pending.pop(command.id, None)
            ROUTED.labels("offline").inc()
            raise EdgeOffline("no cloud worker holds a stream of this store's edge", field="store_id")
        ROUTED.labels("sent").inc()
        return future

    def forget(self, command_id: str) -> None:
        """Stop waiting for command_id."""
        self._pending.pop(command_id, None)

    # ---- bus handlers ----

    def _on_reply(self, data: bytes) -> None:
        try:
            routed = decode_reply(data)
        except (ValueError, KeyError, TypeError):
            logger.warning("malformed routed reply ignored")
            return
        future = self._pending.pop(routed.command_id, None)
        if future is None or future.done():
            return  # late (timed out here) or a repeat
        if routed.offline or routed.reply is None:
            future.set_exception(EdgeOffline("the edge disconnected before answering"))
        else:
            future.set_result(routed.reply)

    def _on_close(self, data: bytes) -> None:
        try:
            raw = json.loads(data)
            edge_id, status, reason = str(raw["edge_id"]), str(raw["status"]), str(raw["reason"])
        except (ValueError, KeyError, TypeError):
            logger.warning("malformed close request ignored")
            return
        if raw.get("from") != self._bus.worker_id:
            self._registry.close_local(edge_id, status, reason)

    def _on_command(self, data: bytes) -> None:
        try:
            command = decode_command(data)
        except (ValueError, KeyError, TypeError):
            logger.warning("malformed routed command ignored")
            return
        answered = self._answered.get(command.id)
        if answered is not None:
            self._bus.publish(replies_channel(command.reply_to), answered)
            return
        if command.id in self._relaying:
            return  # a replay of a command on its way: the edge gets it once from here
        if command.deadline <= self._clock.now():
            logger.info("routed command past its deadline dropped", extra={"command_id": command.id})
            return
        task = asyncio.create_task(self._relay(command), name=f"relay-{command.id}")
        self._relaying[command.id] = task
        task.add_done_callback(lambda _t: self._relaying.pop(command.id, None))

    async def _relay(self, command: RoutedCommand) -> None:
        log = {"command_id": command.id, "store_id": command.store_id, "kind": command.kind}
        link = self._registry.for_store(command.store_id)
        if link is None:
            self._answer(command, RoutedReply(command.id, True, None))
            return
        future = link.expect(command.id)
        link.send(command.outgoing())
        try:
            async with asyncio.timeout(command.timeout_s + RELAY_MARGIN_S):
                reply = await future
        except TimeoutError:
            link.forget(command.id)
            logger.info("relayed command not answered in time", extra=log)
            return
        except EdgeOffline:
            self._answer(command, RoutedReply(command.id, True, None))
            return
        answer = CommandReply(
            command_id=reply.command_id,
            ok=reply.ok,
            code=reply.code,
            message=reply.message,
            result=reply.result,
            edge_id=link.edge_id,
        )
        self._answer(command, RoutedReply(command.id, False, answer))
        logger.info("relayed command answered", extra={**log, "ok": reply.ok})

    def _answer(self, command: RoutedCommand, routed: RoutedReply) -> None:
        data = encode_reply(routed)
        if not routed.offline:
            self._answered[command.id] = data
            while len(self._answered) > REMEMBERED:
                self._answered.popitem(last=False)
        self._bus.publish(replies_channel(command.reply_to), data)
