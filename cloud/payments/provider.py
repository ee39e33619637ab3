"""The payment provider interface the cloud talks to (one adapter per provider)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cloud.errors import Unavailable
from cloud.payments.model import Notification


class ProviderError(Unavailable):
    """The provider could not be reached or refused a request."""

    code = "provider_unavailable"


@dataclass(frozen=True, slots=True)
class CreatedPayment:
    """A payment the provider knows about: where the customer pays it."""

    payment_id: str
    pay_url: str


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    """A refund the provider accepted: `succeeded`, or `processing` (a signed callback follows)."""

    refund_id: str
    status: str

    @property
    def succeeded(self) -> bool:
        """True when the money is back with the customer."""
        return self.status == "succeeded"


class PaymentProvider(Protocol):
    """A payment provider: payments with client-made ids, signed callbacks, refunds (all idempotent)."""

    async def create_payment(
        self, *, payment_id: str, amount: int, description: str, notify_url: str, return_url: str
    ) -> CreatedPayment: ...

    def verify_callback(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification: ...

    async def refund(
        self, *, payment_id: str, refund_id: str, amount: int, notify_url: str | None = None
    ) -> ProviderRefund: ...
