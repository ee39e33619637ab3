"""A whole chain on one machine: the cloud, seeded demo stores, their edges and simulated devices.

Used by `gatehouse demo`, `gatehouse bench` and the end-to-end tests, so that all three run the
same composition: the real cloud server, the real edge daemon, devices speaking real protocols.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from cloud.auth.demo import DemoLogin, seed_demo_users
from cloud.bootstrap import CloudServer
from cloud.clock import Clock as CloudClock
from cloud.seed import DEMO_ROOMS, DEMO_STORES, DemoDevice, DemoSeed, SeededStore, seed_demo, seed_history
from cloud.settings import CloudSettings
from edge.bootstrap import EdgeDaemon
from edge.clock import Clock as EdgeClock
from edge.config import CloudConfig, EdgeConfig, ListenConfig
from edge.identity import load_identity
from protos.codes import CodeClaim, make_code
from simulators.payments import PaymentSimServer
from simulators.store import DeviceSpec, SimulatedStore

logger = logging.getLogger(__name__)

SYNC_TIMEOUT_S = 30.0
MODBUS_CHANNELS = "2"  # lights, AC


T = TypeVar("T")
POLL_S = 0.02


async def wait_until(probe: Callable[[], Awaitable[T | None]], *, timeout: float, what: str) -> T:  # noqa: ASYNC109
    """Call probe until it returns a truthy value and return that; TimeoutError naming `what` after timeout s.

    For conditions in another process or behind an API, where there is no event to wait on.
    """
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = await probe()
                if value:
                    return value
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}") from None


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out as a client's source port."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_EPHEMERAL_FLOOR = _ephemeral_floor()
_HANDED_OUT: set[int] = set()
_PORTS = random.SystemRandom()


def free_port() -> int:
    """A loopback TCP port nobody listens on right now, below the kernel's ephemeral range.

    A device driver retrying its connection to a simulator that is not listening yet may be given
    that very port as its own source port (a TCP self-connect) when the port lies in the ephemeral
    range; the simulator then cannot bind it. Ports below the range are never handed to clients.
    A port is handed out once per process.
    """
    low = max(1024, _EPHEMERAL_FLOOR - 12000)
    for _ in range(500):
        port = _PORTS.randrange(low, _EPHEMERAL_FLOOR)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as sock:  # that range is full: any port the kernel picks
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def port_or_free(preferred: int) -> int:
    """preferred when it can be bound on loopback now, else 0 (any free port)."""
    if preferred == 0:
        return 0
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return 0
    return preferred


def demo_devices() -> dict[str, list[DemoDevice]]:
    """Every demo room gets an MQTT lock, a Modbus TCP power switch and an MQTT door scanner."""
    devices: dict[str, list[DemoDevice]] = {}
    for store in DEMO_STORES:
        devices[store] = []
        for room, _kind in DEMO_ROOMS:
            modbus = {"host": "127.0.0.1", "port": str(free_port()), "unit": "1", "channels": MODBUS_CHANNELS}
            devices[store] += [
                DemoDevice("lock", "mqtt", room),
                DemoDevice("power", "modbus", room, modbus),
                DemoDevice("scanner", "mqtt", room),
            ]
    return devices


@dataclass(frozen=True, slots=True)
class RoomDevices:
    """A demo room and the ids of its devices."""

    id: str
    name: str
    lock: str
    power: str
    scanner: str


def room_devices(store: SeededStore) -> list[RoomDevices]:
    """The rooms of a seeded store with their lock, power switch and scanner."""
    rooms = []
    for room in store.rooms:
        mine = {d.kind: d.id for d in store.devices if d.room_id == room.id}
        rooms.append(RoomDevices(room.id, room.name, mine["lock"], mine["power"], mine["scanner"]))
    return rooms


@dataclass
class ChainStore:
    """One store of the chain: its seed, its edge daemon and its simulated devices."""

    seed: SeededStore
    config: EdgeConfig
    rooms: list[RoomDevices]
    edge: EdgeDaemon | None = None
    devices: SimulatedStore | None = None
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def id(self) -> str:
        """The store id."""
        return self.seed.id

    def room(self, name: str) -> RoomDevices:
        """The room called name."""
        return next(r for r in self.rooms if r.name == name)

    def running_edge(self) -> EdgeDaemon:
        """The edge daemon; raises when it is stopped."""
        if self.edge is None:
            raise RuntimeError(f"the edge of {self.seed.name} is not running")
        return self.edge


@dataclass(frozen=True, slots=True)
class StorePorts:
    """Preferred local ports of one store's edge (0: any free port)."""

    mqtt: int = 0
    panel: int = 0


