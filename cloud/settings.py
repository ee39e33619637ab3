"""Cloud settings from the environment (prefix GATEHOUSE_); default secrets are refused outside demo mode."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

MASTER_KEY_FILE = "master.key"
PAYMENT_SECRET_FILE = "payment.secret"


class SettingsError(Exception):
    """The settings cannot run a cloud (e.g. no master key outside demo mode)."""


class CloudSettings(BaseSettings):
    """Everything a cloud process needs to start; see the brief's "Cloud settings"."""

    model_config = SettingsConfigDict(env_prefix="GATEHOUSE_", extra="ignore")

    data_dir: Path = Path(".gatehouse/cloud")
    db_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    # Enrolment port: server TLS only (a new edge has no client certificate yet). The link port
    # (grpc_port) requires a client certificate issued by the edge CA.
    enroll_port: int = 50052
    # host:port edges should dial; default: grpc_host (loopback if a wildcard) and the bound port
    grpc_advertise: str | None = None
    enroll_advertise: str | None = None
    demo: bool = False
    master_key: SecretStr | None = None
    feed_poll_s: float = 2.0
    # The payment provider (the simulated WeChat-Pay-like one): its base URL and the shared
    # secret that signs callbacks. Without a URL the cloud takes no payments (503).
    payment_provider_url: str | None = None
    payment_secret: SecretStr | None = None
    # Several workers: Redis (redis://host:port/db) carries feed wake-ups, routed commands and the
    # rate limit counters between them. Without it everything stays in this process.
    redis_url: str | None = None
    worker_id: str | None = None  # default: a random id per process
    # Rate limits (fixed windows; a limit of 0 turns the rule off). Behind a load balancer set
    # trust_forwarded_for so the client's address is the first X-Forwarded-For entry.
    trust_forwarded_for: bool = False
    login_limit_per_ip: int = 30
    login_window_s: int = 60
    hold_limit_per_ip: int = 30
    hold_limit_per_phone: int = 10
    hold_window_s: int = 600
    callback_limit_per_source: int = 600
    callback_window_s: int = 60
    # The room QR page's calls to staff: a table calls a few times an hour (more is a stuck button
    # or someone playing with the QR); one phone, or one café wifi, may sit at several tables.
    call_limit_per_room: int = 6
    call_limit_per_ip: int = 20
    call_window_s: int = 600

    @property
    def database_url(self) -> str:
        """db_url, or the SQLite file in data_dir."""
        if self.db_url:
            return self.db_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'cloud.db'}"

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files (work-order photos) are kept: data_dir/uploads."""
        return self.data_dir / "uploads"

    def resolve_master_key(self) -> bytes:
        """The 32-byte master key: from settings, or (demo only) from data_dir/master.key, made if absent."""
        if self.master_key is not None:
            return _decode_key(self.master_key.get_secret_value())
        if not self.demo:
            raise SettingsError("GATEHOUSE_MASTER_KEY is required outside demo mode")
        path = self.data_dir / MASTER_KEY_FILE
        if path.exists():
            return _decode_key(path.read_text().strip())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return _decode_key(path.read_text().strip())
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(key).decode() + "\n")
        logger.warning("generated a demo master key", extra={"path": str(path)})
        return key

    def resolve_payment_secret(self) -> bytes | None:
        """The provider's shared secret: from settings, or (demo only) data_dir/payment.secret."""
        if self.payment_secret is not None:
            return self.payment_secret.get_secret_value().encode()
        if not self.demo:
            return None
        path = self.data_dir / PAYMENT_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another worker made it first
                return path.read_text().strip().encode()
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
            logger.warning("generated a demo payment secret", extra={"path": str(path)})
        return path.read_text().strip().encode()


def _decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise SettingsError("master key is not valid base64") from err
    if len(key) != 32:
        raise SettingsError("master key must be 32 bytes (base64)")
    return key
