"""Pure payment rules: callback signatures and freshness, amounts, refunds spread, order splitting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.errors import Conflict, Invalid
from cloud.orders.model import OrderItem, check_items, split_by_store
from cloud.payments import model
from cloud.payments.model import PaymentStatus

SECRET = b"s3cret"
NOW = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
BODY = model.canonical_body({"payment_id": "pay-1", "txn_id": "wx1", "amount": 3600, "status": "paid"})


def _headers(body: bytes = BODY, *, at: datetime = NOW, secret: bytes = SECRET) -> dict[str, str]:
    ts = str(int(at.timestamp()))
    return {
        "X-Sim-Timestamp": ts,
        "X-Sim-Nonce": "n1",
        "X-Sim-Signature": model.signature(secret, body, ts, "n1"),
    }


def test_a_correctly_signed_fresh_callback_verifies_and_reads() -> None:
    model.verify_signed(SECRET, _headers(), BODY, NOW + timedelta(seconds=30))
    assert model.parse_callback(BODY) == model.Callback("pay-1", "wx1", 3600, "paid")


def test_the_canonical_body_sorts_keys_and_has_no_spaces() -> None:
    assert model.canonical_body({"b": 1, "a": "x"}) == b'{"a":"x","b":1}'


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (_headers(secret=b"other"), BODY),
        (_headers(), BODY.replace(b"3600", b"3601")),
        ({}, BODY),
    ],
)
def test_a_wrong_secret_a_changed_body_or_no_signature_is_a_bad_signature(
    headers: dict[str, str], body: bytes
) -> None:
    with pytest.raises(model.BadSignature) as caught:
        model.verify_signed(SECRET, headers, body, NOW)
    assert caught.value.code == "bad_signature"


def test_a_callback_signed_too_long_ago_or_ahead_is_stale() -> None:
    for skew in (-model.MAX_CALLBACK_AGE_S - 1, model.MAX_CALLBACK_AGE_S + 1):
        with pytest.raises(model.StaleCallback) as caught:
            model.verify_signed(SECRET, _headers(at=NOW + timedelta(seconds=skew)), BODY, NOW)
        assert caught.value.code == "stale"


def test_a_callback_naming_another_amount_is_an_amount_mismatch() -> None:
    callback = model.parse_callback(BODY)
    model.check_amount(3600, callback)
    with pytest.raises(model.AmountMismatch) as caught:
        model.check_amount(3500, callback)
    assert caught.value.code == "amount_mismatch" and caught.value.extra == {"expected": 3500, "got": 3600}


def test_a_malformed_callback_body_is_refused() -> None:
    with pytest.raises(Invalid):
        model.parse_callback(b'{"payment_id": "x"}')


def test_a_payment_becomes_paid_once_and_a_repeat_is_no_move() -> None:
    assert model.can_transition(PaymentStatus.CREATED, PaymentStatus.PAID)
    assert not model.can_transition(PaymentStatus.PAID, PaymentStatus.PAID)


def test_a_refund_is_spread_over_payments_in_order_and_never_beyond_what_was_paid() -> None:
    assert model.refund_split(5000, [("dep", 3600), ("bal", 8400)]) == [("dep", 3600), ("bal", 1400)]
    assert model.refund_split(1000, [("dep", 3600)]) == [("dep", 1000)]
    with pytest.raises(Conflict):
        model.refund_split(5000, [("dep", 3600)])


def _item(room: str, start_h: int, end_h: int) -> OrderItem:
    return OrderItem(room, NOW + timedelta(hours=start_h), NOW + timedelta(hours=end_h), 2)


def test_an_order_needs_items_and_may_not_ask_twice_for_one_rooms_time() -> None:
    with pytest.raises(Invalid):
        check_items([])
    with pytest.raises(Invalid) as caught:
        check_items([_item("r1", 0, 2), _item("r1", 1, 3)])
    assert caught.value.code == "overlapping_items"
    assert len(check_items([_item("r1", 0, 2), _item("r1", 2, 3), _item("r2", 0, 2)])) == 3


def test_an_order_splits_into_one_booking_per_item_grouped_by_store() -> None:
    assert split_by_store(["a", "b", "a"]) == {"a": [0, 2], "b": [1]}
