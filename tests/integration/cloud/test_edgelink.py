"""The EdgeLink gRPC service over real mTLS with the generated stubs: enrolment, stream, events, commands."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from cloud.bootstrap import CloudServer
from cloud.clock import FakeClock
from cloud.edgelink.ca import EdgeCA
from cloud.edgelink.services import EnrolRefused, enrol
from cloud.edgelink.tables import EdgeCommand, EdgeEvent
from cloud.storekeys import keyring
from protos import edgelink_pb2 as pb
from tests.integration.cloud.conftest import StoreIds, Tenant, cloud_settings, future_day, wait_until
from tests.integration.cloud.edge_client import EdgeLinkClient, Identity, enroll, enroll_new, make_csr

CUSTOMER = {"customer_name": "Wang Fang", "phone": "13700004321"}
SLOT = {"starts_at": f"{future_day()}T10:00:00+00:00", "ends_at": f"{future_day()}T11:00:00+00:00"}


@dataclass
class NewEdge:
    """An edge registered through the API, with its bootstrap token."""

    edge_id: str
    token: str
    ca_pem: bytes
    target: str
    enroll_target: str


async def new_edge(tenant: Tenant, store_id: str) -> NewEdge:
    """POST /api/v1/stores/{id}/edges."""
    response = await tenant.api.post(f"/api/v1/stores/{store_id}/edges")
    assert response.status_code == 201, response.text
    body = response.json()
    return NewEdge(
        body["edge_id"],
        body["bootstrap_token"],
        body["ca_pem"].encode(),
        body["grpc_target"],
        body["enroll_target"],
    )


@pytest.fixture
async def edge(cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds) -> Identity:
    """An enrolled edge of store A."""
    created = await new_edge(tenant_a, store_a.store_id)
    return await enroll_new(created.enroll_target, created.ca_pem, created.token)


async def connect(
    cloud: CloudServer, identity: Identity, last_cursor: int = 0
) -> tuple[EdgeLinkClient, pb.StoreData]:
    """Open a stream, say Hello, read Welcome and the first StoreData."""
    client = EdgeLinkClient(cloud.grpc_target, cloud.ca_pem, identity)
    await client.hello(identity.store_id, last_cursor, identity.edge_id)
    welcome = await client.recv()
    assert welcome.WhichOneof("body") == "welcome"
    assert welcome.welcome.store_id == identity.store_id
    data = await client.recv()
    assert data.WhichOneof("body") == "store_data"
    return client, data.store_data


async def test_enrolment_signs_a_cert_for_the_edge_id_and_hands_over_the_store_keys_once(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    created = await new_edge(tenant_a, store_a.store_id)
    assert created.ca_pem == cloud.ca_pem and created.target == cloud.grpc_target
    assert created.enroll_target == cloud.enroll_target
    identity = await enroll_new(created.enroll_target, created.ca_pem, created.token)
    assert (identity.edge_id, identity.store_id) == (created.edge_id, store_a.store_id)
    cert = x509.load_pem_x509_certificate(identity.cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == created.edge_id
    async with cloud.sessionmaker() as session:
        assert identity.store_keys == await keyring.load_keys(session, cloud.cipher, store_a.store_id)

    with pytest.raises(grpc.aio.AioRpcError) as second:
        await enroll_new(created.enroll_target, created.ca_pem, created.token)
    assert second.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await enroll_new(created.enroll_target, created.ca_pem, "ghb_not-a-token")
    assert unknown.value.code() == grpc.StatusCode.UNAUTHENTICATED
    edges = (await tenant_a.api.get(f"/api/v1/stores/{store_a.store_id}/edges")).json()
    assert edges[0]["enrolled_at"] is not None and edges[0]["software_version"] == "test-edge/1"


async def test_a_bad_csr_does_not_use_up_the_token(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    created = await new_edge(tenant_a, store_a.store_id)
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await enroll(created.enroll_target, created.ca_pem, created.token, b"not a csr")
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, csr = make_csr()
    response = await enroll(created.enroll_target, created.ca_pem, created.token, csr)
    assert response.edge_id == created.edge_id


async def test_an_expired_bootstrap_token_is_refused(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds
) -> None:
    created = await new_edge(tenant_a, store_a.store_id)
    later = FakeClock(cloud.clock.now() + timedelta(hours=25))
    ca = EdgeCA.load_or_create(cloud.settings.data_dir, later.now())
    _, csr = make_csr()
    async with cloud.sessionmaker() as session:
        with pytest.raises(EnrolRefused) as refused:
            await enrol(
                session,
                later,
                cloud.cipher,
                ca,
                bootstrap_token=created.token,
                csr_pem=csr,
                software_version="",
            )
    assert refused.value.code == "token_expired"


async def test_the_link_port_refuses_a_connection_without_a_client_certificate(
    cloud: CloudServer, store_a: StoreIds
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async with EdgeLinkClient(cloud.grpc_target, cloud.ca_pem, None) as client:
            await client.hello(store_a.store_id)
            await client.recv()
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_connect_on_the_enrolment_port_is_unauthenticated(
    cloud: CloudServer, store_a: StoreIds
) -> None:
    async with EdgeLinkClient(cloud.enroll_target, cloud.ca_pem, None) as client:
        await client.hello(store_a.store_id)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.recv()
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_certificate_from_another_ca_fails_the_tls_handshake(
    cloud: CloudServer, edge: Identity
) -> None:
    stranger = EdgeCA.create(cloud.clock.now())
    key_pem, csr_pem = make_csr()
    forged = stranger.sign_csr(csr_pem, edge.edge_id, cloud.clock.now())
    identity = Identity(edge.edge_id, edge.store_id, key_pem, forged.pem, cloud.ca_pem, {})
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async with EdgeLinkClient(cloud.grpc_target, cloud.ca_pem, identity) as client:
            await client.hello(edge.store_id)
            await client.recv()
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_hello_gets_welcome_and_a_snapshot_of_the_store(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    api = tenant_a.api
    await api.post(
        "/api/v1/devices",
        json={
            "id": "pw-1",
            "room_id": store_a.room_id,
            "kind": "power",
            "protocol": "modbus",
            "config": {"host": "127.0.0.1", "port": "5020", "unit": "1"},
        },
    )
    booking = (
        await api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER})
    ).json()
    client, data = await connect(cloud, edge)
    async with client:
        assert data.snapshot and data.cursor == 5
        kinds = [c.WhichOneof("item") for c in data.changes]
        assert kinds == ["store", "room", "room", "device", "booking"]
        store = data.changes[0].store
        assert (store.id, store.early_grace_s, list(store.key_versions)) == (store_a.store_id, 900, [1])
        device = data.changes[3].device
        assert (device.id, device.room_id, device.protocol, dict(device.config)["port"]) == (
            "pw-1",
            store_a.room_id,
            "modbus",
            "5020",
        )
        b = data.changes[4].booking
        assert (b.ref, b.status, b.phone_last4, b.order_no) == (
            booking["ref"],
            "confirmed",
            "4321",
            booking["order_no"],
        )
        assert b.ends_at - b.starts_at == 3600
        edges = (await api.get(f"/api/v1/stores/{store_a.store_id}/edges")).json()
        assert edges[0]["connected"] is True

    async def disconnected() -> bool:
        return not (await api.get(f"/api/v1/stores/{store_a.store_id}/edges")).json()[0]["connected"]

    # The cloud records the disconnection right after the stream ends, off the request path.
    await wait_until(disconnected, within=5)


async def test_changes_arrive_as_deltas_and_a_reconnect_resumes_from_its_cursor(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    client, data = await connect(cloud, edge)
    async with client:
        booking = (
            await tenant_a.api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER})
        ).json()
        delta = (await client.recv_kind("store_data", within=3)).store_data
        assert not delta.snapshot and delta.cursor == data.cursor + 1
        assert [c.booking.ref for c in delta.changes] == [booking["ref"]]
        await tenant_a.api.post(f"/api/v1/bookings/{booking['ref']}/cancel")
        revoked = (await client.recv_kind("store_data", within=3)).store_data
        assert revoked.changes[0].booking.status == "cancelled"
        last = revoked.cursor
    await tenant_a.api.post(
        "/api/v1/rooms", json={"store_id": store_a.store_id, "name": "Tea 1", "kind": "tea"}
    )
    client, resumed = await connect(cloud, edge, last_cursor=last)
    async with client:
        assert not resumed.snapshot and [c.room.name for c in resumed.changes] == ["Tea 1"]
    client, fresh = await connect(cloud, edge, last_cursor=last + 1000)
    async with client:
        assert fresh.snapshot


async def test_events_are_ingested_exactly_once_and_acked_every_time(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    client, _ = await connect(cloud, edge)
    events = [
        (1, "device_state", {"device_id": "pw-1", "state": "on"}),
        (
            2,
            "fault",
            {
                "device_id": "pw-1",
                "room_id": store_a.room_id,
                "code": "x",
                "severity": "minor",
                "message": "",
            },
        ),
        (3, "something_new", {"a": 1}),
        (4, "session", "{not json"),
    ]
    async with client:
        await client.send_events(*events)
        first = await client.recv_kind("event_ack")
        await client.send_events(*events)
        second = await client.recv_kind("event_ack")
    assert list(first.event_ack.seqs) == list(second.event_ack.seqs) == [1, 2, 3, 4]
    async with cloud.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(EdgeEvent).where(EdgeEvent.edge_id == edge.edge_id)
        )
    assert count == 4
    listed = (
        await tenant_a.api.get(f"/api/v1/stores/{store_a.store_id}/events", params={"limit": 10})
    ).json()
    assert [e["seq"] for e in listed] == [4, 3, 2, 1]
    outcomes = {e["seq"]: e["outcome"] for e in listed}
    assert outcomes == {1: "stored", 2: "applied", 3: "stored", 4: "invalid"}  # a fault opens a work order
    metrics = (await tenant_a.api.get("/metrics")).text
    assert "gatehouse_edge_events_duplicate_total" in metrics


async def test_a_redemption_event_marks_the_booking_redeemed_and_unknown_ones_are_flagged(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    booking = (
        await tenant_a.api.post("/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER})
    ).json()
    client, _ = await connect(cloud, edge)
    redemption = {
        "booking_ref": booking["ref"],
        "room_id": store_a.room_id,
        "method": "code",
        "known": True,
        "key_version": 1,
        "device_id": "scanner-1",
    }
    stranger = {**redemption, "booking_ref": "BOFFLINE0001", "known": False}
    async with client:
        await client.send_events(
            (7, "redemption", redemption), (8, "redemption", stranger), (9, "redemption", {"x": 1})
        )
        assert list((await client.recv_kind("event_ack")).event_ack.seqs) == [7, 8, 9]
        status_change = (await client.recv_kind("store_data", within=3)).store_data
        assert status_change.changes[0].booking.status == "redeemed"
        await client.send_events((7, "redemption", redemption))
        await client.recv_kind("event_ack")
    fetched = (await tenant_a.api.get(f"/api/v1/bookings/{booking['ref']}")).json()
    assert fetched["status"] == "redeemed"
    redemptions = (await tenant_a.api.get(f"/api/v1/stores/{store_a.store_id}/redemptions")).json()
    assert [(r["booking_ref"], r["known_to_cloud"], r["known_to_edge"]) for r in redemptions] == [
        ("BOFFLINE0001", False, False),
        (booking["ref"], True, True),
    ]
    assert redemptions[1]["edge_id"] == edge.edge_id and redemptions[1]["device_id"] == "scanner-1"
    events = (await tenant_a.api.get(f"/api/v1/stores/{store_a.store_id}/events")).json()
    assert {e["seq"]: e["outcome"] for e in events} == {7: "applied", 8: "applied", 9: "invalid"}


async def test_a_revoked_edge_is_cut_off_at_once_and_cannot_reconnect(
    cloud: CloudServer, tenant_a: Tenant, edge: Identity
) -> None:
    client, _ = await connect(cloud, edge)
    async with client:
        response = await tenant_a.api.post(f"/api/v1/edges/{edge.edge_id}/revoke")
        assert response.status_code == 200 and response.json()["revoked_at"] is not None
        with pytest.raises(grpc.aio.AioRpcError) as cut:
            await client.recv_kind("never", within=2)
        assert cut.value.code() == grpc.StatusCode.PERMISSION_DENIED
    async with EdgeLinkClient(cloud.grpc_target, cloud.ca_pem, edge) as again:
        await again.hello(edge.store_id)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await again.recv()
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_hello_for_another_store_or_a_missing_hello_is_refused(
    cloud: CloudServer, tenant_a: Tenant, edge: Identity
) -> None:
    async with EdgeLinkClient(cloud.grpc_target, cloud.ca_pem, edge) as client:
        await client.hello("s-elsewhere")
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await client.recv()
    assert wrong.value.code() == grpc.StatusCode.PERMISSION_DENIED
    async with EdgeLinkClient(cloud.grpc_target, cloud.ca_pem, edge) as client:
        await client.send_events((1, "fault", {}))
        with pytest.raises(grpc.aio.AioRpcError) as first:
            await client.recv()
    assert first.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def answer_one_command(client: EdgeLinkClient, seen: list[pb.Command]) -> None:
    """Play the edge: answer the next Command with ok and its args echoed."""
    message = await client.recv_kind("command", within=10)
    seen.append(message.command)
    result = pb.CommandResult(
        command_id=message.command.id,
        ok=True,
        code="ok",
        message="opened",
        result_json=json.dumps({"echo": json.loads(message.command.args_json)}),
    )
    await client.send(pb.EdgeMessage(command_result=result))


async def test_a_command_round_trips_to_the_edge_and_is_recorded(
    cloud: CloudServer, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    url = f"/api/v1/stores/{store_a.store_id}/commands"
    offline = await tenant_a.api.post(url, json={"kind": "unlock", "args": {"room_id": store_a.room_id}})
    assert offline.status_code == 409 and offline.json()["code"] == "edge_offline"
    client, _ = await connect(cloud, edge)
    seen: list[pb.Command] = []
    async with client:
        answering = asyncio.create_task(answer_one_command(client, seen))
        response = await tenant_a.api.post(url, json={"kind": "unlock", "args": {"room_id": store_a.room_id}})
        await answering
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["ok"], body["code"], body["status"]) == (True, "ok", "ok")
        assert body["result"] == {"echo": {"room_id": store_a.room_id}}
        assert seen[0].id == body["id"] and seen[0].kind == "unlock"
        assert seen[0].deadline_ms > cloud.clock.now().timestamp() * 1000

        silent = await tenant_a.api.post(url, json={"kind": "power", "args": {"on": True}, "timeout_s": 0.3})
        assert silent.status_code == 504 and silent.json()["code"] == "edge_timeout"
    async with cloud.sessionmaker() as session:
        rows = {r.kind: r for r in await session.scalars(select(EdgeCommand))}
    assert rows["unlock"].status == "ok" and rows["unlock"].edge_id == edge.edge_id
    assert rows["power"].status == "timeout"


async def test_a_change_committed_by_another_cloud_worker_reaches_the_edge(
    cloud: CloudServer, db_url: str, tmp_path: Path, tenant_a: Tenant, store_a: StoreIds, edge: Identity
) -> None:
    other_dir = tmp_path / "other-worker"
    shutil.copytree(cloud.settings.data_dir, other_dir)
    fast = cloud_settings(db_url, other_dir, feed_poll_s=0.2)
    async with CloudServer(fast) as worker:
        client = EdgeLinkClient(worker.grpc_target, worker.ca_pem, edge)
        async with client:
            await client.hello(edge.store_id)
            await client.recv_kind("store_data")
            # Booked through the first worker: the second learns of it only by polling the database.
            booking = (
                await tenant_a.api.post(
                    "/api/v1/bookings", json={"room_id": store_a.room_id, **SLOT, **CUSTOMER}
                )
            ).json()
            delta = (await client.recv_kind("store_data", within=3)).store_data
    assert [c.booking.ref for c in delta.changes] == [booking["ref"]]
