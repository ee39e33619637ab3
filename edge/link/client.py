"""The edge's link to the cloud: enrol once, then one mTLS stream, reconnected forever."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from edge.clock import Clock, SystemClock, now_ms
from edge.config import CloudConfig
from edge.identity import Identity, IdentityError, Keyring, load_identity, save_identity
from edge.link import convert
from edge.link.backoff import BackoffPolicy
from edge.link.commands import CommandRequest, CommandRunner
from edge.link.enrol import EnrolmentError, channel_options, enrol
from edge.store import MAX_BATCH, EdgeStore
from protos import edgelink_pb2 as pb
from protos.edgelink_pb2_grpc import EdgeLinkStub

logger = logging.getLogger(__name__)

# Events sent but not yet acknowledged on one stream before the sender waits for acks.
MAX_IN_FLIGHT = 5_000
WELCOME_TIMEOUT_S = 15.0
CLOCK_SKEW_WARN_MS = 60_000


class LinkError(Exception):
    """The stream broke the protocol; `code` is stable. The link reconnects."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(eq=False)
class _Stream:
    """One live Connect call and what was sent on it."""

    call: grpc.aio.StreamStreamCall[pb.EdgeMessage, pb.CloudMessage]
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_sent: int = 0
    in_flight: set[int] = field(default_factory=set)
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    async def write(self, message: pb.EdgeMessage) -> None:
        """Send one message; raise LinkError when the stream has already ended."""
        # grpc.aio allows one write at a time per call.
        async with self.write_lock:
            try:
                await self.call.write(message)
            except asyncio.InvalidStateError as err:
                code, details = await self.call.code(), await self.call.details()
                raise LinkError("stream_closed", f"stream ended: {code.name}: {details}") from err


StoreDataListener = Callable[[], Awaitable[None]]


