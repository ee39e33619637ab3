"""Several cloud workers on one database and one Redis behave as one cloud.

Two CloudServer workers share a database, a data dir (the edge CA) and a real redis-server; a test
edge holds its stream on worker A while the tests act through worker B.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from cloud.audit.tables import AuditEntry
from cloud.bootstrap import CloudServer
from cloud.clock import Clock, FakeClock
from cloud.edgelink.notifier import changed_channel
from cloud.edgelink.routing import commands_channel
from cloud.edgelink.tables import EdgeCommand
from gatehouse.redisserver import RedisProcess, throwaway_redis
from protos import edgelink_pb2 as pb
from tests.conftest import free_port
from tests.integration.cloud.conftest import (
    StoreIds,
    Tenant,
    cloud_settings,
    future_day,
    make_store,
    new_tenant,
)
from tests.integration.cloud.edge_client import EdgeLinkClient, Identity, enroll_new
from tests.support.waiting import eventually

CUSTOMER = {"customer_name": "Li Lei", "phone": "13900001234"}
LONG_POLL_S = 30.0  # only the bus can wake a stream in time


def slot(hour: int) -> dict[str, str]:
    """A one-hour slot three days ahead."""
    day = future_day()
    return {"starts_at": f"{day}T{hour:02d}:00:00+00:00", "ends_at": f"{day}T{hour + 1:02d}:00:00+00:00"}


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    """A throwaway redis-server on a free port (the tests may stop and restart it)."""
    with throwaway_redis(free_port()) as server:
        yield server


@dataclass
class Pair:
    """Two workers of one cloud, a tenant with a store, and an edge of that store linked to A."""

    a: CloudServer
    b: CloudServer
    tenant_b: Tenant  # the tenant's API client on worker B
    store: StoreIds
    edge: Identity
    client: EdgeLinkClient
    redis: Redis


MakePair = Callable[..., AbstractAsyncContextManager[Pair]]


@pytest.fixture
def make_pair(db_url: str, tmp_path: Path, redis_server: RedisProcess) -> MakePair:
    """Start workers A and B (settings overrides and a clock given), link an edge to A."""

    @asynccontextmanager
    async def start(clock: Clock | None = None, **overrides: object) -> AsyncIterator[Pair]:
        values: dict[str, object] = {"redis_url": redis_server.url, "feed_poll_s": LONG_POLL_S, **overrides}
        data_dir = tmp_path / "cloud"  # shared: both workers sign with the one edge CA
        async with (
            CloudServer(cloud_settings(db_url, data_dir, worker_id="worker-a", **values), clock=clock) as a,
            CloudServer(cloud_settings(db_url, data_dir, worker_id="worker-b", **values), clock=clock) as b,
            Redis.from_url(redis_server.url) as redis,
        ):
            tenant = await new_tenant(b, "Tenant A")
            async with tenant.api:
                store = await make_store(tenant.api)
                created = await tenant.api.post(f"/api/v1/stores/{store.store_id}/edges")
                assert created.status_code == 201, created.text
                body = created.json()
                edge = await enroll_new(a.enroll_target, body["ca_pem"].encode(), body["bootstrap_token"])
                async with EdgeLinkClient(a.grpc_target, a.ca_pem, edge) as client:
                    await client.hello(edge.store_id, 0, edge.edge_id)
                    await client.recv_kind("store_data")
                    yield Pair(a, b, tenant, store, edge, client, redis)

    return start


async def subscribers(redis: Redis, channel: str) -> int:
    """How many connections Redis sends channel's messages to."""
    counts = await redis.pubsub_numsub(channel)
    return int(counts[0][1])


async def routed(redis: Redis, channel: str) -> Callable[[], Awaitable[bool]]:
    """A probe: some worker subscribed channel."""

    async def probe() -> bool:
        try:
            return await subscribers(redis, channel) > 0
        except RedisConnectionError:
            return False  # our own client's connection died with the server: it reconnects next time

    return probe


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


async def test_a_booking_made_through_worker_b_reaches_the_edge_on_worker_a_at_once(
    make_pair: MakePair,
) -> None:
    async with make_pair() as pair:
        await eventually(await routed(pair.redis, changed_channel(pair.store.store_id)), what="A subscribed")
        loop = asyncio.get_running_loop()
        started = loop.time()
        booked = await pair.tenant_b.api.post(
            "/api/v1/bookings", json={"room_id": pair.store.room_id, **slot(10), **CUSTOMER}
        )
        assert booked.status_code == 201, booked.text
        delta = (await pair.client.recv_kind("store_data", within=LONG_POLL_S / 3)).store_data
        took = loop.time() - started
    assert [c.booking.ref for c in delta.changes] == [booked.json()["ref"]]
    assert took < 5.0, f"the booking took {took:.1f} s: it came by the poll, not the bus"


