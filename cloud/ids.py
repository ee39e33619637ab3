"""Random identifiers and secrets: short slug-like ids usable inside redemption codes."""

from __future__ import annotations

import base64
import hashlib
import secrets

_DIGITS = "0123456789"


def _base32(nbytes: int) -> str:
    return base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=")


def new_id(prefix: str, length: int = 8) -> str:
    """`prefix-` followed by `length` random lowercase base32 characters, e.g. "s-k3j5q2xa"."""
    return f"{prefix}-{_base32(length)[:length].lower()}"


def new_booking_ref() -> str:
    """A booking reference: "B" and 10 upper-case base32 characters."""
    return "B" + _base32(10)[:10]


def new_order_no(length: int = 10) -> str:
    """A numeric order number (no leading zero), typed by hand at the fallback keypad."""
    first = secrets.choice(_DIGITS[1:])
    return first + "".join(secrets.choice(_DIGITS) for _ in range(length - 1))


def new_secret_token(prefix: str) -> str:
    """A bearer secret shown once, e.g. "gh_…"; only its hash is stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """The sha256 hex digest under which a secret token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()
