"""The redemption code scheme shared by cloud and edge: pure functions, no I/O, no clock reads.

A code is a rotating token drawn on the customer's phone. It names everything the edge needs to
check it alone: store, key version, booking ref, room, booking window and the minute it was made,
sealed by an HMAC keyed with the per-booking key HMAC(store key, "booking:" + ref). The edge holds
the store key, so it can verify a code for a booking it has never heard of.

    GH1.<store>.<key version>.<ref>.<room>.<start min>.<end min>.<minute>.<mac>

Times are unix minutes (base 10), the MAC is the first 16 bytes of HMAC-SHA256, base32 without
padding. A code made at minute m is accepted while the verifier's minute n satisfies
m - SKEW_MINUTES <= n <= m + VALID_MINUTES - 1: valid for three minutes after it is made, and
tolerant of a phone clock one minute fast or slow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "GH1"
ROTATE_SECONDS = 60
VALID_MINUTES = 3
SKEW_MINUTES = 1
MAC_BYTES = 16
MAX_CODE_LENGTH = 256

_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_MAC = re.compile(r"^[A-Z2-7]{26}$")


class Refusal(StrEnum):
    """Stable reason codes for a code that does not verify."""

    MALFORMED = "malformed"
    WRONG_STORE = "wrong_store"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"


class CodeRefused(ValueError):
    """A code was refused; `reason` is the stable reason code."""

    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CodeClaim:
    """What a verified code asserts: the booking, its room and window, and its minute."""

    store_id: str
    key_version: int
    booking_ref: str
    room_id: str
    starts_at: int  # unix seconds, a whole minute
    ends_at: int  # unix seconds, a whole minute
    minute: int  # unix minute the code was made


def valid_id(value: str) -> bool:
    """True when value can appear in a code (store, booking ref, room ids)."""
    return bool(_ID.match(value))


def booking_key(store_key: bytes, booking_ref: str) -> bytes:
    """The per-booking key handed to the customer's page; derived, never stored."""
    return hmac.new(store_key, b"booking:" + booking_ref.encode(), hashlib.sha256).digest()


