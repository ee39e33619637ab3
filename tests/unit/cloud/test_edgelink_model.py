"""Pure edge-link rules: snapshot or delta, feed batches, bootstrap tokens, event payloads, commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cloud.edgelink.model import (
    FeedEntity,
    FeedItem,
    InvalidPayload,
    TokenRefusal,
    build_delta,
    build_snapshot,
    check_bootstrap,
    check_command,
    needs_snapshot,
    parse_payload,
    parse_redemption,
    plan_sync,
)
from cloud.errors import Invalid

NOW = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)


def item(entity: FeedEntity, entity_id: str, cursor: int, deleted: bool = False, **payload: Any) -> FeedItem:
    return FeedItem(entity, entity_id, cursor, deleted, {"id": entity_id, **payload})


ITEMS = [
    item(FeedEntity.ROOM, "rm-1", 2),
    item(FeedEntity.STORE, "s-1", 1),
    item(FeedEntity.DEVICE, "d-1", 5, deleted=True),
    item(FeedEntity.BOOKING, "B1", 4, ends_at=int((NOW - timedelta(days=3)).timestamp())),
    item(FeedEntity.BOOKING, "B2", 6, ends_at=int((NOW + timedelta(hours=2)).timestamp())),
    item(FeedEntity.ROOM, "rm-2", 3),
]


@pytest.mark.parametrize(
    ("edge", "store", "expected"), [(0, 5, True), (-1, 5, True), (6, 5, True), (5, 5, False), (3, 5, False)]
)
def test_a_snapshot_is_needed_for_an_empty_or_foreign_cursor(edge: int, store: int, expected: bool) -> None:
    assert needs_snapshot(edge, store) is expected


def test_a_snapshot_leaves_out_tombstones_and_long_past_bookings_in_cursor_order() -> None:
    batch = build_snapshot(ITEMS, 6, NOW)
    assert batch.snapshot and batch.cursor == 6
    assert [i.entity_id for i in batch.items] == ["s-1", "rm-1", "rm-2", "B2"]


def test_a_snapshot_cursor_is_never_below_its_items() -> None:
    assert build_snapshot(ITEMS, 0, NOW).cursor == 6


def test_a_delta_holds_everything_after_the_cursor_including_tombstones() -> None:
    batch = build_delta(ITEMS, 3)
    assert not batch.snapshot and batch.cursor == 6
    assert [(i.entity_id, i.deleted) for i in batch.items] == [("B1", False), ("d-1", True), ("B2", False)]


def test_an_empty_delta_keeps_the_cursor() -> None:
    batch = build_delta(ITEMS, 6)
    assert batch.items == () and batch.cursor == 6


def test_plan_sync_resumes_or_restarts() -> None:
    assert not plan_sync(3, 6, ITEMS, NOW).snapshot
    assert plan_sync(0, 6, ITEMS, NOW).snapshot
    assert plan_sync(99, 6, ITEMS, NOW).snapshot


def test_a_bootstrap_token_is_used_once_before_it_expires() -> None:
    expires = NOW + timedelta(hours=1)
    assert check_bootstrap(expires_at=expires, enrolled_at=None, revoked_at=None, now=NOW) is None
    assert check_bootstrap(expires_at=expires, enrolled_at=NOW, revoked_at=None, now=NOW) is TokenRefusal.USED
    assert check_bootstrap(expires_at=NOW, enrolled_at=None, revoked_at=None, now=NOW) is TokenRefusal.EXPIRED
    assert (
        check_bootstrap(expires_at=expires, enrolled_at=None, revoked_at=NOW, now=NOW) is TokenRefusal.REVOKED
    )


def test_payloads_must_be_json_objects() -> None:
    assert parse_payload('{"a": 1}') == {"a": 1}
    assert parse_payload("") == {}
    for bad in ("{nope", "[1, 2]", '"text"'):
        with pytest.raises(InvalidPayload):
            parse_payload(bad)


def test_a_redemption_payload_is_read_with_defaults() -> None:
    report = parse_redemption({"booking_ref": "B1", "room_id": "rm-1"})
    assert (report.method, report.known, report.key_version, report.device_id) == ("code", True, None, None)
    full = parse_redemption(
        {
            "booking_ref": "B1",
            "room_id": "rm-1",
            "method": "order_phone",
            "known": False,
            "key_version": 2,
            "device_id": "sc",
        }
    )
    assert (full.method, full.known, full.key_version, full.device_id) == ("order_phone", False, 2, "sc")


@pytest.mark.parametrize(
    "payload",
    [
        {"room_id": "rm-1"},
        {"booking_ref": "", "room_id": "rm-1"},
        {"booking_ref": "B1"},
        {"booking_ref": "B1", "room_id": "rm-1", "known": "yes"},
        {"booking_ref": "B1", "room_id": "rm-1", "key_version": "1"},
        {"booking_ref": "B1", "room_id": "rm-1", "key_version": True},
        {"booking_ref": 5, "room_id": "rm-1"},
    ],
)
def test_a_malformed_redemption_payload_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload):
        parse_redemption(payload)


def test_commands_need_a_kind_slug_and_a_bounded_timeout() -> None:
    assert check_command("unlock", 5) == ("unlock", 5)
    for kind, timeout in (("Unlock!", 5.0), ("unlock", 0.0), ("unlock", 1000.0)):
        with pytest.raises(Invalid):
            check_command(kind, timeout)
