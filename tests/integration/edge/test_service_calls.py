"""Customers' calls at the edge: the `service_call` command, kept once, shown live, marked done."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from edge.panel.client import live_updates
from tests.integration.edge.rig import WAIT_S, Rig

CALL = {"room_id": "r1", "reason": "order_bar", "note": "two pots of tea", "call_id": "sc-abc"}


async def call(rig: Rig, command_id: str, args: dict[str, Any]) -> tuple[bool, str, str, dict[str, Any]]:
    """Send a command and wait for its (newest) result: ok, code, message, result."""
    count = len(rig.cloud.results)
    rig.cloud.command(command_id, "service_call", args)
    await rig.cloud.wait_for(lambda: len(rig.cloud.results) > count)
    reply = rig.cloud.results[-1]
    assert reply.command_id == command_id
    return reply.ok, reply.code, reply.message, json.loads(reply.result_json or "{}")


async def test_a_service_call_is_kept_journalled_and_reported_to_the_cloud(rig: Rig) -> None:
    ok, code, _, result = await call(rig, "cmd-sc-1", CALL)
    assert (ok, code) == (True, "ok")
    assert result == {"call_id": "sc-abc", "room_id": "r1", "received_at": rig.clock.now(), "repeat": False}
    [kept] = await rig.edge.store.open_service_calls()
    assert (kept.id, kept.room_id, kept.reason, kept.note, kept.command_id) == (
        "sc-abc",
        "r1",
        "order_bar",
        "two pots of tea",
        "cmd-sc-1",
    )
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("service_call")))
    assert rig.cloud.payloads("service_call") == [{**CALL, "command_id": "cmd-sc-1"}]
    assert [e.kind for e in await rig.edge.store.journal() if e.kind == "service_call"] == ["service_call"]


async def test_a_replayed_command_answers_the_same_and_keeps_one_call(rig: Rig) -> None:
    first = await call(rig, "cmd-sc-2", CALL)
    replay = await call(rig, "cmd-sc-2", CALL)
    assert replay == first
    assert len(await rig.edge.store.open_service_calls()) == 1
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("service_call")))
    assert len([e for e in await rig.edge.store.journal() if e.kind == "service_call"]) == 1
    assert len(rig.cloud.payloads("service_call")) == 1


async def test_bad_args_or_an_unknown_room_are_refused_with_a_reason(rig: Rig) -> None:
    ok, code, message, _ = await call(rig, "cmd-sc-3", {**CALL, "reason": "free_beer"})
    assert (ok, code) == (False, "bad_args") and "reason must be one of" in message
    ok, code, message, _ = await call(rig, "cmd-sc-4", {**CALL, "note": "x" * 201})
    assert (ok, code) == (False, "bad_args") and "note" in message
    ok, code, _, _ = await call(rig, "cmd-sc-5", {**CALL, "room_id": "r9"})
    assert (ok, code) == (False, "no_such_room")
    assert await rig.edge.store.open_service_calls() == []


async def test_the_panel_shows_a_call_live_and_staff_mark_it_done(rig: Rig) -> None:
    async with rig.signed_in("desk") as http, rig.signed_in("fixer") as maintainer:
        updates = live_updates(http, "grid")
        first = await anext(updates)
        assert 'class="calls"' not in first
        await call(rig, "cmd-sc-6", CALL)
        async with asyncio.timeout(WAIT_S):
            shown = await anext(updates)
            while 'data-call="sc-abc"' not in shown:
                shown = await anext(updates)
        assert "Room 1" in shown and "Order at the bar" in shown and "two pots of tea" in shown
        room = await http.get("/rooms/r1")
        assert 'data-call="sc-abc"' in room.text and 'hx-post="/act/call-done"' in room.text
        assert [c["id"] for c in (await http.get("/api/service-calls")).json()["calls"]] == ["sc-abc"]

        refused = await maintainer.post("/api/service-calls/sc-abc/done")
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        token = http.headers.pop("X-CSRF-Token")
        forged = await http.post("/act/call-done", data={"call_id": "sc-abc"})
        assert forged.status_code == 403
        done = await http.post("/act/call-done", data={"call_id": "sc-abc", "csrf_token": token})
        assert 'data-reason="ok"' in done.text
        async with asyncio.timeout(WAIT_S):
            while 'data-call="sc-abc"' in await anext(updates):
                pass
        http.headers["X-CSRF-Token"] = token
        again = (await http.post("/api/service-calls/sc-abc/done")).json()
        unknown = (await http.post("/api/service-calls/sc-nope/done")).json()
        assert (again["ok"], again["reason"]) == (False, "already_done")
        assert (unknown["ok"], unknown["reason"]) == (False, "unknown_call")
        assert (await http.get("/api/service-calls")).json()["calls"] == []
        await updates.aclose()
    kept = await rig.edge.store.service_call("sc-abc")
    assert kept is not None and kept.done_by == "desk" and kept.done_at == rig.clock.now()
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("staff_action")))
    [answered] = [p for p in rig.cloud.payloads("staff_action") if p["action"] == "answer_call"]
    assert (answered["username"], answered["call_id"], answered["ok"]) == ("desk", "sc-abc", True)
