"""Fault work orders over the real cloud: opened once per fault, routed, worked, resolved at the edge."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from cloud.audit.tables import AuditEntry
from cloud.bootstrap import CloudServer
from protos import edgelink_pb2 as pb
from tests.integration.cloud.conftest import StoreIds, Tenant, wait_until
from tests.integration.cloud.edge_client import EdgeLinkClient, Identity, enroll_new


@pytest.fixture
async def edge(cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds) -> Identity:
    """An enrolled edge of store A."""
    response = await tenant_a.api.post(f"/api/v1/stores/{store_a.store_id}/edges")
    assert response.status_code == 201, response.text
    body = response.json()
    return await enroll_new(body["enroll_target"], body["ca_pem"].encode(), body["bootstrap_token"])


async def connect(cloud: CloudServer, identity: Identity) -> EdgeLinkClient:
    """A stream past its Welcome and first StoreData."""
    client = EdgeLinkClient(cloud.grpc_target, cloud.ca_pem, identity)
    await client.hello(identity.store_id, 0, identity.edge_id)
    assert (await client.recv()).WhichOneof("body") == "welcome"
    assert (await client.recv()).WhichOneof("body") == "store_data"
    return client


def fault(fault_id: str, room_id: str, severity: str = "critical", code: str = "jammed") -> dict[str, Any]:
    """A `fault` event payload as the edge writes it."""
    return {
        "fault_id": fault_id,
        "device_id": "lock-1",
        "device_kind": "lock",
        "room_id": room_id,
        "code": code,
        "severity": severity,
        "audience": "hq_and_maintainer",
        "message": "bolt stuck",
    }


async def report(client: EdgeLinkClient, *events: tuple[int, str, dict[str, Any]]) -> None:
    await client.send_events(*events)
    await client.recv_kind("event_ack")


async def orders(tenant: Tenant, **params: str) -> list[dict[str, Any]]:
    response = await tenant.api.get("/api/v1/work-orders", params=params)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def answer_commands(client: EdgeLinkClient, seen: list[pb.Command], room_state: str = "free") -> None:
    """Play the edge: answer every resolve_fault as done."""
    while True:
        message = await client.recv_kind("command", within=30)
        seen.append(message.command)
        args = json.loads(message.command.args_json)
        result = {
            "fault_id": args["fault_id"],
            "known": True,
            "room_id": args["room_id"],
            "room_state": room_state,
        }
        await client.send(
            pb.EdgeMessage(
                command_result=pb.CommandResult(
                    command_id=message.command.id, ok=True, code="ok", result_json=json.dumps(result)
                )
            )
        )


async def test_each_fault_opens_one_work_order_routed_by_region_and_severity(
    cloud: CloudServer, tenant_a: Tenant, tenant_b: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    async with await connect(cloud, edge) as client:
        await report(
            client,
            (1, "fault", fault("f-lock", store_a.room_id)),
            (2, "fault", fault("f-light", store_a.room_id, "minor", "timeout")),
        )
        await report(
            client,
            (1, "fault", fault("f-lock", store_a.room_id)),
            (3, "fault", fault("f-lock", store_a.room_id)),
        )
    listed = {o["fault_id"]: o for o in await orders(tenant_a)}
    assert sorted(listed) == ["f-light", "f-lock"]
    lock, light = listed["f-lock"], listed["f-light"]
    assert (lock["state"], lock["assignee_role"], lock["hq_alert"], lock["region_id"]) == (
        "open",
        "maintainer",
        True,
        store_a.region_id,
    )
    assert (light["assignee_role"], light["hq_alert"]) == ("store_manager", False)
    assert [o["fault_id"] for o in await orders(tenant_a, assignee_role="maintainer")] == ["f-lock"]
    assert await orders(tenant_b) == []
    other = await tenant_b.api.get(f"/api/v1/work-orders/{lock['id']}")
    assert other.status_code == 404
    events = (await tenant_a.api.get(f"/api/v1/stores/{store_a.store_id}/events")).json()
    assert {e["seq"]: e["outcome"] for e in events if e["kind"] == "fault"} == {
        1: "applied",
        2: "applied",
        3: "applied",
    }


async def test_a_work_order_goes_open_assigned_in_progress_resolved_and_the_edge_is_told(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    async with await connect(cloud, edge) as client:
        await report(client, (1, "fault", fault("f1", store_a.room_id)))
        [order] = await orders(tenant_a)
        base = f"/api/v1/work-orders/{order['id']}"
        early = await tenant_a.api.post(f"{base}/resolve", json={"resolution": "?"})
        assert (early.status_code, early.json()["code"]) == (409, "illegal_transition")
        assigned = await tenant_a.api.post(f"{base}/assign", json={"assignee": "Li Wei (maintainer)"})
        assert assigned.json()["state"] == "assigned"
        started = await tenant_a.api.post(f"{base}/start")
        assert started.json()["state"] == "in_progress"
        seen: list[pb.Command] = []
        edge_side = asyncio.create_task(answer_commands(client, seen))
        try:
            resolved = await tenant_a.api.post(f"{base}/resolve", json={"resolution": "bolt replaced"})
        finally:
            edge_side.cancel()
        body = resolved.json()
        assert (body["state"], body["resolution"], body["edge_sync"]) == ("resolved", "bolt replaced", "done")
        assert [(c.kind, json.loads(c.args_json)) for c in seen] == [
            ("resolve_fault", {"room_id": store_a.room_id, "fault_id": "f1"})
        ]
    async with cloud.sessionmaker() as session:
        actions = [
            a.action
            for a in await session.scalars(
                select(AuditEntry).where(AuditEntry.entity_id == order["id"]).order_by(AuditEntry.id)
            )
        ]
    assert actions == [
        "work_order.open",
        "work_order.assign",
        "work_order.start",
        "work_order.resolve",
    ]


async def test_a_resolution_made_while_the_edge_is_offline_reaches_it_when_it_reconnects(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    async with await connect(cloud, edge) as client:
        await report(client, (1, "fault", fault("f1", store_a.room_id)))
    [order] = await orders(tenant_a)
    base = f"/api/v1/work-orders/{order['id']}"
    await tenant_a.api.post(f"{base}/assign", json={"assignee": "Li Wei"})
    await tenant_a.api.post(f"{base}/start")
    offline = (await tenant_a.api.post(f"{base}/resolve", json={"resolution": "fixed"})).json()
    assert (offline["state"], offline["edge_sync"], offline["edge_sync_code"]) == (
        "resolved",
        "pending",
        "edge_offline",
    )

    seen: list[pb.Command] = []
    async with await connect(cloud, edge) as client:
        edge_side = asyncio.create_task(answer_commands(client, seen))
        try:

            async def synced() -> bool:
                return (await tenant_a.api.get(base)).json()["edge_sync"] == "done"

            await wait_until(synced, within=15)
        finally:
            edge_side.cancel()
    assert [json.loads(c.args_json)["fault_id"] for c in seen] == ["f1"]


async def test_a_forced_command_needs_a_reason_and_is_audited(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    url = f"/api/v1/stores/{store_a.store_id}/commands"
    unreasoned = await tenant_a.api.post(
        url, json={"kind": "unlock", "args": {"room_id": store_a.room_id, "force": True}}
    )
    assert (unreasoned.status_code, unreasoned.json()["code"]) == (422, "reason_required")
    forced = await tenant_a.api.post(
        url,
        json={
            "kind": "unlock",
            "args": {"room_id": store_a.room_id, "force": True, "reason": "guest unwell"},
        },
    )
    assert forced.json()["code"] == "edge_offline"  # refused for want of an edge, yet audited
    async with cloud.sessionmaker() as session:
        rows = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "command.force")))
    assert len(rows) == 1
    assert rows[0].after is not None and rows[0].after["reason"] == "guest unwell"
