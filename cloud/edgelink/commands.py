"""Live links of this process (one per connected edge) and remote commands routed over them.

A command for a store whose stream another worker holds goes through `LinkRegistry.remote` (the
command router of cloud.edgelink.routing) to that worker; the result is recorded here all the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud import metrics
from cloud.audit.services import record_audit
from cloud.auth.model import Principal
from cloud.clock import Clock
from cloud.edgelink.model import (
    CommandStatus,
    EdgeOffline,
    EdgeTimeout,
    FeedBatch,
    check_command,
    check_force,
)
from cloud.edgelink.tables import EdgeCommand
from cloud.tenancy.services import get_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutgoingAck:
    """Acknowledge these event seqs."""

    seqs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OutgoingCommand:
    """A command to send to the edge."""

    id: str
    kind: str
    deadline: datetime
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CloseLink:
    """End the stream; `status` names the gRPC status to end it with (None: a plain end)."""

    status: str | None
    reason: str


Outgoing = FeedBatch | OutgoingAck | OutgoingCommand | CloseLink


@dataclass(frozen=True, slots=True)
class CommandReply:
    """An edge's answer to a command."""

    command_id: str
    ok: bool
    code: str
    message: str
    result: dict[str, Any]
    # the edge that answered (set when the answer came from another worker's stream)
    edge_id: str | None = None


def parse_result(text: str) -> dict[str, Any]:
    """A command's result_json as a dict (anything else is kept under "raw")."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text[:4000]}
    return value if isinstance(value, dict) else {"value": value}


@dataclass(eq=False)
class Link:
    """One open stream of an edge: its outgoing queue and the commands awaiting a result."""

    edge_id: str
    store_id: str
    outbox: asyncio.Queue[Outgoing] = field(default_factory=asyncio.Queue)
    cursor: int = 0
    closing: CloseLink | None = None
    _pending: dict[str, asyncio.Future[CommandReply]] = field(default_factory=dict)

    def send(self, item: Outgoing) -> None:
        """Queue a message for the stream's writer."""
        self.outbox.put_nowait(item)

    def close(self, status: str | None, reason: str) -> None:
        """End the stream at once (before anything still queued)."""
        if self.closing is None:
            self.closing = CloseLink(status, reason)
        self.outbox.put_nowait(self.closing)

    def expect(self, command_id: str) -> asyncio.Future[CommandReply]:
        """A future resolved by the edge's CommandResult for command_id."""
        future: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        return future

    def forget(self, command_id: str) -> None:
        """Stop waiting for command_id."""
        self._pending.pop(command_id, None)

    def resolve(self, reply: CommandReply) -> bool:
        """Hand a CommandResult to its waiter; False when nobody waits (late or unknown)."""
        future = self._pending.pop(reply.command_id, None)
        if future is None or future.done():
            return False
        future.set_result(reply)
        return True

    def fail_pending(self) -> None:
        """The stream ended: every waiting command learns the edge went offline."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(EdgeOffline("the edge disconnected before answering"))
        self._pending.clear()


class RemoteLinks(Protocol):
    """The streams of the other cloud workers, reached through the fan-out bus."""

    def held(self, store_id: str) -> None:
        """A stream of store_id opened in this process (route its commands here)."""
        ...

    def released(self, store_id: str) -> None:
        """The last stream of store_id in this process closed."""
        ...

    def close_edge(self, edge_id: str, status: str, reason: str) -> None:
        """Tell the other workers to end the edge's streams."""
        ...

    async def dispatch(
        self, store_id: str, command: OutgoingCommand, timeout_s: float
    ) -> asyncio.Future[CommandReply]:
        """Hand the command to the worker holding store_id's stream; a future of its reply.

        Raises EdgeOffline when no worker holds the stream (or the bus is down).
        """
        ...

    def forget(self, command_id: str) -> None:
        """Stop waiting for command_id's reply."""
        ...


