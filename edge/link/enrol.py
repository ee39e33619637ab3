"""Enrolment: a new key and CSR plus the one-time bootstrap token, traded for a certificate and store keys."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.config import CloudConfig
from edge.identity import Identity, save_identity
from protos import edgelink_pb2 as pb
from protos.edgelink_pb2_grpc import EdgeLinkStub

logger = logging.getLogger(__name__)

ENROLL_TIMEOUT_S = 15.0

# Retrying cannot fix these: the token or the request itself is wrong.
_FATAL = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


class EnrolmentError(Exception):
    """Enrolment cannot succeed as configured; `code` is stable (retrying will not help)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def channel_options(server_name: str) -> list[tuple[str, str | int]]:
    """gRPC channel options of every edge channel: TLS name override and keep-alive."""
    return [
        ("grpc.ssl_target_name_override", server_name),
        ("grpc.keepalive_time_ms", 10_000),
        ("grpc.keepalive_timeout_ms", 5_000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.keepalive_permit_without_calls", 1),
    ]


def new_key_and_csr() -> tuple[bytes, bytes]:
    """A fresh EC P-256 private key (PEM) and a CSR for it (the cloud ignores the CSR's subject)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gatehouse-edge")]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


async def enrol(cloud: CloudConfig, data_dir: Path, software_version: str) -> Identity:
    """Enrol this edge and save its identity files; raise EnrolmentError or grpc.aio.AioRpcError."""
    if not cloud.bootstrap_token:
        raise EnrolmentError(
            "no_token", "this edge is not enrolled and its config has no cloud.bootstrap_token"
        )
    try:
        ca_pem = cloud.ca_cert.read_bytes()
    except OSError as err:
        raise EnrolmentError("no_ca", f"cannot read cloud.ca_cert {cloud.ca_cert}: {err}") from err
    key_pem, csr_pem = new_key_and_csr()
    credentials = grpc.ssl_channel_credentials(root_certificates=ca_pem)
    request = pb.EnrollRequest(
        bootstrap_token=cloud.bootstrap_token, csr_pem=csr_pem.decode(), software_version=software_version
    )
    target = cloud.enroll_target or cloud.target
    async with grpc.aio.secure_channel(
        target, credentials, options=channel_options(cloud.server_name)
    ) as channel:
        try:
            response: pb.EnrollResponse = await EdgeLinkStub(channel).Enroll(
                request, timeout=ENROLL_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as err:
            if err.code() in _FATAL:
                raise EnrolmentError(
                    "refused", f"the cloud refused enrolment: {err.code().name}: {err.details()}"
                ) from err
            raise
    if not (
        response.edge_id and response.store_id and response.certificate_pem and response.ca_certificate_pem
    ):
        raise EnrolmentError("bad_response", "the cloud's enrolment answer is incomplete")
    identity = Identity(
        edge_id=response.edge_id,
        store_id=response.store_id,
        key_pem=key_pem,
        cert_pem=response.certificate_pem.encode(),
        ca_pem=response.ca_certificate_pem.encode(),
        store_keys={k.version: bytes(k.key) for k in response.store_keys},
    )
    save_identity(data_dir, identity)
    logger.info(
        "edge enrolled",
        extra={
            "edge_id": identity.edge_id,
            "store_id": identity.store_id,
            "key_versions": sorted(identity.store_keys),
        },
    )
    return identity
