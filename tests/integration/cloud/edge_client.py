"""A minimal test edge: enrols with a CSR and speaks the EdgeLink stream with the generated stubs."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from protos import edgelink_pb2 as pb
from protos import edgelink_pb2_grpc as pb_grpc

SERVER_NAME = "gatehouse-cloud"
OPTIONS = [("grpc.ssl_target_name_override", SERVER_NAME)]


def make_csr(subject: str = "whatever-the-edge-says") -> tuple[bytes, bytes]:
    """(private key PEM, CSR PEM) for a fresh EC key."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


async def enroll(target: str, ca_pem: bytes, token: str, csr_pem: bytes) -> pb.EnrollResponse:
    """Call Enroll over server-authenticated TLS (no client certificate)."""
    credentials = grpc.ssl_channel_credentials(root_certificates=ca_pem)
    async with grpc.aio.secure_channel(target, credentials, options=OPTIONS) as channel:
        stub = pb_grpc.EdgeLinkStub(channel)
        return await stub.Enroll(
            pb.EnrollRequest(bootstrap_token=token, csr_pem=csr_pem.decode(), software_version="test-edge/1")
        )


@dataclass
class Identity:
    """An enrolled test edge's credentials."""

    edge_id: str
    store_id: str
    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes
    store_keys: dict[int, bytes]


async def enroll_new(target: str, ca_pem: bytes, token: str) -> Identity:
    """Make a key and CSR, enrol, and keep the resulting identity."""
    key_pem, csr_pem = make_csr()
    response = await enroll(target, ca_pem, token, csr_pem)
    return Identity(
        edge_id=response.edge_id,
        store_id=response.store_id,
        key_pem=key_pem,
        cert_pem=response.certificate_pem.encode(),
        ca_pem=response.ca_certificate_pem.encode(),
        store_keys={k.version: k.key for k in response.store_keys},
    )


class EdgeLinkClient:
    """One Connect stream with helpers to send and receive typed messages."""

    def __init__(self, target: str, ca_pem: bytes, identity: Identity | None) -> None:
        if identity is None:
            credentials = grpc.ssl_channel_credentials(root_certificates=ca_pem)
        else:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=ca_pem, private_key=identity.key_pem, certificate_chain=identity.cert_pem
            )
        self.channel = grpc.aio.secure_channel(target, credentials, options=OPTIONS)
        self.call = pb_grpc.EdgeLinkStub(self.channel).Connect()

    async def hello(self, store_id: str, last_cursor: int = 0, edge_id: str = "") -> None:
        """Send the Hello."""
        await self.send(
            pb.EdgeMessage(
                hello=pb.Hello(
                    edge_id=edge_id, store_id=store_id, last_cursor=last_cursor, software_version="t/1"
                )
            )
        )

    async def send(self, message: pb.EdgeMessage) -> None:
        """Write one message."""
        await self.call.write(message)

    async def send_events(self, *events: tuple[int, str, dict[str, Any] | str]) -> None:
        """Send an EventBatch of (seq, kind, payload) tuples."""
        batch = pb.EventBatch(
            events=[
                pb.Event(
                    seq=seq,
                    kind=kind,
                    occurred_at_ms=1_700_000_000_000 + seq,
                    payload_json=payload if isinstance(payload, str) else json.dumps(payload),
                )
                for seq, kind, payload in events
            ]
        )
        await self.send(pb.EdgeMessage(events=batch))

    async def recv(self, within: float = 10.0) -> pb.CloudMessage:
        """The next message (fails on end of stream)."""
        async with asyncio.timeout(within):
            message = await self.call.read()
        if message is grpc.aio.EOF:
            raise EOFError("stream ended")
        assert isinstance(message, pb.CloudMessage)
        return message

    async def recv_kind(self, kind: str, within: float = 10.0) -> pb.CloudMessage:
        """The next message whose body is kind, skipping others."""
        async with asyncio.timeout(within):
            while True:
                message = await self.recv(within)
                if message.WhichOneof("body") == kind:
                    return message

    async def close(self) -> None:
        """Close the stream and the channel."""
        self.call.cancel()
        await self.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