class DemoChain:
    """`async with DemoChain(dir) as chain:` runs the cloud and both demo stores until exit."""

    def __init__(
        self,
        state_dir: Path,
        *,
        http_port: int = 0,
        grpc_port: int = 0,
        enroll_port: int = 0,
        store_ports: Sequence[StorePorts] = (),
        db_url: str | None = None,
        api_token: str | None = None,
        password: str | None = None,
        relock_after_s: float = 5.0,
        cloud_clock: CloudClock | None = None,
        edge_clock: EdgeClock | None = None,
        edges: Sequence[str] | None = None,
        history_days: int = 0,
    ) -> None:
        self.state_dir = state_dir
        self._settings = CloudSettings(
            data_dir=state_dir / "cloud",
            db_url=db_url,
            http_port=http_port,
            grpc_port=grpc_port,
            enroll_port=enroll_port,
            demo=True,
        )
        self._store_ports = list(store_ports)
        self._api_token = api_token
        self._password = password
        self.logins: tuple[DemoLogin, ...] = ()
        self._relock_after_s = relock_after_s
        self._cloud_clock = cloud_clock
        self._edge_clock = edge_clock
        # Names of the stores whose edge runs in this process (None: every store).
        self._edges = edges
        # Days of past bookings to seed (0: none), so the admin dashboards have figures.
        self._history_days = history_days
        self.cloud: CloudServer | None = None
        self.payments: PaymentSimServer | None = None
        self.seed: DemoSeed | None = None
        self.stores: dict[str, ChainStore] = {}
        self.api: httpx.AsyncClient | None = None
        # Simulated devices outlive an edge restart: they reconnect to its broker on the same port.
        self._devices = contextlib.AsyncExitStack()
        # Third parties that live as long as the chain (the payment provider).
        self._services = contextlib.AsyncExitStack()

    # ---- life cycle ----

    async def __aenter__(self) -> Self:
        try:
            await self.start_cloud()
            cloud = self.running_cloud()
            self.seed = await seed_demo(
                cloud.sessionmaker,
                cipher=cloud.cipher,
                notifier=cloud.notifier,
                devices_by_store=demo_devices(),
                api_token=self._api_token,
            )
            self.logins = await seed_demo_users(
                cloud.sessionmaker,
                tenant_id=self.seed.tenant_id,
                region_id=self.seed.region_id,
                store_id=self.seed.stores[0].id,
                other_store_ids=[store.id for store in self.seed.stores[1:]],
                password=self._password,
            )
            if self._history_days:
                await seed_history(
                    cloud.sessionmaker,
                    cipher=cloud.cipher,
                    seed=self.seed,
                    days=self._history_days,
                    clock=cloud.clock,
                    notifier=cloud.notifier,
                )
            self.api = httpx.AsyncClient(
                base_url=cloud.http_url,
                headers={"Authorization": f"Bearer {self.seed.api_token}"},
                timeout=30.0,
            )
            for index, seeded in enumerate(self.seed.stores):
                ports = self._store_ports[index] if index < len(self._store_ports) else StorePorts()
                store = ChainStore(seeded, await self._edge_config(seeded, ports), room_devices(seeded))
                self.stores[seeded.name] = store
                if self._edges is None or seeded.name in self._edges:
                    await self.start_edge(store)
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every edge, then the cloud."""
        for store in self.stores.values():
            await self.stop_edge(store)
        await self.stop_devices()
        if self.api is not None:
            await self.api.aclose()
            self.api = None
        await self.stop_cloud()
        await self._services.aclose()

    async def start_cloud(self) -> None:
        """Start the cloud; after the first start it keeps its ports, so edges find it again."""
        if self.cloud is not None:
            return
        if self.payments is None:
            # The simulated payment provider, sharing the demo's generated signing secret.
            secret = self._settings.resolve_payment_secret()
            if secret is None:
                raise RuntimeError("no payment secret in demo mode")
            self.payments = await self._services.enter_async_context(PaymentSimServer(secret))
            self._settings = self._settings.model_copy(update={"payment_provider_url": self.payments.url})
        cloud = CloudServer(self._settings, clock=self._cloud_clock)
        await cloud.__aenter__()
        self.cloud = cloud
        self._settings = self._settings.model_copy(
            update={
                "http_port": cloud.http_port,
                "grpc_port": cloud.grpc_port,
                "enroll_port": cloud.enroll_port,
            }
        )

    async def stop_cloud(self) -> None:
        """Stop the cloud (the stores' internet link is down as far as the edges can tell)."""
        cloud, self.cloud = self.cloud, None
        if cloud is not None:
            await cloud.__aexit__(None, None, None)

    def running_cloud(self) -> CloudServer:
        """The cloud server; raises when it is stopped."""
        if self.cloud is None:
            raise RuntimeError("the cloud is not running")
        return self.cloud

    async def start_devices(self, store: ChainStore, mqtt_port: int) -> SimulatedStore:
        """Start a store's simulated devices against the broker of its edge on mqtt_port."""
        if store.devices is None:
            store.devices = await self._start_devices(store, mqtt_port)
        return store.devices

    async def _edge_config(self, seeded: SeededStore, ports: StorePorts) -> EdgeConfig:
        cloud = self.running_cloud()
        data_dir = self.state_dir / "edges" / seeded.id
        token: str | None = None
        if load_identity(data_dir) is None:
            created = await self.client().post(f"/api/v1/stores/{seeded.id}/edges")
            created.raise_for_status()
            token = created.json()["bootstrap_token"]
        ca_file = self.state_dir / "cloud" / "ca.pem"
        ca_file.write_bytes(cloud.ca_pem)
        return EdgeConfig(
            data_dir=data_dir,
            cloud=CloudConfig(
                target=cloud.grpc_target,
                enroll_target=cloud.enroll_target,
                ca_cert=ca_file,
                bootstrap_token=token,
                reconnect_base_s=0.2,
                reconnect_cap_s=2.0,
            ),
            mqtt=ListenConfig(port=port_or_free(ports.mqtt)),
            panel=ListenConfig(port=port_or_free(ports.panel)),
        )

    async def start_edge(self, store: ChainStore, *, wait_synced: bool = True) -> EdgeDaemon:
        """Start a store's edge daemon and its simulated devices; wait for its first store data."""
        if store.edge is not None:
            return store.edge
        edge = await store._stack.enter_async_context(EdgeDaemon(store.config, clock=self._edge_clock))
        store.edge = edge
        # Keep the ports the edge got, so a restart finds its devices and panel where they were.
        store.config = store.config.model_copy(
            update={
                "mqtt": ListenConfig(port=edge.mqtt_port),
                "panel": ListenConfig(port=edge.panel_port),
                "cloud": store.config.cloud.model_copy(update={"bootstrap_token": None}),
            }
        )
        devices = await self.start_devices(store, edge.mqtt_port)
        async with asyncio.timeout(SYNC_TIMEOUT_S):
            if wait_synced:
                await edge.link.synced.wait()
            # Ready to serve: drivers built from the store data, subscribed, and every device back.
            await edge.devices.wait_synced()
            if edge.bus is not None:
                # Connected is not enough: a driver's scan subscription made after the connection
                # is acknowledged later, and a scan published before that is not delivered.
                await edge.bus.wait_settled(SYNC_TIMEOUT_S)
            await devices.wait_online()
        return edge

    async def _start_devices(self, store: ChainStore, mqtt_port: int) -> SimulatedStore:
        specs = []
        for device in store.seed.devices:
            config = dict(device.config)
            if device.kind == "lock":
                config["relock_after_s"] = str(self._relock_after_s)
            specs.append(DeviceSpec(device.id, device.kind, device.protocol, device.room_id, config))
        devices = SimulatedStore(specs, mqtt_host="127.0.0.1", mqtt_port=mqtt_port)
        return await self._devices.enter_async_context(devices)

    async def stop_edge(self, store: ChainStore) -> None:
        """Stop a store's edge daemon (its simulated devices keep running and reconnect later)."""
        if store.edge is not None:
            store.edge = None
            await store._stack.aclose()
            store._stack = contextlib.AsyncExitStack()

    async def stop_devices(self) -> None:
        """Stop every simulated device."""
        for store in self.stores.values():
            store.devices = None
        await self._devices.aclose()
        self._devices = contextlib.AsyncExitStack()

    # ---- acting as HQ and as a customer ----

    def client(self) -> httpx.AsyncClient:
        """The HQ API client (bearer token of the demo tenant)."""
        if self.api is None:
            cloud = self.running_cloud()
            token = self.seed.api_token if self.seed is not None else ""
            self.api = httpx.AsyncClient(
                base_url=cloud.http_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
            )
        return self.api

    def panel_login(self, store: ChainStore) -> DemoLogin:
        """The front desk's login of a store's panel (the cloud's user, cached by the edge)."""
        return next(x for x in self.logins if x.role == "staff" and store.id in x.store_ids)

    def store(self, name: str = "Demo Store A") -> ChainStore:
        """The chain store called name."""
        return self.stores[name]

    async def book(self, room_id: str, starts_at: datetime, ends_at: datetime) -> dict[str, Any]:
        """Create a confirmed booking through the API; returns its JSON."""
        response = await self.client().post(
            "/api/v1/bookings",
            json={
                "room_id": room_id,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "customer_name": "Demo Customer",
                "phone": "13800138000",
            },
        )
        if response.status_code != 201:
            raise RuntimeError(f"booking refused: {response.status_code} {response.text}")
        booking: dict[str, Any] = response.json()
        return booking

    def info(self) -> dict[str, Any]:
        """The endpoints and credentials of the running chain (what demo.json holds)."""
        cloud = self.running_cloud()
        seed = self.seed
        if seed is None:
            raise RuntimeError("the chain is not seeded")
        return {
            "booking_pages": f"{cloud.http_url}/book/",
            "admin": f"{cloud.http_url}/admin/",
            "maint": f"{cloud.http_url}/maint/",
            "room_page": f"{cloud.http_url}/order/<store id>/<room id>",
            "payment_provider": self.payments.url if self.payments else None,
            "cloud": {
                "url": cloud.http_url,
                "docs": f"{cloud.http_url}/docs",
                "grpc_target": cloud.grpc_target,
                "enroll_target": cloud.enroll_target,
            },
            "api_token": seed.api_token,
            "logins": [{"login": x.login, "role": x.role, "password": x.password} for x in self.logins],
            "stores": [
                {
                    "id": store.id,
                    "name": store.seed.name,
                    "panel_url": f"http://127.0.0.1:{store.edge.panel_port}" if store.edge else None,
                    "panel_login": self.panel_login(store).login,
                    "mqtt_port": store.edge.mqtt_port if store.edge else None,
                    "rooms": [vars_of(room) for room in store.rooms],
                }
                for store in self.stores.values()
            ],
        }


def vars_of(room: RoomDevices) -> dict[str, str]:
    """A RoomDevices as a plain dict."""
    return {"id": room.id, "name": room.name, "lock": room.lock, "power": room.power, "scanner": room.scanner}


def draw_code(booking: Mapping[str, Any], now: float) -> str:
    """The code a booking's page shows at now, drawn from its booking key as the phone does."""
    bkey = base64.b64decode(booking["booking_key"])
    claim = CodeClaim(
        store_id=booking["store_id"],
        key_version=int(booking["key_version"]),
        booking_ref=booking["ref"],
        room_id=booking["room_id"],
        starts_at=int(datetime.fromisoformat(booking["starts_at"]).timestamp()),
        ends_at=int(datetime.fromisoformat(booking["ends_at"]).timestamp()),
        minute=int(now) // 60,
    )
    return make_code(bkey, claim)


__all__ = [
    "ChainStore",
    "DemoChain",
    "RoomDevices",
    "StorePorts",
    "draw_code",
    "free_port",
    "wait_until",
]