class LinkClient:
    """Keeps the edge linked to the cloud: store data in, outbox events out, commands answered."""

    def __init__(
        self,
        cloud: CloudConfig,
        data_dir: Path,
        store: EdgeStore,
        commands: CommandRunner,
        *,
        software_version: str,
        on_store_data: StoreDataListener | None = None,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._cloud = cloud
        self._data_dir = data_dir
        self._store = store
        self._commands = commands
        self._software_version = software_version
        self._on_store_data = on_store_data
        self._rng = rng or random.Random()
        self._clock: Clock = clock or SystemClock()
        # cloud clock - edge clock, measured at each Welcome: command deadlines are the cloud's times.
        self.clock_offset_ms = 0
        self._policy = BackoffPolicy(cloud.reconnect_base_s, cloud.reconnect_cap_s)
        self._stream: _Stream | None = None
        self._up_since: float | None = None
        self._command_tasks: set[asyncio.Task[None]] = set()
        self.identity: Identity | None = load_identity(data_dir)
        self.connected = False
        self.connects = 0
        # Set once store data has been applied from the cloud (the first snapshot or delta after start).
        self.synced = asyncio.Event()
        self.enrolled = asyncio.Event()
        if self.identity is not None:
            self.enrolled.set()

    def keyring(self) -> Keyring | None:
        """The store id and keys for code verification (None until enrolled)."""
        return self.identity.keyring if self.identity is not None else None

    async def run(self) -> None:
        """Enrol if needed, then connect and reconnect forever; raise only when enrolment cannot work."""
        attempt = 0
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._up_since = None
                try:
                    identity = await self._ensure_enrolled()
                    await self._connect(identity)
                except (EnrolmentError, IdentityError):
                    raise
                except grpc.aio.AioRpcError as err:
                    logger.warning(
                        "cloud link failed",
                        extra={
                            "target": self._cloud.target,
                            "code": err.code().name,
                            "details": err.details(),
                        },
                    )
                except (LinkError, OSError) as err:
                    logger.warning(
                        "cloud link failed", extra={"target": self._cloud.target, "error": str(err)}
                    )
                except Exception:
                    # The link must outlive any surprise: redemption keeps working and the outbox waits.
                    logger.exception("cloud link crashed", extra={"target": self._cloud.target})
                finally:
                    self._stream = None
                    self.connected = False
                connected_for = None if self._up_since is None else loop.time() - self._up_since
                attempt = self._policy.next_attempt(attempt, connected_for)
                delay = self._policy.delay(attempt, self._rng.random())
                logger.info("cloud link reconnecting", extra={"attempt": attempt, "delay_s": round(delay, 3)})
                await asyncio.sleep(delay)
        finally:
            for task in list(self._command_tasks):
                task.cancel()
            for task in list(self._command_tasks):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _ensure_enrolled(self) -> Identity:
        if self.identity is None:
            self.identity = await enrol(self._cloud, self._data_dir, self._software_version)
            self.enrolled.set()
        return self.identity

    async def _connect(self, identity: Identity) -> None:
        """Run one stream until it ends (`_up_since` is set once the cloud welcomed it)."""
        credentials = grpc.ssl_channel_credentials(
            root_certificates=identity.ca_pem,
            private_key=identity.key_pem,
            certificate_chain=identity.cert_pem,
        )
        async with grpc.aio.secure_channel(
            self._cloud.target, credentials, options=channel_options(self._cloud.server_name)
        ) as channel:
            call = EdgeLinkStub(channel).Connect()
            stream = _Stream(call)
            try:
                cursor = await self._store.cursor()
                await stream.write(
                    convert.hello(identity.edge_id, identity.store_id, cursor, self._software_version)
                )
                await self._welcome(call, identity)
                self._up_since = asyncio.get_running_loop().time()
                self._stream = stream
                self.connected = True
                self.connects += 1
                logger.info("cloud link up", extra={"edge_id": identity.edge_id, "cursor": cursor})
                await self._pump(stream)
            finally:
                call.cancel()

    async def _pump(self, stream: _Stream) -> None:
        """Read and send until either side of the stream stops; re-raise the first failure."""
        reader = asyncio.create_task(self._read_loop(stream), name="edge-link-reader")
        sender = asyncio.create_task(self._send_loop(stream), name="edge-link-sender")
        try:
            await asyncio.wait({reader, sender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, sender):
                task.cancel()
            outcomes = await asyncio.gather(reader, sender, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
        logger.info("cloud link closed by the cloud")

    async def _welcome(
        self, call: grpc.aio.StreamStreamCall[pb.EdgeMessage, pb.CloudMessage], identity: Identity
    ) -> None:
        async with asyncio.timeout(WELCOME_TIMEOUT_S):
            message = await call.read()
        if message is grpc.aio.EOF:
            raise LinkError("no_welcome", "the cloud closed the stream before its Welcome")
        assert isinstance(message, pb.CloudMessage)
        if message.WhichOneof("body") != "welcome":
            raise LinkError("no_welcome", f"expected Welcome, got {message.WhichOneof('body')}")
        if message.welcome.store_id and message.welcome.store_id != identity.store_id:
            raise LinkError(
                "wrong_store", f"cloud welcomed store {message.welcome.store_id}, edge is {identity.store_id}"
            )
        if message.welcome.server_time_ms > 0:
            self.clock_offset_ms = message.welcome.server_time_ms - now_ms(self._clock)
            if abs(self.clock_offset_ms) > CLOCK_SKEW_WARN_MS:
                logger.warning(
                    "edge clock differs from the cloud's", extra={"offset_ms": self.clock_offset_ms}
                )
        keys = {k.version: k.key for k in message.welcome.store_keys}
        if keys and keys != dict(identity.store_keys):
            # A rotation: keep every version the cloud still lists, written 0600 before use.
            updated = dataclasses.replace(identity, store_keys=keys)
            await asyncio.to_thread(save_identity, self._data_dir, updated)
            self.identity = updated
            logger.info("store keys updated", extra={"versions": sorted(keys)})

    # ---- cloud -> edge ----

    async def _read_loop(self, stream: _Stream) -> None:
        while True:
            message = await stream.call.read()
            if message is grpc.aio.EOF:
                return
            assert isinstance(message, pb.CloudMessage)
            body = message.WhichOneof("body")
            if body == "store_data":
                await self._apply_store_data(message.store_data)
            elif body == "event_ack":
                await self._ack(stream, list(message.event_ack.seqs))
            elif body == "command":
                self._start_command(stream, message.command)
            elif body == "welcome":
                logger.debug("extra welcome ignored")
            else:
                logger.warning("unknown cloud message ignored", extra={"body": body})

    async def _apply_store_data(self, data: pb.StoreData) -> None:
        changes = convert.changes_from_pb(data)
        await self._store.apply_store_data(data.snapshot, data.cursor, changes)
        logger.info(
            "store data applied",
            extra={"snapshot": data.snapshot, "cursor": data.cursor, "changes": len(changes)},
        )
        if self._on_store_data is not None:
            await self._on_store_data()
        self.synced.set()

    async def _ack(self, stream: _Stream, seqs: list[int]) -> None:
        await self._store.ack(seqs)
        stream.in_flight.difference_update(seqs)
        stream.acked.set()

    def _start_command(self, stream: _Stream, command: pb.Command) -> None:
        request = convert.command_from_pb(command)
        if request.deadline_ms:
            # The deadline is on the cloud's clock: judge it on the edge's, skew removed.
            request = dataclasses.replace(request, deadline_ms=request.deadline_ms - self.clock_offset_ms)
        # Commands outlive their stream: a result computed after a reconnect is stored for the replay.
        task = asyncio.create_task(self._answer(stream, request), name=f"edge-command {request.id}")
        self._command_tasks.add(task)
        task.add_done_callback(self._command_tasks.discard)

    async def _answer(self, stream: _Stream, request: CommandRequest) -> None:
        try:
            reply = await self._commands.run(request)
        except Exception:
            logger.exception("command crashed", extra={"command_id": request.id, "kind": request.kind})
            return
        if self._stream is not stream:
            logger.info("command result kept for the cloud's replay", extra={"command_id": request.id})
            return
        try:
            await stream.write(convert.command_result(reply))
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, LinkError) as err:
            logger.info("command result not sent", extra={"command_id": request.id, "error": str(err)})

    # ---- edge -> cloud ----

    async def _send_loop(self, stream: _Stream) -> None:
        """Stream the outbox in seq order; after a reconnect everything unacknowledged goes again."""
        outbox = self._store.outbox_changed
        outbox.set()
        while True:
            await outbox.wait()
            outbox.clear()
            while True:
                if len(stream.in_flight) >= MAX_IN_FLIGHT:
                    stream.acked.clear()
                    await stream.acked.wait()
                    continue
                batch = await self._store.outbox_after(stream.last_sent, MAX_BATCH)
                if not batch:
                    break
                await stream.write(convert.event_batch(batch))
                stream.last_sent = batch[-1].seq
                stream.in_flight.update(e.seq for e in batch)
                logger.debug("events sent", extra={"count": len(batch), "last_seq": stream.last_sent})
