"""The edge rig: a fake cloud, the real edge daemon (embedded broker), and simulated devices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from edge.bootstrap import EdgeDaemon
from edge.clock import FakeClock
from edge.config import EdgeConfig, parse_config
from edge.panel.client import sign_in
from protos import edgelink_pb2 as pb
from protos.codes import code_at
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.power_modbus import SimulatedModbusSwitch
from simulators.scanner import SimulatedMqttScanner
from tests.conftest import free_port
from tests.integration.edge.fake_cloud import (
    FakeCloud,
    booking_change,
    device_change,
    room_change,
    store_change,
)

STORE_KEY = bytes(range(100, 132))
STORE_ID = "store-a"
NOW = 1_800_000_000 - 1_800_000_000 % 60
START = NOW - 600
END = NOW + 7200
WAIT_S = 10.0
# Panel staff (the cloud's users): username -> role; every one has STAFF_PASSWORD.
STAFF = {
    "desk": "staff",
    "boss": "store_manager",
    "mop": "cleaner",
    "fixer": "maintainer",
    "books": "finance",
}
STAFF_PASSWORD = "correct horse battery"
# Cheap argon2 parameters: the hash carries them, so the edge verifies as cheaply (tests only).
QUICK_HASH = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


@dataclass
class Rig:
    """Everything one edge test drives."""

    cloud: FakeCloud
    edge: EdgeDaemon
    clock: FakeClock
    lock: SimulatedMqttLock
    power: SimulatedModbusSwitch
    scanner: SimulatedMqttScanner
    gate: SimulatedMqttScanner
    config: EdgeConfig

    def panel(self) -> httpx.AsyncClient:
        """An HTTP client for the edge's panel (not signed in)."""
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.edge.panel_port}", timeout=10)

    @asynccontextmanager
    async def signed_in(
        self, username: str = "desk", password: str = STAFF_PASSWORD
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A panel client signed in as a staff member."""
        async with self.panel() as http:
            await sign_in(http, username, password)
            yield http

    def code(self, ref: str = "B1", room: str = "r1", *, starts_at: int = START, ends_at: int = END) -> str:
        """The code a booking's page shows now."""
        return code_at(STORE_KEY, 1, STORE_ID, ref, room, starts_at, ends_at, self.clock.now())


def edge_config(tmp_path: Path, cloud: FakeCloud) -> EdgeConfig:
    """An edge config pointing at the fake cloud, with quick reconnects and device timeouts."""
    return parse_config(
        {
            "data_dir": str(tmp_path / "edge"),
            "cloud": {
                "target": cloud.target,
                "enroll_target": cloud.enroll_target,
                "ca_cert": str(cloud.write_ca(tmp_path / "ca.pem")),
                "bootstrap_token": "bootstrap-token",
                "reconnect_base_s": 0.05,
                "reconnect_cap_s": 0.2,
            },
            # A fixed port: simulated devices find the broker again after an edge restart.
            "mqtt": {"host": "127.0.0.1", "port": free_port()},
            "panel": {"host": "127.0.0.1", "port": 0},
            # Quick polls and availability checks, short light flashes: tests wait on real devices.
            "devices": {
                "timeout_s": 1.0,
                "tries": 2,
                "backoff_s": 0.05,
                "poll_s": 0.2,
                "check_s": 0.05,
                "flash_s": 0.01,
            },
        }
    )


def seed(cloud: FakeCloud, modbus_port: int) -> None:
    """The store's data: two rooms, their devices, an entrance scanner and a few bookings."""
    cloud.put(
        store_change(
            id=STORE_ID, tenant_id="t1", name="Store A", timezone="UTC", early_grace_s=900, key_versions=[1]
        ),
        room_change("r1", "Room 1"),
        room_change("r2", "Room 2"),
        device_change("lock-1", "lock", "mqtt", "r1"),
        device_change("pw-1", "power", "modbus", "r1", host="127.0.0.1", port=str(modbus_port), channels="2"),
        device_change("scan-1", "scanner", "mqtt", "r1"),
        device_change("gate-1", "scanner", "mqtt", ""),
        booking_change("B1", "r1", START, END, order_no="ORD-1", phone_last4="1234"),
        booking_change("B-OLD", "r1", NOW - 7200, NOW - 3600),
        booking_change("B-CXL", "r1", START, END, status="cancelled"),
        booking_change("B2", "r2", START, END),
        *(staff_change(f"u-{name}", name, role) for name, role in STAFF.items()),
    )


def staff_change(
    staff_id: str, username: str, role: str, *, password: str = STAFF_PASSWORD, active: bool = True
) -> pb.Change:
    """A Staff change, as the cloud sends its users (argon2id hash of the password)."""
    return pb.Change(
        staff=pb.Staff(
            id=staff_id,
            username=username,
            display_name=username.title(),
            role=role,
            password_hash=QUICK_HASH.hash(password),
            active=active,
        )
    )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = WAIT_S) -> None:
    """Wait until an async check holds, re-checking every 10 ms, failing after `timeout`."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - the state polled (SQLite, simulators) has no event
            await asyncio.sleep(0.01)


async def wait_until_subscribed(edge: EdgeDaemon, *device_ids: str) -> None:
    """Wait until the edge's bus has the scanners' subscriptions in place (a scan before that is lost)."""
    assert edge.bus is not None
    async with asyncio.timeout(WAIT_S):
        for device_id in device_ids:
            await edge.bus.wait_subscribed(f"gh/dev/{device_id}/scan")