class LinkRegistry:
    """The links open in this process, by store and by edge (the newest link of a store wins)."""

    def __init__(self) -> None:
        self._by_store: dict[str, list[Link]] = {}
        # the other workers' streams (None: this process is the only cloud worker)
        self.remote: RemoteLinks | None = None

    def add(self, link: Link) -> None:
        """Register an opened stream."""
        links = self._by_store.setdefault(link.store_id, [])
        links.append(link)
        if len(links) == 1 and self.remote is not None:
            self.remote.held(link.store_id)

    def remove(self, link: Link) -> None:
        """Forget a closed stream."""
        links = self._by_store.get(link.store_id, [])
        if link in links:
            links.remove(link)
        if not links and self._by_store.pop(link.store_id, None) is not None and self.remote is not None:
            self.remote.released(link.store_id)

    def stores(self) -> list[str]:
        """The stores with a stream open in this process."""
        return list(self._by_store)

    def for_store(self, store_id: str) -> Link | None:
        """The store's newest open link in this process."""
        links = self._by_store.get(store_id)
        return links[-1] if links else None

    def for_edge(self, edge_id: str) -> list[Link]:
        """Every open link of an edge in this process."""
        return [link for links in self._by_store.values() for link in links if link.edge_id == edge_id]

    def close_edge(self, edge_id: str, status: str, reason: str) -> int:
        """End every stream of an edge now, in every worker; return how many were in this process."""
        if self.remote is not None:
            self.remote.close_edge(edge_id, status, reason)
        return self.close_local(edge_id, status, reason)

    def close_local(self, edge_id: str, status: str, reason: str) -> int:
        """End every stream of an edge in this process; return how many."""
        links = self.for_edge(edge_id)
        for link in links:
            link.close(status, reason)
        return len(links)

    def close_all(self, reason: str) -> None:
        """End every stream (shutdown)."""
        for links in list(self._by_store.values()):
            for link in links:
                link.close(None, reason)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_store.values())


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """A command's final record."""

    id: str
    status: CommandStatus
    ok: bool
    code: str
    message: str
    result: dict[str, Any]


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    command_id: str,
    status: CommandStatus,
    reply: CommandReply | None,
) -> None:
    async with sessionmaker() as session:
        row = await session.get(EdgeCommand, command_id)
        if row is None:
            return
        row.status = status.value
        row.completed_at = clock.now()
        if reply is not None:
            row.code, row.message, row.result = reply.code, reply.message, reply.result
            if row.edge_id is None and reply.edge_id:
                row.edge_id = reply.edge_id
        else:
            row.code = status.value
        await session.commit()


async def run_command(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    registry: LinkRegistry,
    principal: Principal,
    *,
    store_id: str,
    kind: str,
    args: dict[str, Any],
    timeout_s: float,
) -> CommandOutcome:
    """Send a command over the store's stream and wait for its result (recorded in this worker).

    The stream may be held by this process or, through `registry.remote`, by another worker.
    """
    kind, timeout_s = check_command(kind, timeout_s)
    forced = check_force(args)
    command_id = str(uuid.uuid4())
    now = clock.now()
    deadline = now + timedelta(seconds=timeout_s)
    async with sessionmaker() as session:
        store = await get_store(session, principal, store_id)
        link = registry.for_store(store.id)
        remote = registry.remote if link is None else None
        reachable = link is not None or remote is not None
        status = CommandStatus.PENDING if reachable else CommandStatus.OFFLINE
        session.add(
            EdgeCommand(
                id=command_id,
                tenant_id=principal.tenant_id,
                store_id=store.id,
                edge_id=link.edge_id if link else None,
                kind=kind,
                args=args,
                actor=principal.actor,
                created_at=now,
                deadline=deadline,
                status=status.value,
                code=None if reachable else CommandStatus.OFFLINE.value,
                message=None,
                result=None,
                completed_at=None if reachable else now,
            )
        )
        record_audit(
            session,
            at=now,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            action="command.send",
            entity="command",
            entity_id=command_id,
            after={"store_id": store.id, "kind": kind, "args": args},
        )
        if forced is not None:
            # HQ overrode an occupied room: its own audit row, with the reason, whatever the outcome.
            record_audit(
                session,
                at=now,
                tenant_id=principal.tenant_id,
                actor=principal.actor,
                action="command.force",
                entity="command",
                entity_id=command_id,
                after={"store_id": store.id, "kind": kind, "room_id": args.get("room_id"), "reason": forced},
            )
        await session.commit()
    command = OutgoingCommand(id=command_id, kind=kind, deadline=deadline, args=args)
    loop = asyncio.get_running_loop()
    started = loop.time()
    if link is not None:
        future = link.expect(command_id)
        link.send(command)
    elif remote is not None:
        try:
            future = await remote.dispatch(store.id, command, timeout_s)
        except EdgeOffline:
            await _finish(sessionmaker, clock, command_id, CommandStatus.OFFLINE, None)
            raise
    else:
        raise EdgeOffline("no live stream of this store's edge in this cloud", field="store_id")
    try:
        async with asyncio.timeout(timeout_s):
            reply = await future
    except TimeoutError as err:
        if link is not None:
            link.forget(command_id)
        elif remote is not None:
            remote.forget(command_id)
        await _finish(sessionmaker, clock, command_id, CommandStatus.TIMEOUT, None)
        raise EdgeTimeout(f"the edge did not answer within {timeout_s:g} s") from err
    except EdgeOffline:
        await _finish(sessionmaker, clock, command_id, CommandStatus.OFFLINE, None)
        raise
    metrics.COMMAND_LATENCY.observe(loop.time() - started)
    final = CommandStatus.OK if reply.ok else CommandStatus.FAILED
    await _finish(sessionmaker, clock, command_id, final, reply)
    logger.info(
        "command answered",
        extra={
            "command_id": command_id,
            "store_id": store_id,
            "kind": kind,
            "ok": reply.ok,
            "code": reply.code,
        },
    )
    return CommandOutcome(command_id, final, reply.ok, reply.code, reply.message, reply.result)
