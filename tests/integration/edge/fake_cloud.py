"""An in-memory cloud for edge tests: a real grpc.aio EdgeLink server over TLS with test-made certificates."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from protos import edgelink_pb2 as pb
from protos.edgelink_pb2_grpc import EdgeLinkServicer, add_EdgeLinkServicer_to_server

WAIT_S = 10.0


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class TestCA:
    """A self-signed edge CA, its server certificate, and CSR signing (what the real cloud does)."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test edge CA")])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)
        server_key = ec.generate_private_key(ec.SECP256R1())
        sans = x509.SubjectAlternativeName(
            [
                x509.DNSName("localhost"),
                x509.DNSName("gatehouse-cloud"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]
        )
        server_cert = self._issue(
            "gatehouse-cloud", server_key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH, sans
        )
        self.server_key_pem = _pem_key(server_key)
        self.server_cert_pem = server_cert.public_bytes(serialization.Encoding.PEM)

    def _issue(
        self,
        common_name: str,
        public_key: Any,
        usage: x509.ObjectIdentifier,
        sans: x509.SubjectAlternativeName | None = None,
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans is not None:
            builder = builder.add_extension(sans, critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def sign_csr(self, csr_pem: bytes, common_name: str) -> bytes:
        """A client certificate for the CSR's key, CN = common_name (the CSR's subject is ignored)."""
        csr = x509.load_pem_x509_csr(csr_pem)
        if not csr.is_signature_valid:
            raise ValueError("bad CSR signature")
        cert = self._issue(common_name, csr.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH)
        return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class _Link:
    """One connected edge stream: what to send it."""

    edge_id: str
    outgoing: asyncio.Queue[pb.CloudMessage] = field(default_factory=asyncio.Queue)


class FakeCloud(EdgeLinkServicer):
    """EdgeLink per protos/README.md, in memory: enrols one edge, serves store data, records events once."""

    def __init__(
        self,
        *,
        store_id: str,
        store_keys: dict[int, bytes],
        edge_id: str = "edge-1",
        token: str = "bootstrap-token",
    ) -> None:
        self.ca = TestCA()
        self.store_id = store_id
        self.store_keys = store_keys
        self.edge_id = edge_id
        self.token: str | None = token
        self.port = 0
        self.enroll_port = 0
        self.items: dict[tuple[str, str], pb.Change] = {}
        self.cursor = 0
        self.events: dict[int, pb.Event] = {}  # deduplicated by seq, as the real cloud does
        self.received: list[int] = []  # every seq received, duplicates included
        self.hellos: list[pb.Hello] = []
        self.results: list[pb.CommandResult] = []
        self.enrolments = 0
        self.ack = True
        self._server: grpc.aio.Server | None = None
        self._links: list[_Link] = []
        self._changed = asyncio.Condition()

    # ---- lifetime ----

    def write_ca(self, path: Path) -> Path:
        """Write the CA PEM an edge is configured to trust."""
        path.write_bytes(self.ca.pem)
        return path

    async def start(self) -> None:
        """Serve on 127.0.0.1 (the same ports again after a stop).

        Two ports: Python's gRPC cannot ask for a client certificate without requiring it, so Enroll
        (no client certificate yet) has a TLS port of its own and Connect a port that requires mTLS.
        """
        server = grpc.aio.server(
            options=[
                ("grpc.keepalive_time_ms", 10_000),
                ("grpc.keepalive_timeout_ms", 5_000),
                ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
                ("grpc.keepalive_permit_without_calls", 1),
            ]
        )
        add_EdgeLinkServicer_to_server(self, server)
        pairs = [(self.ca.server_key_pem, self.ca.server_cert_pem)]
        mtls = grpc.ssl_server_credentials(pairs, root_certificates=self.ca.pem, require_client_auth=True)
        tls = grpc.ssl_server_credentials(pairs, root_certificates=self.ca.pem, require_client_auth=False)
        self.port = server.add_secure_port(f"127.0.0.1:{self.port}", mtls)
        self.enroll_port = server.add_secure_port(f"127.0.0.1:{self.enroll_port}", tls)
        await server.start()
        self._server = server

    async def stop(self) -> None:
        """Stop serving and drop every stream at once."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(None)
        self._links.clear()

    @property
    def target(self) -> str:
        """host:port of the link (mTLS) for the edge's config."""
        return f"127.0.0.1:{self.port}"

    @property
    def enroll_target(self) -> str:
        """host:port of enrolment (TLS without a client certificate)."""
        return f"127.0.0.1:{self.enroll_port}"

    # ---- store data and commands ----

    def put(self, *changes: pb.Change) -> int:
        """Record changes (each stamped with the next cursor); live edges get them as one delta."""
        delta = []
        for change in changes:
            self.cursor += 1
            change.cursor = self.cursor
            field_name = change.WhichOneof("item")
            assert field_name is not None
            item = getattr(change, field_name)
            key = (field_name, item.ref if field_name == "booking" else item.id)
            self.items[key] = change
            delta.append(change)
        for link in self._links:
            link.outgoing.put_nowait(
                pb.CloudMessage(store_data=pb.StoreData(cursor=self.cursor, snapshot=False, changes=delta))
            )
        return self.cursor

    def command(self, command_id: str, kind: str, args: dict[str, Any], deadline_ms: int = 0) -> None:
        """Send a command to every live edge."""
        message = pb.CloudMessage(
            command=pb.Command(id=command_id, kind=kind, deadline_ms=deadline_ms, args_json=json.dumps(args))
        )
        for link in self._links:
            link.outgoing.put_nowait(message)

    def _store_data_for(self, last_cursor: int) -> pb.StoreData:
        if last_cursor <= 0 or last_cursor > self.cursor:
            changes = sorted(self.items.values(), key=lambda c: c.cursor)
            return pb.StoreData(cursor=self.cursor, snapshot=True, changes=changes)
        changes = sorted((c for c in self.items.values() if c.cursor > last_cursor), key=lambda c: c.cursor)
        return pb.StoreData(cursor=self.cursor, snapshot=False, changes=changes)

    # ---- what was received ----

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        """Payloads of the recorded (deduplicated) events of one kind, in seq order."""
        return [json.loads(e.payload_json) for _, e in sorted(self.events.items()) if e.kind == kind]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_S) -> None:
        """Wait until predicate() holds (re-checked whenever the cloud receives something)."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    @property
    def connected(self) -> bool:
        """True while an edge stream is open."""
        return bool(self._links)

    # ---- the servicer ----

    async def Enroll(
        self, request: pb.EnrollRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.EnrollResponse:
        if self.token is None or request.bootstrap_token != self.token:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown, used or expired bootstrap token")
        self.token = None  # one use
        self.enrolments += 1
        certificate = self.ca.sign_csr(request.csr_pem.encode(), self.edge_id)
        return pb.EnrollResponse(
            edge_id=self.edge_id,
            store_id=self.store_id,
            certificate_pem=certificate.decode(),
            ca_certificate_pem=self.ca.pem.decode(),
            store_keys=[pb.StoreKey(version=v, key=k) for v, k in self.store_keys.items()],
        )

    # Streams with context.read()/write() instead of returning an iterator.
    async def Connect(  # type: ignore[override]
        self, request_iterator: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        names = list(context.auth_context().get("x509_common_name", []))
        if not names:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "client certificate required")
        edge_id = names[0].decode()
        if edge_id != self.edge_id:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "unknown edge")
        first = await context.read()
        assert isinstance(first, pb.EdgeMessage) and first.WhichOneof("body") == "hello"
        self.hellos.append(first.hello)
        link = _Link(edge_id)
        await context.write(pb.CloudMessage(welcome=pb.Welcome(server_time_ms=0, store_id=self.store_id)))
        await context.write(pb.CloudMessage(store_data=self._store_data_for(first.hello.last_cursor)))
        self._links.append(link)
        await self._notify()
        reader = asyncio.create_task(self._read(context, link))
        getter: asyncio.Task[pb.CloudMessage] | None = None
        try:
            while not reader.done():
                getter = asyncio.create_task(link.outgoing.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await context.write(getter.result())
        finally:
            for task in (reader, getter):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            if link in self._links:
                self._links.remove(link)

    async def _read(self, context: grpc.aio.ServicerContext[Any, Any], link: _Link) -> None:
        while True:
            message = await context.read()
            if message is grpc.aio.EOF:
                return
            assert isinstance(message, pb.EdgeMessage)
            body = message.WhichOneof("body")
            if body == "events":
                seqs = []
                for event in message.events.events:
                    self.received.append(event.seq)
                    self.events.setdefault(event.seq, event)
                    seqs.append(event.seq)
                if self.ack:
                    link.outgoing.put_nowait(pb.CloudMessage(event_ack=pb.EventAck(seqs=seqs)))
            elif body == "command_result":
                self.results.append(message.command_result)
            await self._notify()


def store_change(**fields: Any) -> pb.Change:
    """A StoreInfo change."""
    return pb.Change(store=pb.StoreInfo(**fields))


def room_change(room_id: str, name: str = "", kind: str = "mahjong") -> pb.Change:
    """A Room change."""
    return pb.Change(room=pb.Room(id=room_id, name=name or room_id, kind=kind))


def device_change(device_id: str, kind: str, protocol: str, room_id: str = "", **config: str) -> pb.Change:
    """A Device change."""
    return pb.Change(
        device=pb.Device(id=device_id, room_id=room_id, kind=kind, protocol=protocol, config=config)
    )


def booking_change(
    ref: str,
    room_id: str,
    starts_at: int,
    ends_at: int,
    *,
    order_no: str = "",
    phone_last4: str = "",
    status: str = "confirmed",
) -> pb.Change:
    """A Booking change."""
    return pb.Change(
        booking=pb.Booking(
            ref=ref,
            room_id=room_id,
            starts_at=starts_at,
            ends_at=ends_at,
            order_no=order_no,
            phone_last4=phone_last4,
            status=status,
        )
    )
