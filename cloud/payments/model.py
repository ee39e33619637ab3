"""Pure rules of payments: callback signatures, freshness, amounts and the payment life cycle."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cloud.errors import Conflict, DomainError, Invalid

# Header names of a signed request (callbacks from the provider, requests to it).
TIMESTAMP_HEADER = "x-sim-timestamp"
NONCE_HEADER = "x-sim-nonce"
SIGNATURE_HEADER = "x-sim-signature"
# A callback signed longer ago than this (or this far in the future) is refused as stale.
MAX_CALLBACK_AGE_S = 300


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


class CallbackRejected(DomainError):
    """A provider callback that must change nothing (bad signature, stale, wrong amount)."""

    code = "callback_rejected"


class BadSignature(CallbackRejected):
    """The callback's signature does not match its body, timestamp and nonce."""

    code = "bad_signature"


class StaleCallback(CallbackRejected):
    """The callback's timestamp is too far from now (a replay)."""

    code = "stale"


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


def parse_callback(body: bytes) -> Callback:
    """The callback's content (its signature already checked)."""
    try:
        data = json.loads(body)
        callback = Callback(
            payment_id=str(data["payment_id"]),
            txn_id=str(data["txn_id"]),
            amount=int(data["amount"]),
            status=str(data["status"]),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise Invalid("the callback body is malformed", code="malformed_callback") from err
    return callback


def check_amount(expected: int, callback: Callback) -> None:
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
