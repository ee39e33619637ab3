"""Service call rules (pure): the reasons a customer may give, the note, and the order page's form token.

The form token makes a cross-site POST useless: it is an HMAC (a key derived from the master key)
over the store, the room and the moment the page was served, so only a page this cloud served for
this very room, a short while ago, can place a call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from cloud.errors import Forbidden, Invalid

# The purpose of the HMAC key (FieldCipher.mac_key) that signs the order page's form.
FORM_KEY_PURPOSE = "order-form"
# How long a served order page may be used to place a call.
FORM_TTL_S = 30 * 60
# A page "served in the future" by this much is refused (clocks of several workers differ a little).
FORM_SKEW_S = 60
MAX_NOTE = 200
# The actor of a customer's call in audit rows and commands.
QR_ACTOR = "customer:qr"
# The remote command and its answer time: a customer waits on the page for it.
COMMAND_KIND = "service_call"
COMMAND_TIMEOUT_S = 5.0
# A call still `sending` this long after it was made lost the worker that waited on the edge's
# answer (it died mid-wait): no one will settle it but the sweep at a worker's start.
INTERRUPTED_AFTER_S = COMMAND_TIMEOUT_S + 60.0
INTERRUPTED = "interrupted"


class CallReason(StrEnum):
    """Why the customer calls (stable codes; the edge knows the same ones, see protos/README.md)."""

    CALL_STAFF = "call_staff"
    ORDER_BAR = "order_bar"
    BROKEN = "broken"
    CLEANING = "cleaning"


REASON_LABELS: dict[CallReason, str] = {
    CallReason.CALL_STAFF: "Call staff",
    CallReason.ORDER_BAR: "Order at the bar",
    CallReason.BROKEN: "Something is broken",
    CallReason.CLEANING: "Cleaning needed",
}


class CallStatus(StrEnum):
    """Where a call stands in the cloud."""

    SENDING = "sending"  # recorded, on its way to the edge
    DELIVERED = "delivered"  # the edge recorded it (the front desk sees it)
    UNDELIVERED = "undelivered"  # the edge was offline, did not answer, or refused it
    ANSWERED = "answered"  # staff marked it done at the panel (reported by the edge)


# The panel's staff action that marks a call done (a `staff_action` event, protos/README.md).
ANSWER_ACTION = "answer_call"


@dataclass(frozen=True, slots=True)
class CallRequest:
    """A checked call: its reason and its note (trimmed, printable, at most MAX_NOTE characters)."""

    reason: CallReason
    note: str


def parse_call(reason: str, note: str) -> CallRequest:
    """A call from the form's fields (Invalid with a stable code otherwise)."""
    try:
        checked = CallReason(reason)
    except ValueError as err:
        raise Invalid("choose what you need", code="invalid_reason", field="reason") from err
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in note).split())
    if len(cleaned) > MAX_NOTE:
        raise Invalid(f"the note has at most {MAX_NOTE} characters", code="note_too_long", field="note")
    return CallRequest(checked, cleaned)


def _mac(key: bytes, store_id: str, room_id: str, issued_at: int) -> str:
    message = f"{FORM_KEY_PURPOSE}|{store_id}|{room_id}|{issued_at}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def form_token(key: bytes, store_id: str, room_id: str, issued_at: int) -> str:
    """The token a served order page carries: `<issued_at>.<mac>` (issued_at in unix seconds)."""
    return f"{issued_at}.{_mac(key, store_id, room_id, issued_at)}"


class FormRefused(Forbidden):
    """The posted form did not come from a recent order page of this room."""

    code = "form_invalid"


def check_form_token(key: bytes, store_id: str, room_id: str, token: str | None, now: float) -> int:
    """The token's issue time when it is genuine, for this room and fresh; FormRefused otherwise.

    Codes: `form_missing`, `form_malformed`, `form_bad_signature`, `form_expired`.
    """
    if not token:
        raise FormRefused("the form is missing its page token", code="form_missing", field="form_token")
    stamp, _, mac = token.partition(".")
    if not stamp.isdigit() or not mac or len(stamp) > 12:
        raise FormRefused("the form's page token is malformed", code="form_malformed", field="form_token")
    issued_at = int(stamp)
    if not hmac.compare_digest(_mac(key, store_id, room_id, issued_at), mac):
        raise FormRefused(
            "the form's page token is not genuine", code="form_bad_signature", field="form_token"
        )
    if issued_at > now + FORM_SKEW_S or now - issued_at > FORM_TTL_S:
        raise FormRefused("the page was open too long", code="form_expired", field="form_token")
    return issued_at
