"""Pure rules of payments: callback signatures, freshness, amounts and the payment life cycle."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cloud.errors import Conflict, DomainError, Invalid

# Header names of a signed request (callbacks from the provider, requests to it).
TIMESTAMP_HEADER = "x-sim-timestamp"
NONCE_HEADER = "x-sim-nonce"
SIGNATURE_HEADER = "x-sim-signature"
# A callback signed longer ago than this (or this far in the future) is refused as stale.
MAX_CALLBACK_AGE_S = 300
# A nonce is remembered while a callback bearing it could still pass the freshness check.
NONCE_KEEP = timedelta(seconds=2 * MAX_CALLBACK_AGE_S + 60)
# Refund retries: the first retry after about REFUND_RETRY_BASE_S, doubling up to the cap; after
# MAX_REFUND_ATTEMPTS failed tries the refund is marked failed and left to staff.
REFUND_RETRY_BASE_S = 30.0
REFUND_RETRY_CAP_S = 3600.0
MAX_REFUND_ATTEMPTS = 6
# How long a worker that claimed a refund has to try it before another worker may.
REFUND_LEASE = timedelta(seconds=60)
# What a rejected callback keeps of the request.
REJECTED_BODY_CHARS = 2000
HEADERS_OF_INTEREST = (
    "content-type",
    "user-agent",
    "x-forwarded-for",
    TIMESTAMP_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
)


class PaymentKind(StrEnum):
    """What a payment pays for."""

    DEPOSIT = "deposit"  # the deposits of every booking of an order, at once
    BALANCE = "balance"  # the rest of one confirmed booking's price


class PaymentStatus(StrEnum):
    """Where a payment stands at the provider, as the cloud knows it."""

    CREATED = "created"
    PAID = "paid"


# Every legal move: a created payment becomes paid once (a repeat callback is not a move).
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.CREATED: frozenset({PaymentStatus.PAID}),
    PaymentStatus.PAID: frozenset(),
}


class RefundReason(StrEnum):
    """Why money went back."""

    SLOT_LOST = "slot_lost"  # paid after the hold expired and the time was taken meanwhile
    DUPLICATE = "duplicate"  # the booking was already confirmed by another payment
    NOT_PAYABLE = "not_payable"  # the booking was cancelled before the payment arrived
    CANCELLED = "cancelled"  # the customer cancelled (amount by the booking's terms)
    RESCHEDULED = "rescheduled"  # moved to a cheaper slot: the difference goes back


class RefundStatus(StrEnum):
    """Where a refund stands: waiting for the provider, paid back, or given up on (staff act)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class CallbackRejected(DomainError):
    """A provider callback that must change nothing (bad signature, stale, wrong amount)."""

    code = "callback_rejected"


class BadSignature(CallbackRejected):
    """The callback's signature does not match its body, timestamp and nonce."""

    code = "bad_signature"


class StaleCallback(CallbackRejected):
    """The callback's timestamp is too far from now (a replay)."""

    code = "stale"


class ReplayedCallback(CallbackRejected):
    """The callback's nonce was already used (the provider signs every delivery with a fresh one)."""

    code = "replayed"


class AmountMismatch(CallbackRejected):
    """The callback's amount is not the payment's amount."""

    code = "amount_mismatch"


class NothingToPay(Conflict):
    """No amount is due (nothing held, or the balance is settled)."""

    code = "nothing_to_pay"


@dataclass(frozen=True, slots=True)
class Callback:
    """A verified provider notification: the payment (our id), the provider's transaction, the amount."""

    payment_id: str
    txn_id: str
    amount: int
    status: str


@dataclass(frozen=True, slots=True)
class RefundNotice:
    """A verified provider notification that a refund (our id) was paid back, or not."""

    refund_id: str
    payment_id: str
    amount: int
    status: str

    @property
    def succeeded(self) -> bool:
        """True when the provider paid the refund."""
        return self.status == "succeeded"


Notification = Callback | RefundNotice


