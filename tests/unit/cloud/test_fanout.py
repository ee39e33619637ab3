"""The in-process bus between simulated workers: feed wake-ups and command routing, replays included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from cloud.bus import LocalBus, LocalHub
from cloud.clock import FakeClock
from cloud.edgelink.commands import CommandReply, Link, LinkRegistry, OutgoingCommand
from cloud.edgelink.model import EdgeOffline
from cloud.edgelink.notifier import FeedNotifier
from cloud.edgelink.routing import (
    CommandRouter,
    RoutedCommand,
    RoutedReply,
    commands_channel,
    decode_command,
    decode_reply,
    encode_command,
    encode_reply,
)

NOW = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class Worker:
    """One simulated cloud worker: its bus, registry and router."""

    bus: LocalBus
    registry: LinkRegistry
    router: CommandRouter


@pytest.fixture
async def workers() -> AsyncIterator[tuple[Worker, Worker]]:
    """Workers A and B on one hub."""
    hub, clock = LocalHub(), FakeClock(NOW)
    made = []
    for name in ("a", "b"):
        bus = LocalBus(hub, worker_id=name)
        registry = LinkRegistry()
        router = CommandRouter(bus, registry, clock)
        await router.start()
        made.append(Worker(bus, registry, router))
    yield made[0], made[1]
    for worker in made:
        await worker.router.stop()
        await worker.bus.stop()


def _command(command_id: str = "c-1") -> OutgoingCommand:
    return OutgoingCommand(command_id, "unlock", NOW + timedelta(seconds=10), {"room_id": "r-1"})


async def test_a_change_in_one_worker_wakes_the_streams_of_that_store_in_every_worker() -> None:
    hub = LocalHub()
    here, there = FeedNotifier(LocalBus(hub, "a")), FeedNotifier(LocalBus(hub, "b"))
    watching, elsewhere = there.subscribe("s-1"), there.subscribe("s-2")
    here.changed("s-1")
    assert await watching.wait(0.01) and not await elsewhere.wait(0.01)
    watching.close()
    here.changed("s-1")
    assert not await watching.wait(0.01)


async def test_a_command_reaches_the_worker_holding_the_stream_and_its_reply_comes_back(
    workers: tuple[Worker, Worker],
) -> None:
    a, b = workers
    link = Link(edge_id="e-1", store_id="s-1")
    a.registry.add(link)
    future = await b.router.dispatch("s-1", _command(), timeout_s=5)
    await asyncio.sleep(0)  # the relay task starts
    sent = link.outbox.get_nowait()
    assert isinstance(sent, OutgoingCommand) and sent.id == "c-1" and sent.args == {"room_id": "r-1"}
    assert link.resolve(CommandReply("c-1", True, "ok", "opened", {"n": 1}))
    reply = await asyncio.wait_for(future, 1)
    assert (reply.ok, reply.code, reply.result, reply.edge_id) == (True, "ok", {"n": 1}, "e-1")


async def test_a_replayed_command_is_not_sent_twice_and_gets_the_same_answer(
    workers: tuple[Worker, Worker],
) -> None:
    a, b = workers
    link = Link(edge_id="e-1", store_id="s-1")
    a.registry.add(link)
    first = await b.router.dispatch("s-1", _command(), timeout_s=5)
    await asyncio.sleep(0)
    link.outbox.get_nowait()
    link.resolve(CommandReply("c-1", True, "ok", "", {}))
    await asyncio.wait_for(first, 1)
    again = await b.router.dispatch("s-1", _command(), timeout_s=5)
    await asyncio.sleep(0)
    assert link.outbox.empty()
    assert (await asyncio.wait_for(again, 1)).ok


async def test_no_worker_holding_the_store_means_offline_and_a_closing_stream_tells_the_waiter(
    workers: tuple[Worker, Worker],
) -> None:
    a, b = workers
    with pytest.raises(EdgeOffline):
        await b.router.dispatch("s-1", _command(), timeout_s=5)
    link = Link(edge_id="e-1", store_id="s-1")
    a.registry.add(link)
    future = await b.router.dispatch("s-1", _command("c-2"), timeout_s=5)
    await asyncio.sleep(0)
    a.registry.remove(link)
    link.fail_pending()
    with pytest.raises(EdgeOffline):
        await asyncio.wait_for(future, 1)
    with pytest.raises(EdgeOffline):  # the store's channel was released with its last stream
        await b.router.dispatch("s-1", _command("c-3"), timeout_s=5)
    assert await b.bus.deliver(commands_channel("s-1"), b"{}") == 0


async def test_a_command_past_its_deadline_is_not_sent(workers: tuple[Worker, Worker]) -> None:
    a, b = workers
    link = Link(edge_id="e-1", store_id="s-1")
    a.registry.add(link)
    late = OutgoingCommand("c-9", "unlock", NOW - timedelta(seconds=1), {})
    await b.router.dispatch("s-1", late, timeout_s=5)
    await asyncio.sleep(0)
    assert link.outbox.empty()


async def test_revoking_an_edge_closes_its_streams_in_the_other_workers(
    workers: tuple[Worker, Worker],
) -> None:
    a, b = workers
    link = Link(edge_id="e-1", store_id="s-1")
    a.registry.add(link)
    assert b.registry.close_edge("e-1", "PERMISSION_DENIED", "edge revoked") == 0
    assert link.closing is not None and link.closing.status == "PERMISSION_DENIED"


def test_routed_messages_survive_their_encoding_and_garbage_is_refused() -> None:
    command = RoutedCommand("c-1", "s-1", "unlock", NOW, {"room_id": "r"}, 2.5, "w-b")
    assert decode_command(encode_command(command)) == command
    reply = RoutedReply("c-1", False, CommandReply("c-1", False, "jammed", "no", {"x": 1}, "e-1"))
    assert decode_reply(encode_reply(reply)) == reply
    assert decode_reply(encode_reply(RoutedReply("c-1", True, None))).offline
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode_command(b'{"id": "c"}')
