"""The composition root of a cloud process: database, HTTP (uvicorn) and gRPC servers in one loop."""

from __future__ import annotations

import asyncio
import logging
import socket
from types import TracebackType
from typing import Self

import grpc
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.app import build_app
from cloud.booking.sweeper import run_sweeper
from cloud.bus import Bus, LocalBus, RedisBus, redis_client
from cloud.clock import Clock, SystemClock
from cloud.crypto import FieldCipher
from cloud.db import make_engine, make_sessionmaker, migrate
from cloud.deps import AppContext
from cloud.edgelink.ca import EdgeCA
from cloud.edgelink.commands import LinkRegistry
from cloud.edgelink.notifier import FeedNotifier
from cloud.edgelink.routing import CommandRouter
from cloud.edgelink.server import KEEPALIVE_OPTIONS, EdgeLinkService
from cloud.payments.sweeper import run_refund_sweeper
from cloud.payments.wiring import CALLBACK_PATH, install_payments, optional_provider_of
from cloud.ratelimit import Limiter, MemoryLimiter, RedisLimiter, Rule
from cloud.ratelimit.http import RateLimits, RateRules, install_rate_limits
from cloud.servicecalls.services import settle_interrupted
from cloud.settings import CloudSettings
from protos import edgelink_pb2_grpc as pb_grpc

logger = logging.getLogger(__name__)

_WILDCARDS = ("", "0.0.0.0", "::")


def _reachable(host: str) -> str:
    return "127.0.0.1" if host in _WILDCARDS else host