def _mac(key: bytes, fields: tuple[str, ...]) -> str:
    digest = hmac.new(key, "|".join(fields).encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.b32encode(digest).decode().rstrip("=")


def _fields(claim: CodeClaim) -> tuple[str, ...]:
    return (
        PREFIX,
        claim.store_id,
        str(claim.key_version),
        claim.booking_ref,
        claim.room_id,
        str(claim.starts_at // 60),
        str(claim.ends_at // 60),
        str(claim.minute),
    )


def make_code(bkey: bytes, claim: CodeClaim) -> str:
    """Draw the code for claim with the per-booking key (what the customer's page does)."""
    for value in (claim.store_id, claim.booking_ref, claim.room_id):
        if not valid_id(value):
            raise ValueError(f"id not allowed in a code: {value!r}")
    if claim.starts_at % 60 or claim.ends_at % 60:
        raise ValueError("booking window must fall on whole minutes")
    fields = _fields(claim)
    return ".".join((*fields, _mac(bkey, fields)))


def code_at(
    store_key: bytes,
    key_version: int,
    store_id: str,
    booking_ref: str,
    room_id: str,
    starts_at: int,
    ends_at: int,
    now: float,
) -> str:
    """The code a booking's page shows at time now (unix seconds)."""
    claim = CodeClaim(store_id, key_version, booking_ref, room_id, starts_at, ends_at, int(now) // 60)
    return make_code(booking_key(store_key, booking_ref), claim)


def parse_code(code: str) -> tuple[CodeClaim, str]:
    """Split a code into its claim and MAC; raise CodeRefused(MALFORMED) on anything odd."""
    text = code.strip()
    if not text or len(text) > MAX_CODE_LENGTH:
        raise CodeRefused(Refusal.MALFORMED, "empty or too long")
    parts = text.split(".")
    if len(parts) != 9 or parts[0] != PREFIX:
        raise CodeRefused(Refusal.MALFORMED, "not a Gatehouse code")
    _, store, version, ref, room, start, end, minute, mac = parts
    if not (valid_id(store) and valid_id(ref) and valid_id(room)):
        raise CodeRefused(Refusal.MALFORMED, "bad id")
    numbers = (version, start, end, minute)
    if not all(n.isascii() and n.isdigit() and len(n) <= 12 for n in numbers):
        raise CodeRefused(Refusal.MALFORMED, "bad number")
    if not _MAC.match(mac):
        raise CodeRefused(Refusal.MALFORMED, "bad mac")
    start_min, end_min = int(start), int(end)
    if end_min <= start_min:
        raise CodeRefused(Refusal.MALFORMED, "empty booking window")
    claim = CodeClaim(store, int(version), ref, room, start_min * 60, end_min * 60, int(minute))
    return claim, mac


def verify_code(code: str, store_id: str, store_keys: Mapping[int, bytes], now: float) -> CodeClaim:
    """Check a code for this store at time now; return its claim or raise CodeRefused.

    Checks the code itself (form, store, key, signature, freshness); whether the booking's window,
    room and revocations allow entry is the redeemer's rule, not the code's.
    """
    claim, mac = parse_code(code)
    if claim.store_id != store_id:
        raise CodeRefused(Refusal.WRONG_STORE, claim.store_id)
    store_key = store_keys.get(claim.key_version)
    if store_key is None:
        raise CodeRefused(Refusal.UNKNOWN_KEY, f"key version {claim.key_version}")
    expected = _mac(booking_key(store_key, claim.booking_ref), _fields(claim))
    if not hmac.compare_digest(expected, mac):
        raise CodeRefused(Refusal.BAD_SIGNATURE)
    current = int(now) // 60
    if current > claim.minute + VALID_MINUTES - 1:
        raise CodeRefused(Refusal.EXPIRED, "code is older than its validity")
    if current < claim.minute - SKEW_MINUTES:
        raise CodeRefused(Refusal.NOT_YET_VALID, "code made in the future")
    return claim


# ---- the room QR ----
#
# Every room has a printed QR the cleaner scans when the room is clean, and a maintainer scans to
# confirm they are on site. It is static (it is printed), so it is sealed with the store key: a
# code typed up from the room and store ids alone does not verify.
#
#     GHROOM.<store>.<room>.<key version>.<mac>
#
# MAC: first 16 bytes of HMAC-SHA256 keyed by HMAC(store key, "room-qr"), over the other fields.

ROOM_PREFIX = "GHROOM"


@dataclass(frozen=True, slots=True)
class RoomClaim:
    """What a verified room QR asserts: the store, the room and the key version that sealed it."""

    store_id: str
    room_id: str
    key_version: int


def _room_key(store_key: bytes) -> bytes:
    # ":" is not allowed in booking refs, so this key can never equal a booking's key.
    return hmac.new(store_key, b"room-qr:", hashlib.sha256).digest()


def room_code(store_key: bytes, key_version: int, store_id: str, room_id: str) -> str:
    """The text of a room's printed QR."""
    for value in (store_id, room_id):
        if not valid_id(value):
            raise ValueError(f"id not allowed in a room code: {value!r}")
    fields = (ROOM_PREFIX, store_id, room_id, str(key_version))
    return ".".join((*fields, _mac(_room_key(store_key), fields)))


def is_room_code(text: str) -> bool:
    """True when the text claims to be a room QR (it starts with the prefix)."""
    return text.strip().startswith(ROOM_PREFIX + ".")


def parse_room_code(text: str) -> tuple[RoomClaim, str]:
    """Split a room QR into its claim and MAC; raise CodeRefused(MALFORMED) on anything odd."""
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_CODE_LENGTH:
        raise CodeRefused(Refusal.MALFORMED, "empty or too long")
    parts = stripped.split(".")
    if len(parts) != 5 or parts[0] != ROOM_PREFIX:
        raise CodeRefused(Refusal.MALFORMED, "not a room code")
    _, store, room, version, mac = parts
    if not (valid_id(store) and valid_id(room)):
        raise CodeRefused(Refusal.MALFORMED, "bad id")
    if not (version.isascii() and version.isdigit() and len(version) <= 12):
        raise CodeRefused(Refusal.MALFORMED, "bad number")
    if not _MAC.match(mac):
        raise CodeRefused(Refusal.MALFORMED, "bad mac")
    return RoomClaim(store, room, int(version)), mac


def verify_room_code(text: str, store_id: str, store_keys: Mapping[int, bytes]) -> RoomClaim:
    """Check a room QR for this store; return its claim or raise CodeRefused."""
    claim, mac = parse_room_code(text)
    if claim.store_id != store_id:
        raise CodeRefused(Refusal.WRONG_STORE, claim.store_id)
    store_key = store_keys.get(claim.key_version)
    if store_key is None:
        raise CodeRefused(Refusal.UNKNOWN_KEY, f"key version {claim.key_version}")
    fields = (ROOM_PREFIX, claim.store_id, claim.room_id, str(claim.key_version))
    if not hmac.compare_digest(_mac(_room_key(store_key), fields), mac):
        raise CodeRefused(Refusal.BAD_SIGNATURE)
    return claim
