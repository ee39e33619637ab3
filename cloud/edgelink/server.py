"""The gRPC adapter of the edge link (EdgeLink servicer); the only place that speaks protobuf."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import grpc
from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud import metrics
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.edgelink import feed
from cloud.edgelink.ca import CsrRejected, EdgeCA
from cloud.edgelink.commands import (
    CloseLink,
    CommandReply,
    Link,
    LinkRegistry,
    Outgoing,
    OutgoingAck,
    OutgoingCommand,
    parse_result,
)
from cloud.edgelink.events import ingest_events
from cloud.edgelink.model import FeedBatch, FeedEntity, FeedItem, IncomingEvent
from cloud.edgelink.notifier import FeedNotifier, FeedSubscription
from cloud.edgelink.services import EnrolRefused, LinkRefused, check_link, enrol, is_revoked, mark_link
from cloud.faults.services import redeliver_pending
from cloud.storekeys.keyring import load_keys
from protos import edgelink_pb2 as pb
from protos import edgelink_pb2_grpc as pb_grpc

logger = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0
Context = grpc.aio.ServicerContext[pb.EdgeMessage, pb.CloudMessage]

KEEPALIVE_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
]


# ---- conversions (domain <-> protobuf), kept at this boundary ----


def _str(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return "" if value is None else str(value)


def _int(payload: Mapping[str, Any], key: str) -> int:
    value = payload.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _settings(payload: Mapping[str, Any], key: str) -> dict[str, int]:
    """Room-session settings of a feed payload (keys to whole numbers; anything else is dropped)."""
    value = payload.get(key)
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}


def change_to_proto(item: FeedItem) -> pb.Change:
    """One feed item as a Change (a tombstone carries only the id)."""
    p, change = item.payload, pb.Change(cursor=item.cursor, deleted=item.deleted)
    if item.entity is FeedEntity.STORE:
        change.store.CopyFrom(
            pb.StoreInfo(id=item.entity_id)
            if item.deleted
            else pb.StoreInfo(
                id=_str(p, "id"),
                tenant_id=_str(p, "tenant_id"),
                name=_str(p, "name"),
                timezone=_str(p, "timezone"),
                early_grace_s=_int(p, "early_grace_s"),
                key_versions=[v for v in p.get("key_versions", []) if isinstance(v, int)],
                chain_settings=_settings(p, "chain_settings"),
                store_settings=_settings(p, "store_settings"),
            )
        )
    elif item.entity is FeedEntity.ROOM:
        change.room.CopyFrom(
            pb.Room(id=item.entity_id)
            if item.deleted
            else pb.Room(
                id=_str(p, "id"),
                name=_str(p, "name"),
                kind=_str(p, "kind"),
                type_settings=_settings(p, "type_settings"),
                zone=_str(p, "zone"),
            )
        )
    elif item.entity is FeedEntity.DEVICE:
        config = p.get("config") if isinstance(p.get("config"), dict) else {}
        change.device.CopyFrom(
            pb.Device(id=item.entity_id)
            if item.deleted
            else pb.Device(
                id=_str(p, "id"),
                room_id=_str(p, "room_id"),
                kind=_str(p, "kind"),
                protocol=_str(p, "protocol"),
                config={str(k): str(v) for k, v in (config or {}).items()},
                zone=_str(p, "zone"),
            )
        )
    elif item.entity is FeedEntity.STAFF:
        change.staff.CopyFrom(
            pb.Staff(id=item.entity_id)
            if item.deleted
            else pb.Staff(
                id=_str(p, "id"),
                username=_str(p, "username"),
                display_name=_str(p, "display_name"),
                role=_str(p, "role"),
                password_hash=_str(p, "password_hash"),
                active=p.get("active") is True,
            )
        )
    else:
        change.booking.CopyFrom(
            pb.Booking(ref=item.entity_id)
            if item.deleted
            else pb.Booking(
                ref=_str(p, "ref"),
                room_id=_str(p, "room_id"),
                starts_at=_int(p, "starts_at"),
                ends_at=_int(p, "ends_at"),
                order_no=_str(p, "order_no"),
                phone_last4=_str(p, "phone_last4"),
                status=_str(p, "status"),
            )
        )
    return change


def batch_to_proto(batch: FeedBatch) -> pb.StoreData:
    """A snapshot or delta as StoreData."""
    return pb.StoreData(
        cursor=batch.cursor, snapshot=batch.snapshot, changes=[change_to_proto(i) for i in batch.items]
    )


def outgoing_to_proto(item: FeedBatch | OutgoingAck | OutgoingCommand) -> pb.CloudMessage:
    """A queued outgoing item as a CloudMessage."""
    if isinstance(item, FeedBatch):
        return pb.CloudMessage(store_data=batch_to_proto(item))
    if isinstance(item, OutgoingAck):
        return pb.CloudMessage(event_ack=pb.EventAck(seqs=list(item.seqs)))
    return pb.CloudMessage(
        command=pb.Command(
            id=item.id,
            kind=item.kind,
            deadline_ms=int(item.deadline.timestamp() * 1000),
            args_json=json.dumps(item.args),
        )
    )


def events_from_proto(batch: pb.EventBatch) -> list[IncomingEvent]:
    """The events of an EventBatch."""
    return [
        IncomingEvent(
            seq=e.seq,
            kind=e.kind,
            occurred_at=datetime.fromtimestamp(e.occurred_at_ms / 1000, UTC),
            payload_json=e.payload_json,
        )
        for e in batch.events
    ]


def reply_from_proto(result: pb.CommandResult) -> CommandReply:
    """A CommandResult as a CommandReply."""
    return CommandReply(
        command_id=result.command_id,
        ok=result.ok,
        code=result.code or ("ok" if result.ok else "error"),
        message=result.message,
        result=parse_result(result.result_json),
    )


def _first(values: Iterable[bytes] | None) -> bytes | None:
    for value in values or ():
        return value
    return None


def peer_identity(context: Context) -> tuple[str | None, str | None]:
    """(edge id from the client certificate's CN, the certificate's hex serial) — None when absent."""
    auth = context.auth_context()
    common_name = _first(auth.get("x509_common_name"))
    pem = _first(auth.get("x509_pem_cert"))
    serial = None
    if pem:
        try:
            serial = format(x509.load_pem_x509_certificate(pem).serial_number, "x")
        except ValueError:
            serial = None
    return (common_name.decode() if common_name else None), serial


# ---- the servicer ----


class EdgeLinkService(pb_grpc.EdgeLinkServicer):
    """Enrolment and the per-store stream: store data out, events in, commands both ways."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        cipher: FieldCipher,
        ca: EdgeCA,
        notifier: FeedNotifier,
        registry: LinkRegistry,
        poll_s: float = 2.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._cipher = cipher
        self._ca = ca
        self._notifier = notifier
        self._registry = registry
        self._poll_s = poll_s
        self._background: set[asyncio.Task[None]] = set()

    async def Enroll(self, request: pb.EnrollRequest, context: Context) -> pb.EnrollResponse:
        """Check the one-time token, sign the CSR, hand over the certificate, CA and store keys."""
        try:
            async with self._sessionmaker() as session:
                result = await enrol(
                    session,
                    self._clock,
                    self._cipher,
                    self._ca,
                    bootstrap_token=request.bootstrap_token,
                    csr_pem=request.csr_pem.encode(),
                    software_version=request.software_version,
                )
        except EnrolRefused as err:
            logger.warning("enrolment refused", extra={"code": err.code})
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"enrolment refused: {err.code}")
        except CsrRejected as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        return pb.EnrollResponse(
            edge_id=result.edge_id,
            store_id=result.store_id,
            certificate_pem=result.certificate_pem.decode(),
            ca_certificate_pem=result.ca_pem.decode(),
            store_keys=[pb.StoreKey(version=v, key=k) for v, k in sorted(result.store_keys.items())],
        )

    async def Connect(
        self, request_iterator: AsyncIterator[pb.EdgeMessage], context: Context
    ) -> AsyncIterator[pb.CloudMessage]:
        """The stream: Hello first, then Welcome and store data, then events/acks and commands/results."""
        edge_id, serial = peer_identity(context)
        if not edge_id:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "a client certificate is required")
        try:
            async with self._sessionmaker() as session:
                edge = await check_link(session, edge_id, serial)
        except LinkRefused as err:
            logger.warning("stream refused", extra={"edge_id": edge_id, "code": err.code})
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{err.code}: {err.detail}")
        requests = aiter(request_iterator)
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_S):
                first = await anext(requests)
        except StopAsyncIteration:
            return
        except TimeoutError:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "no Hello received")
        if first.WhichOneof("body") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Hello must come first")
        hello = first.hello
        if hello.store_id != edge.store_id:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"edge {edge_id} does not serve {hello.store_id}"
            )
        if hello.edge_id and hello.edge_id != edge_id:
            logger.warning("hello names another edge; using the certificate's", extra={"edge_id": edge_id})
        link = Link(edge_id=edge_id, store_id=edge.store_id)
        subscription = self._notifier.subscribe(edge.store_id)
        self._registry.add(link)
        metrics.EDGES_CONNECTED.inc()
        tasks: list[asyncio.Task[None]] = []
        log = {"edge_id": edge_id, "store_id": edge.store_id}
        logger.info("edge connected", extra={**log, "last_cursor": hello.last_cursor})
        try:
            async with self._sessionmaker() as session:
                await mark_link(
                    session, self._clock, edge_id, connected=True, software_version=hello.software_version
                )
                batch = await feed.read_sync(session, edge.store_id, hello.last_cursor, self._clock.now())
                keys = await load_keys(session, self._cipher, edge.store_id)
            server_ms = int(self._clock.now().timestamp() * 1000)
            welcome = pb.Welcome(
                server_time_ms=server_ms,
                store_id=edge.store_id,
                store_keys=[pb.StoreKey(version=v, key=k) for v, k in sorted(keys.items())],
            )
            yield pb.CloudMessage(welcome=welcome)
            link.cursor = batch.cursor
            yield pb.CloudMessage(store_data=batch_to_proto(batch))
            # Fault resolutions the edge missed while offline: it returns those rooms to service now.
            self._spawn(self._redeliver(link))
            tasks = [
                asyncio.create_task(self._read(link, requests), name=f"edgelink-read-{edge_id}"),
                asyncio.create_task(self._follow(link, subscription), name=f"edgelink-feed-{edge_id}"),
            ]
            while True:
                item: Outgoing = await link.outbox.get()
                if link.closing is not None:
                    item = link.closing
                if isinstance(item, CloseLink):
                    logger.info("closing edge stream", extra={**log, "reason": item.reason})
                    if item.status is not None:
                        await context.abort(grpc.StatusCode[item.status], item.reason)
                    return
                yield outgoing_to_proto(item)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            subscription.close()
            self._registry.remove(link)
            link.fail_pending()
            metrics.EDGES_CONNECTED.dec()
            logger.info("edge disconnected", extra=log)
            self._spawn(self._mark_disconnected(link))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _redeliver(self, link: Link) -> None:
        try:
            sent = await redeliver_pending(self._sessionmaker, self._clock, self._registry, link.store_id)
        except Exception:
            logger.exception("fault resolutions not redelivered", extra={"store_id": link.store_id})
            return
        if sent:
            logger.info("fault resolutions redelivered", extra={"store_id": link.store_id, "count": sent})

    async def _mark_disconnected(self, link: Link) -> None:
        if any(other.edge_id == link.edge_id for other in self._registry.for_edge(link.edge_id)):
            return  # a newer stream of this edge is open here
        try:
            async with self._sessionmaker() as session:
                await mark_link(session, self._clock, link.edge_id, connected=False)
        except Exception:
            logger.exception("could not record an edge's disconnection", extra={"edge_id": link.edge_id})

    async def drain(self) -> None:
        """Wait for bookkeeping started by closed streams (call before disposing the engine)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _read(self, link: Link, requests: AsyncIterator[pb.EdgeMessage]) -> None:
        log = {"edge_id": link.edge_id, "store_id": link.store_id}
        try:
            async for message in requests:
                body = message.WhichOneof("body")
                if body == "events":
                    events = events_from_proto(message.events)
                    result = await ingest_events(
                        self._sessionmaker,
                        self._notifier,
                        self._clock,
                        edge_id=link.edge_id,
                        store_id=link.store_id,
                        events=events,
                    )
                    link.send(OutgoingAck(result.acked))
                    logger.debug(
                        "events ingested",
                        extra={**log, "new": result.recorded, "duplicates": result.duplicates},
                    )
                elif body == "command_result":
                    if not link.resolve(reply_from_proto(message.command_result)):
                        logger.info(
                            "late or unknown command result",
                            extra={**log, "command_id": message.command_result.command_id},
                        )
                else:
                    logger.warning("unexpected message on the stream ignored", extra={**log, "body": body})
            link.close(None, "the edge closed its side of the stream")
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("edge stream reader failed", extra=log)
            link.close("UNAVAILABLE", "the cloud could not process the stream; reconnect")

    async def _follow(self, link: Link, subscription: FeedSubscription) -> None:
        log = {"edge_id": link.edge_id, "store_id": link.store_id}
        while True:
            # Woken by any worker's commits (other workers' through the bus); the timeout is the safety
            # net for wake-ups lost while the bus was down, and for revocations.
            await subscription.wait(self._poll_s)
            try:
                async with self._sessionmaker() as session:
                    if await is_revoked(session, link.edge_id):
                        link.close("PERMISSION_DENIED", "edge revoked")
                        return
                    batch = await feed.read_delta(session, link.store_id, link.cursor)
            except Exception:
                logger.exception("store feed poll failed", extra=log)
                continue
            if batch.items:
                link.cursor = batch.cursor
                link.send(batch)
