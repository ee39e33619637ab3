"""In-process link plumbing: the feed notifier and the registry of live streams."""

from __future__ import annotations

import asyncio

import pytest

from cloud.edgelink.commands import CommandReply, Link, LinkRegistry, OutgoingAck, parse_result
from cloud.edgelink.model import EdgeOffline
from cloud.edgelink.notifier import FeedNotifier


async def test_a_change_wakes_only_that_stores_subscriptions() -> None:
    notifier = FeedNotifier()
    mine, other = notifier.subscribe("s-1"), notifier.subscribe("s-2")
    notifier.changed("s-1")
    assert await mine.wait(1.0) is True
    assert await other.wait(0.01) is False
    mine.close()
    notifier.changed("s-1")
    assert not mine.event.is_set()


async def test_a_change_before_waiting_is_not_lost() -> None:
    notifier = FeedNotifier()
    sub = notifier.subscribe("s-1")
    notifier.changed("s-1")
    notifier.changed("s-1")
    assert await sub.wait(1.0) is True
    assert await sub.wait(0.01) is False


async def test_a_command_result_reaches_its_waiter_once() -> None:
    link = Link(edge_id="e-1", store_id="s-1")
    future = link.expect("c-1")
    reply = CommandReply("c-1", True, "ok", "", {})
    assert link.resolve(reply) is True
    assert await future == reply
    assert link.resolve(reply) is False


async def test_waiting_commands_learn_when_the_link_drops() -> None:
    link = Link(edge_id="e-1", store_id="s-1")
    future = link.expect("c-1")
    link.fail_pending()
    with pytest.raises(EdgeOffline):
        await future


async def test_a_closed_link_tells_its_writer_why_and_how() -> None:
    link = Link(edge_id="e-1", store_id="s-1")
    link.send(OutgoingAck((1,)))
    link.close("PERMISSION_DENIED", "edge revoked")
    assert link.closing is not None and link.closing.status == "PERMISSION_DENIED"
    assert isinstance(await asyncio.wait_for(link.outbox.get(), 1), OutgoingAck)


def test_the_registry_routes_to_the_newest_link_of_a_store() -> None:
    registry = LinkRegistry()
    old, new = Link(edge_id="e-1", store_id="s-1"), Link(edge_id="e-2", store_id="s-1")
    registry.add(old)
    registry.add(new)
    assert registry.for_store("s-1") is new
    assert registry.close_edge("e-1", "PERMISSION_DENIED", "revoked") == 1
    registry.remove(new)
    assert registry.for_store("s-1") is old
    registry.remove(old)
    assert registry.for_store("s-1") is None and len(registry) == 0


def test_command_results_parse_to_a_dict() -> None:
    assert parse_result('{"a": 1}') == {"a": 1}
    assert parse_result("") == {}
    assert parse_result("[1]") == {"value": [1]}
    assert parse_result("oops") == {"raw": "oops"}
