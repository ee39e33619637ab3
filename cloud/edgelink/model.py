"""Pure rules of the edge link: feed snapshots and deltas, bootstrap tokens, event payloads, commands."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cloud.auth.model import REGION_ROLES, STORE_ROLES, Role
from cloud.errors import Conflict, Invalid, Unavailable

TOKEN_LIFETIME = timedelta(hours=24)
# Bookings that ended longer ago than this are left out of snapshots (the edge needs "from yesterday on").
SNAPSHOT_BOOKING_HORIZON = timedelta(days=1)
MAX_COMMAND_TIMEOUT_S = 120.0
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class FeedEntity(StrEnum):
    """The kinds of item in a store's feed."""

    STORE = "store"
    ROOM = "room"
    DEVICE = "device"
    BOOKING = "booking"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class FeedItem:
    """The latest version of one item, stamped with the cursor of its last change."""

    entity: FeedEntity
    entity_id: str
    cursor: int
    deleted: bool
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """What to send an edge: a snapshot (replace all) or a delta, and the cursor it brings it to."""

    cursor: int
    snapshot: bool
    items: tuple[FeedItem, ...] = field(default=())


def needs_snapshot(edge_cursor: int, store_cursor: int) -> bool:
    """A snapshot when the edge has nothing, or a cursor this database never issued."""
    return edge_cursor <= 0 or edge_cursor > store_cursor


def _current_booking(item: FeedItem, now: datetime) -> bool:
    if item.entity is not FeedEntity.BOOKING:
        return True
    ends_at = item.payload.get("ends_at")
    return not isinstance(ends_at, int) or ends_at >= (now - SNAPSHOT_BOOKING_HORIZON).timestamp()


def build_snapshot(items: Iterable[FeedItem], store_cursor: int, now: datetime) -> FeedBatch:
    """Every live item (no tombstones, no long-past bookings), ordered by cursor."""
    all_items = list(items)
    cursor = max([store_cursor, *(i.cursor for i in all_items)])
    live = sorted(
        (i for i in all_items if not i.deleted and _current_booking(i, now)), key=lambda i: i.cursor
    )
    return FeedBatch(cursor=cursor, snapshot=True, items=tuple(live))


def build_delta(items: Iterable[FeedItem], since: int) -> FeedBatch:
    """Every item changed after `since` (tombstones included), ordered by cursor."""
    changed = sorted((i for i in items if i.cursor > since), key=lambda i: i.cursor)
    cursor = changed[-1].cursor if changed else since
    return FeedBatch(cursor=cursor, snapshot=False, items=tuple(changed))


def plan_sync(edge_cursor: int, store_cursor: int, items: Iterable[FeedItem], now: datetime) -> FeedBatch:
    """The first StoreData of a stream: a snapshot or the delta since the edge's cursor."""
    if needs_snapshot(edge_cursor, store_cursor):
        return build_snapshot(items, store_cursor, now)
    return build_delta(items, edge_cursor)


def staff_store_ids(
    role: str, region_ids: Iterable[str], store_ids: Iterable[str], stores: Mapping[str, str]
) -> frozenset[str]:
    """The stores (of `stores`: store id -> region id, one tenant's) whose panel a user may sign in to.

    Store roles reach their stores, region roles (managers, maintainers) their regions' stores,
    HQ admins every store. Roles that never work at a store (account managers, finance) reach none;
    the panel itself decides what each role may do there.
    """
    if role == Role.HQ_ADMIN.value:
        return frozenset(stores)
    if role in {r.value for r in REGION_ROLES}:
        regions = set(region_ids)
        return frozenset(s for s, region in stores.items() if region in regions)
    if role in {r.value for r in STORE_ROLES}:
        return frozenset(s for s in store_ids if s in stores)
    return frozenset()


@dataclass(frozen=True, slots=True)
class StaffInfo:
    """A user as an edge's panel needs it for signing in with the cloud unreachable."""

    id: str
    username: str
    display_name: str
    role: str
    password_hash: str
    active: bool

    def payload(self) -> dict[str, Any]:
        """The feed payload."""
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "password_hash": self.password_hash,
            "active": self.active,
        }


