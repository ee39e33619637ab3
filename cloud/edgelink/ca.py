"""The edge CA: made on first start in the data dir; signs the gRPC server cert and edge client certs."""

from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

CA_KEY_FILE = "ca.key"
CA_CERT_FILE = "ca.pem"
SERVER_KEY_FILE = "server.key"
SERVER_CERT_FILE = "server.crt"
SERVER_DNS_NAMES = ("localhost", "gatehouse-cloud")
SERVER_IPS = ("127.0.0.1",)
CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=365)
EDGE_LIFETIME = timedelta(days=365)
RENEW_BEFORE = timedelta(days=30)
BACKDATE = timedelta(minutes=5)  # tolerate edges whose clock is a little behind


class CsrRejected(ValueError):
    """A CSR that cannot be signed (unparsable, bad signature, unsupported key)."""


@dataclass(frozen=True, slots=True)
class IssuedCert:
    """A certificate issued to an edge."""

    pem: bytes
    serial: str  # hex


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gatehouse"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


class EdgeCA:
    """The CA that edges and the cloud's gRPC server trust."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self._key = key
        self.cert = cert

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate (PEM), given to edges as their trust anchor."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def create(cls, now: datetime) -> EdgeCA:
        """A fresh self-signed CA (EC P-256)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("Gatehouse Edge CA")
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load_or_create(cls, data_dir: Path, now: datetime) -> EdgeCA:
        """Load the CA from data_dir, or make it there (key file mode 0600) on first start."""
        data_dir.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = data_dir / CA_KEY_FILE, data_dir / CA_CERT_FILE
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not an EC private key")
            return cls(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))
        ca = cls.create(now)
        _write_private(key_path, _key_pem(ca._key))
        _write_public(cert_path, ca.ca_pem)
        logger.info("created the edge CA", extra={"path": str(cert_path)})
        return ca

    def _issue(
        self,
        builder: x509.CertificateBuilder,
        public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
        usage: x509.ObjectIdentifier,
    ) -> x509.Certificate:
        return (
            builder.issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )

    def server_certificate(self, data_dir: Path, now: datetime) -> tuple[bytes, bytes]:
        """(key PEM, cert PEM) of the gRPC server; reused from data_dir while valid, else made anew."""
        key_path, cert_path = data_dir / SERVER_KEY_FILE, data_dir / SERVER_CERT_FILE
        if key_path.exists() and cert_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if cert.issuer == self.cert.subject and cert.not_valid_after_utc - RENEW_BEFORE > now:
                try:
                    cert.verify_directly_issued_by(self.cert)
                    return key_path.read_bytes(), cert_path.read_bytes()
                except (ValueError, TypeError, InvalidSignature):
                    logger.warning("server certificate not issued by this CA: making a new one")
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_DNS_NAMES]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name("gatehouse-cloud"))
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + SERVER_LIFETIME)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        )
        cert = self._issue(builder, key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH)
        key_pem, cert_pem = _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)
        _write_private(key_path, key_pem)
        _write_public(cert_path, cert_pem)
        return key_pem, cert_pem

    def sign_csr(self, csr_pem: bytes, edge_id: str, now: datetime) -> IssuedCert:
        """A client certificate for the CSR's key with subject CN = edge_id (the CSR's subject is ignored)."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as err:
            raise CsrRejected("not a PEM certificate signing request") from err
        if not csr.is_signature_valid:
            raise CsrRejected("the CSR's signature does not verify")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise CsrRejected("only EC and RSA keys are supported")
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(edge_id))
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + EDGE_LIFETIME)
        )
        cert = self._issue(builder, public_key, ExtendedKeyUsageOID.CLIENT_AUTH)
        return IssuedCert(
            pem=cert.public_bytes(serialization.Encoding.PEM), serial=format(cert.serial_number, "x")
        )


def cert_serial(cert_pem: bytes) -> str:
    """The hex serial of a PEM certificate."""
    return format(x509.load_pem_x509_certificate(cert_pem).serial_number, "x")