def canonical_body(payload: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a payload: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: bytes, body: bytes, timestamp: str, nonce: str) -> str:
    """HMAC-SHA256 (hex) over timestamp, nonce and body, each line-separated."""
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify_signed(secret: bytes, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    """Check a signed request's signature and freshness; raise BadSignature or StaleCallback."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER, "")
    nonce = lowered.get(NONCE_HEADER, "")
    given = lowered.get(SIGNATURE_HEADER, "")
    if not (timestamp and nonce and given):
        raise BadSignature("the callback is not signed", field="signature")
    if not hmac.compare_digest(signature(secret, body, timestamp, nonce), given):
        raise BadSignature("the callback's signature does not match", field="signature")
    try:
        signed_at = int(timestamp)
    except ValueError as err:
        raise StaleCallback("the callback's timestamp is not a number", field="timestamp") from err
    if abs(now.timestamp() - signed_at) > MAX_CALLBACK_AGE_S:
        raise StaleCallback("the callback's timestamp is too old or in the future", field="timestamp")


def signed_nonce(headers: Mapping[str, str]) -> tuple[str, int]:
    """The nonce and signing time (unix s) of a request whose signature was already verified."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get(NONCE_HEADER, ""), int(lowered.get(TIMESTAMP_HEADER, "0"))


def body_digest(body: bytes) -> str:
    """The sha256 (hex) of a callback body."""
    return hashlib.sha256(body).hexdigest()


def headers_of_interest(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a rejected callback keeps (each cut to 200 characters)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return {name: lowered[name][:200] for name in HEADERS_OF_INTEREST if name in lowered}


def payment_id_of(body: bytes) -> str | None:
    """The payment a callback body names, if it can be read at all (for filing a rejected one)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("payment_id") if isinstance(data, dict) else None
    return str(value)[:40] if value is not None else None


def retry_delay(attempts: int, jitter: float) -> float:
    """Seconds before retrying after `attempts` failed tries: doubling, capped, with jitter in [0, 1).

    Equal jitter: half the backoff is kept, the other half is random, so workers that failed
    together do not come back together.
    """
    backoff: float = min(REFUND_RETRY_CAP_S, REFUND_RETRY_BASE_S * 2.0 ** max(attempts - 1, 0))
    return backoff / 2 + backoff / 2 * min(max(jitter, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    """What a refund becomes after one try at the provider."""

    status: RefundStatus
    attempts: int
    next_try_in_s: float | None


def after_refund_try(attempts: int, *, succeeded: bool, jitter: float) -> RefundOutcome:
    """The refund's state after a try: done, pending with its next try, or failed after the last one."""
    if succeeded:
        return RefundOutcome(RefundStatus.DONE, attempts + 1, None)
    tried = attempts + 1
    if tried >= MAX_REFUND_ATTEMPTS:
        return RefundOutcome(RefundStatus.FAILED, tried, None)
    return RefundOutcome(RefundStatus.PENDING, tried, retry_delay(tried, jitter))


@dataclass(frozen=True, slots=True)
class Settlement:
    """What moving a paid booking to a new price costs: a charge, a refund, or neither."""

    charge: int
    refund: int


def reschedule_settlement(old_price: int, new_price: int, amount_paid: int, new_deposit: int) -> Settlement:
    """Dearer: charge the difference (never past the new price); cheaper: give back the difference,
    keeping at least the new slot's deposit. Nothing paid yet (a hold): nothing to settle.
    """
    if amount_paid <= 0:
        return Settlement(0, 0)
    if new_price > old_price:
        return Settlement(min(new_price - old_price, max(new_price - amount_paid, 0)), 0)
    if new_price < old_price:
        return Settlement(0, max(min(old_price - new_price, amount_paid - new_deposit), 0))
    return Settlement(0, 0)


def parse_callback(body: bytes) -> Notification:
    """The callback's content (its signature already checked): a payment's or a refund's."""
    try:
        data = json.loads(body)
        if "refund_id" in data:
            return RefundNotice(
                refund_id=str(data["refund_id"]),
                payment_id=str(data["payment_id"]),
                amount=int(data["amount"]),
                status=str(data["status"]),
            )
        callback = Callback(
            payment_id=str(data["payment_id"]),
            txn_id=str(data["txn_id"]),
            amount=int(data["amount"]),
            status=str(data["status"]),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise Invalid("the callback body is malformed", code="malformed_callback") from err
    return callback


def check_amount(expected: int, callback: Notification) -> None:
    """A callback must name exactly the payment's amount."""
    if callback.amount != expected:
        error = AmountMismatch(
            f"the callback says {callback.amount}, the payment is {expected}", field="amount"
        )
        error.extra = {"expected": expected, "got": callback.amount}
        raise error


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    """True when the table allows current -> target."""
    return target in TRANSITIONS[current]


def refund_split(amount: int, capacities: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Spread a refund over payments (id, refundable amount), in order; what each gives back."""
    out: list[tuple[str, int]] = []
    left = amount
    for payment_id, capacity in capacities:
        if left <= 0:
            break
        take = min(left, max(capacity, 0))
        if take:
            out.append((payment_id, take))
            left -= take
    if left > 0:
        raise Conflict("the refund exceeds what was paid", code="refund_exceeds_paid", field="amount")
    return out
