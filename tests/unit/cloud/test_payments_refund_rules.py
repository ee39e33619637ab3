"""Refund retries back off with jitter and give up; reschedules settle the price difference by the rules."""

from __future__ import annotations

from cloud.payments import model
from cloud.payments.model import RefundNotice, RefundStatus


def test_the_retry_delay_doubles_with_jitter_inside_its_band_and_stops_at_the_cap() -> None:
    base = model.REFUND_RETRY_BASE_S
    assert model.retry_delay(1, 0.0) == base / 2 and model.retry_delay(1, 1.0) == base
    assert model.retry_delay(2, 0.0) == base and model.retry_delay(3, 0.5) == 4 * base * 0.75
    assert model.retry_delay(40, 1.0) == model.REFUND_RETRY_CAP_S
    assert model.retry_delay(40, 0.0) == model.REFUND_RETRY_CAP_S / 2


def test_a_refund_is_done_on_success_pending_with_a_next_try_on_failure_and_failed_after_the_last() -> None:
    assert model.after_refund_try(0, succeeded=True, jitter=0.3) == model.RefundOutcome(
        RefundStatus.DONE, 1, None
    )
    pending = model.after_refund_try(0, succeeded=False, jitter=0.0)
    assert pending.status is RefundStatus.PENDING and pending.attempts == 1
    assert pending.next_try_in_s == model.retry_delay(1, 0.0)
    last = model.after_refund_try(model.MAX_REFUND_ATTEMPTS - 1, succeeded=False, jitter=0.0)
    assert last == model.RefundOutcome(RefundStatus.FAILED, model.MAX_REFUND_ATTEMPTS, None)


def test_a_dearer_slot_charges_the_difference_and_a_cheaper_one_refunds_down_to_the_new_deposit() -> None:
    assert model.reschedule_settlement(12000, 18000, 3600, 5400) == model.Settlement(6000, 0)
    assert model.reschedule_settlement(12000, 18000, 17000, 5400) == model.Settlement(1000, 0)
    assert model.reschedule_settlement(12000, 6000, 3600, 1800) == model.Settlement(0, 1800)
    assert model.reschedule_settlement(12000, 6000, 12000, 1800) == model.Settlement(0, 6000)
    assert model.reschedule_settlement(12000, 12000, 3600, 3600) == model.Settlement(0, 0)
    assert model.reschedule_settlement(12000, 6000, 0, 1800) == model.Settlement(0, 0), "a hold pays nothing"


def test_a_refund_notice_is_told_apart_from_a_payment_callback() -> None:
    body = model.canonical_body({"refund_id": "r1", "payment_id": "p1", "amount": 300, "status": "succeeded"})
    notice = model.parse_callback(body)
    assert notice == RefundNotice("r1", "p1", 300, "succeeded") and notice.succeeded
    paid = model.parse_callback(
        model.canonical_body({"payment_id": "p1", "txn_id": "t", "amount": 1, "status": "paid"})
    )
    assert isinstance(paid, model.Callback)


def test_a_rejected_callback_keeps_only_the_headers_of_interest() -> None:
    kept = model.headers_of_interest(
        {"X-Sim-Nonce": "n", "Cookie": "secret", "Content-Type": "application/json"}
    )
    assert kept == {"x-sim-nonce": "n", "content-type": "application/json"}
    assert model.payment_id_of(b"garbage") is None and model.payment_id_of(b'{"payment_id": "p9"}') == "p9"