async def test_a_command_sent_through_worker_b_is_answered_by_the_edge_on_worker_a_and_recorded(
    make_pair: MakePair,
) -> None:
    async with make_pair() as pair:
        url = f"/api/v1/stores/{pair.store.store_id}/commands"
        await eventually(await routed(pair.redis, commands_channel(pair.store.store_id)), what="A routes")
        seen: list[pb.Command] = []
        answering = asyncio.create_task(answer_one_command(pair.client, seen))
        response = await pair.tenant_b.api.post(url, json={"kind": "unlock", "args": {"room_id": "r-1"}})
        await answering
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["ok"], body["code"], body["status"]) == (True, "ok", "ok")
        assert body["result"] == {"echo": {"room_id": "r-1"}}
        assert [c.id for c in seen] == [body["id"]]

        # No answer: worker B times out and records it, as for a stream of its own.
        silent = await pair.tenant_b.api.post(
            url, json={"kind": "power", "args": {"on": True}, "timeout_s": 0.5}
        )
        assert silent.status_code == 504 and silent.json()["code"] == "edge_timeout"

        # A store whose edge no worker holds: offline at once.
        other = await make_store(pair.tenant_b.api, "Store Two")
        offline = await pair.tenant_b.api.post(
            f"/api/v1/stores/{other.store_id}/commands", json={"kind": "unlock", "args": {}}
        )
        assert offline.status_code == 409 and offline.json()["code"] == "edge_offline"

        async with pair.b.sessionmaker() as session:
            rows = {
                r.kind: r
                for r in await session.scalars(
                    select(EdgeCommand).where(EdgeCommand.store_id == pair.store.store_id)
                )
            }
            audited = set(
                await session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "command.send"))
            )
    assert rows["unlock"].status == "ok" and rows["unlock"].edge_id == pair.edge.edge_id
    assert rows["unlock"].result == {"echo": {"room_id": "r-1"}}
    assert rows["power"].status == "timeout" and rows["power"].completed_at is not None
    assert rows["unlock"].id in audited and rows["power"].id in audited


async def test_with_redis_down_the_workers_keep_serving_and_the_poll_still_delivers(
    make_pair: MakePair, redis_server: RedisProcess
) -> None:
    async with make_pair(feed_poll_s=0.5) as pair:
        await eventually(await routed(pair.redis, commands_channel(pair.store.store_id)), what="A routes")
        redis_server.stop()
        await eventually(
            lambda: _true(not pair.a.bus.available and not pair.b.bus.available), what="both see Redis down"
        )
        booked = await pair.tenant_b.api.post(
            "/api/v1/bookings", json={"room_id": pair.store.room_id, **slot(12), **CUSTOMER}
        )
        assert booked.status_code == 201, booked.text
        delta = (await pair.client.recv_kind("store_data", within=10)).store_data
        assert [c.booking.ref for c in delta.changes] == [booked.json()["ref"]]
        url = f"/api/v1/stores/{pair.store.store_id}/commands"
        unroutable = await pair.tenant_b.api.post(url, json={"kind": "unlock", "args": {}})
        assert unroutable.status_code == 409 and unroutable.json()["code"] == "edge_offline"
        async with httpx.AsyncClient(base_url=pair.b.http_url) as plain:
            failed = await plain.post("/api/v1/auth/login", json={"login": "nobody", "password": "x" * 12})
            assert failed.status_code == 401  # rate limits counted in-process meanwhile
            metrics = (await plain.get("/metrics")).text
        assert "gatehouse_bus_connected 0.0" in metrics

        # Redis is back: the workers reconnect and route again.
        redis_server.start()
        await eventually(await routed(pair.redis, commands_channel(pair.store.store_id)), what="resubscribed")
        await eventually(lambda: _true(pair.a.bus.available and pair.b.bus.available), what="reconnected")
        seen: list[pb.Command] = []
        answering = asyncio.create_task(answer_one_command(pair.client, seen))
        response = await pair.tenant_b.api.post(url, json={"kind": "unlock", "args": {"room_id": "r-2"}})
        await answering
        assert response.status_code == 200 and response.json()["ok"] is True, response.text


async def _true(value: bool) -> bool:
    return value


async def test_rate_limits_are_shared_by_the_workers_answer_429_with_retry_after_and_reset(
    make_pair: MakePair,
) -> None:
    # 10 s into a minute (near the wall clock: the edge's TLS certificates are checked against it)
    clock = FakeClock(datetime.now(UTC).replace(second=10, microsecond=0))
    limits = {"login_limit_per_ip": 3, "login_window_s": 60, "callback_limit_per_source": 2}
    async with make_pair(clock=clock, **limits) as pair:
        bad = {"login": "nobody@example.com", "password": "wrong password"}
        clients = [httpx.AsyncClient(base_url=w.http_url) for w in (pair.a, pair.b)]
        try:
            answers = [await clients[i % 2].post("/api/v1/auth/login", json=bad) for i in range(4)]
            assert [r.status_code for r in answers] == [401, 401, 401, 429]
            limited = answers[3]
            assert limited.json()["code"] == "rate_limited"
            assert limited.headers["Retry-After"] == "50"  # the window ends at the next whole minute
            assert limited.headers["content-type"].startswith("application/problem+json")
            assert (await clients[0].post("/api/v1/auth/login", json=bad)).status_code == 429

            clock.advance(50)
            assert (await clients[1].post("/api/v1/auth/login", json=bad)).status_code == 401

            callback = "/api/v1/payments/callbacks/sim"
            sources = [(await clients[i % 2].post(callback, content=b"{}")).status_code for i in range(3)]
            assert 429 not in sources[:2] and sources[2] == 429
        finally:
            for client in clients:
                await client.aclose()