class TokenRefusal(StrEnum):
    """Why a bootstrap token was refused."""

    UNKNOWN = "unknown_token"
    USED = "token_used"
    EXPIRED = "token_expired"
    REVOKED = "edge_revoked"


def check_bootstrap(
    *, expires_at: datetime, enrolled_at: datetime | None, revoked_at: datetime | None, now: datetime
) -> TokenRefusal | None:
    """None when a token may enrol its edge now, otherwise the reason it may not."""
    if revoked_at is not None:
        return TokenRefusal.REVOKED
    if enrolled_at is not None:
        return TokenRefusal.USED
    if now >= expires_at:
        return TokenRefusal.EXPIRED
    return None


class EventKind(StrEnum):
    """Event kinds of protos/README.md; other kinds are stored and acknowledged all the same."""

    REDEMPTION = "redemption"
    REDEMPTION_REFUSED = "redemption_refused"
    REENTRY = "reentry"
    DEVICE_STATE = "device_state"
    FAULT = "fault"
    SESSION = "session"
    STAFF_ACTION = "staff_action"
    SERVICE_CALL = "service_call"


class EventOutcome(StrEnum):
    """What ingestion did with an event."""

    APPLIED = "applied"  # its effect was applied
    STORED = "stored"  # kept for the record; no effect (yet) for this kind
    INVALID = "invalid"  # kept but ignored: its payload could not be understood


class InvalidPayload(ValueError):
    """An event payload that does not fit its kind."""


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One event as received from an edge, before ingestion."""

    seq: int
    kind: str
    occurred_at: datetime
    payload_json: str


def parse_payload(text: str) -> dict[str, Any]:
    """The JSON object of an event payload (InvalidPayload otherwise)."""
    try:
        value = json.loads(text) if text else {}
    except ValueError as err:
        raise InvalidPayload(f"payload is not JSON: {err}") from err
    if not isinstance(value, dict):
        raise InvalidPayload("payload is not a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class RedemptionReport:
    """A redemption as the edge reported it."""

    booking_ref: str
    room_id: str
    method: str
    known: bool
    key_version: int | None
    device_id: str | None


def _opt_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{key} must be a string")
    return value


def parse_redemption(payload: dict[str, Any]) -> RedemptionReport:
    """Read a "redemption" payload; InvalidPayload when a required field is missing or mistyped."""
    ref, room = payload.get("booking_ref"), payload.get("room_id")
    if not isinstance(ref, str) or not ref or len(ref) > 64:
        raise InvalidPayload("booking_ref must be a non-empty string")
    if not isinstance(room, str) or not room or len(room) > 64:
        raise InvalidPayload("room_id must be a non-empty string")
    known = payload.get("known", True)
    if not isinstance(known, bool):
        raise InvalidPayload("known must be a boolean")
    version = payload.get("key_version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise InvalidPayload("key_version must be an integer")
    method = _opt_str(payload, "method") or "code"
    return RedemptionReport(ref, room, method[:20], known, version, _opt_str(payload, "device_id"))


class CommandStatus(StrEnum):
    """Where a command sent to an edge stands."""

    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    OFFLINE = "offline"


class EdgeOffline(Conflict):
    """No live stream of the store's edge in this cloud process."""

    code = "edge_offline"


class EdgeTimeout(Unavailable):
    """The edge did not answer the command in time."""

    code = "edge_timeout"


def check_command(kind: str, timeout_s: float) -> tuple[str, float]:
    """A command kind slug and a timeout within (0, MAX_COMMAND_TIMEOUT_S]."""
    if not _KIND.match(kind):
        raise Invalid("kind must be a lower-case identifier", code="invalid_kind", field="kind")
    if not 0 < timeout_s <= MAX_COMMAND_TIMEOUT_S:
        raise Invalid(
            f"timeout_s must be within (0, {MAX_COMMAND_TIMEOUT_S}]",
            code="invalid_timeout",
            field="timeout_s",
        )
    return kind, timeout_s


def check_force(args: dict[str, Any]) -> str | None:
    """The reason of a forced command (args `force: true, reason: "..."`); None when not forced.

    A force without a reason is refused here, before anything reaches the edge.
    """
    if args.get("force") is not True:
        return None
    reason = args.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("a forced command needs a reason", code="reason_required", field="args.reason")
    return reason.strip()[:500]