class CloudServer:
    """A running cloud: `async with CloudServer(settings) as cloud:` serves HTTP and gRPC until exit."""

    def __init__(self, settings: CloudSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock if clock is not None else SystemClock()
        # Several workers share Redis: feed wake-ups, routed commands and rate limits cross it.
        self.redis = redis_client(settings.redis_url) if settings.redis_url else None
        self.bus: Bus = (
            RedisBus(self.redis, settings.worker_id)
            if self.redis is not None
            else LocalBus(worker_id=settings.worker_id)
        )
        self.notifier = FeedNotifier(self.bus)
        self.registry = LinkRegistry()
        self.router = CommandRouter(self.bus, self.registry, self.clock)
        self.http_port = 0
        self.grpc_port = 0
        self.ca_pem = b""
        self.grpc_target = ""
        self.enroll_port = 0
        self.enroll_target = ""
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._cipher: FieldCipher | None = None
        self._grpc: grpc.aio.Server | None = None
        self._service: EdgeLinkService | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._http_socket: socket.socket | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._refund_sweeper: asyncio.Task[None] | None = None
        self.app: FastAPI | None = None

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on the cloud database."""
        if self._sessionmaker is None:
            raise RuntimeError("CloudServer is not started")
        return self._sessionmaker

    @property
    def cipher(self) -> FieldCipher:
        """The master-key field cipher."""
        if self._cipher is None:
            raise RuntimeError("CloudServer is not started")
        return self._cipher

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{_reachable(self.settings.http_host)}:{self.http_port}"

    async def start(self) -> None:
        """Migrate, then start the gRPC and HTTP servers (ports 0 pick free ports)."""
        settings = self.settings
        self._cipher = FieldCipher(settings.resolve_master_key())
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await migrate(settings.database_url)
        await self.bus.start()
        await self.router.start()
        self._engine = make_engine(settings.database_url)
        self._sessionmaker = make_sessionmaker(self._engine)
        now = self.clock.now()
        ca = await asyncio.to_thread(EdgeCA.load_or_create, settings.data_dir, now)
        self.ca_pem = ca.ca_pem
        await self._start_grpc(ca)
        context = AppContext(
            sessionmaker=self._sessionmaker,
            clock=self.clock,
            cipher=self._cipher,
            notifier=self.notifier,
            registry=self.registry,
            ca_pem=self.ca_pem,
            grpc_target=self.grpc_target,
            enroll_target=self.enroll_target,
            uploads_dir=settings.uploads_dir,
        )
        self.app = build_app(context)
        install_payments(self.app, settings, self.clock)
        install_rate_limits(self.app, rate_limits(settings, self.clock, self.redis))
        await self._start_http(self.app)
        await settle_interrupted(self._sessionmaker, self.clock)
        # Every worker sweeps: a sweep is idempotent (each expiry is one guarded transition).
        self._sweeper = asyncio.create_task(
            run_sweeper(self._sessionmaker, self.clock, self.notifier), name="booking-sweeper"
        )
        # Every worker retries due refunds too: each is claimed before it is tried.
        self._refund_sweeper = asyncio.create_task(
            run_refund_sweeper(
                self._sessionmaker,
                self.clock,
                optional_provider_of(self.app),
                self.notifier,
                notify_url=self.http_url + CALLBACK_PATH,
            ),
            name="refund-sweeper",
        )
        logger.info(
            "cloud started",
            extra={
                "http_url": self.http_url,
                "grpc_target": self.grpc_target,
                "data_dir": str(settings.data_dir),
            },
        )

    async def _start_grpc(self, ca: EdgeCA) -> None:
        # Two ports on one server: Connect needs a client certificate of the edge CA (gRPC's own
        # mutual TLS; it cannot ask for an optional certificate), Enroll is for edges that have none.
        settings = self.settings
        now = self.clock.now()
        key_pem, cert_pem = await asyncio.to_thread(ca.server_certificate, settings.data_dir, now)
        self._service = EdgeLinkService(
            sessionmaker=self.sessionmaker,
            clock=self.clock,
            cipher=self.cipher,
            ca=ca,
            notifier=self.notifier,
            registry=self.registry,
            poll_s=settings.feed_poll_s,
        )
        server = grpc.aio.server(options=KEEPALIVE_OPTIONS)
        pb_grpc.add_EdgeLinkServicer_to_server(self._service, server)
        pairs = [(key_pem, cert_pem)]
        link = grpc.ssl_server_credentials(pairs, root_certificates=ca.ca_pem, require_client_auth=True)
        enroll = grpc.ssl_server_credentials(pairs)
        self.grpc_port = server.add_secure_port(f"{settings.grpc_host}:{settings.grpc_port}", link)
        self.enroll_port = server.add_secure_port(f"{settings.grpc_host}:{settings.enroll_port}", enroll)
        if not (self.grpc_port and self.enroll_port):
            raise OSError(f"cannot bind gRPC ports {settings.grpc_port} and {settings.enroll_port}")
        self._grpc = server
        await server.start()
        host = _reachable(settings.grpc_host)
        self.grpc_target = settings.grpc_advertise or f"{host}:{self.grpc_port}"
        self.enroll_target = settings.enroll_advertise or f"{host}:{self.enroll_port}"

    async def _start_http(self, app: FastAPI) -> None:
        settings = self.settings
        family = socket.AF_INET6 if ":" in settings.http_host else socket.AF_INET
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets (else ~40 ms per response).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.http_host, settings.http_port))
        sock.setblocking(False)
        self._http_socket = sock
        self.http_port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        # Not server.serve(): it would take over the process's signal handlers; the caller owns them.
        await server.startup(sockets=[sock])
        self._uvicorn = server
        self._http_task = asyncio.create_task(server.main_loop(), name="cloud-http")

    async def stop_refund_sweeper(self) -> None:
        """Stop this worker's refund sweeper (tests that sweep by hand, on their own clock)."""
        task, self._refund_sweeper = self._refund_sweeper, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def stop(self) -> None:
        """Close edge streams, stop both servers and release the database."""
        for task in (self._sweeper, self._refund_sweeper):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._sweeper = self._refund_sweeper = None
        self.registry.close_all("the cloud is shutting down")
        if self._grpc is not None:
            await self._grpc.stop(None)
            self._grpc = None
        if self._uvicorn is not None and self._http_task is not None:
            self._uvicorn.should_exit = True
            await self._http_task
            await self._uvicorn.shutdown(sockets=[self._http_socket] if self._http_socket else None)
            self._uvicorn = self._http_task = None
        if self._http_socket is not None:
            self._http_socket.close()
            self._http_socket = None
        if self._service is not None:
            await self._service.drain()
        await self.router.stop()
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.aclose()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        logger.info("cloud stopped")

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def rate_limits(settings: CloudSettings, clock: Clock, redis: Redis | None) -> RateLimits:
    """The rate limits of settings, counted in Redis when there is one (else in this process)."""
    limiter: Limiter = RedisLimiter(redis, clock) if redis is not None else MemoryLimiter(clock)
    rules = RateRules(
        login_ip=Rule("login_ip", settings.login_limit_per_ip, settings.login_window_s),
        hold_ip=Rule("hold_ip", settings.hold_limit_per_ip, settings.hold_window_s),
        hold_phone=Rule("hold_phone", settings.hold_limit_per_phone, settings.hold_window_s),
        callback_source=Rule(
            "callback_source", settings.callback_limit_per_source, settings.callback_window_s
        ),
        call_room=Rule("service_call_room", settings.call_limit_per_room, settings.call_window_s),
        call_ip=Rule("service_call_ip", settings.call_limit_per_ip, settings.call_window_s),
    )
    return RateLimits(limiter, rules, trust_forwarded_for=settings.trust_forwarded_for)


async def serve(settings: CloudSettings) -> None:
    """Run a cloud until cancelled."""
    async with CloudServer(settings):
        await asyncio.Event().wait()
