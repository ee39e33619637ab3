"""The cloud's client of the simulated WeChat-Pay-like provider (simulators/payments.py) over HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from cloud.clock import Clock
from cloud.payments import model
from cloud.payments.model import Notification
from cloud.payments.provider import CreatedPayment, ProviderError, ProviderRefund

TIMEOUT_S = 10.0


class SimProvider:
    """Implements PaymentProvider against the simulator; requests and callbacks share one HMAC secret."""

    def __init__(self, base_url: str, secret: bytes, clock: Clock, *, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._clock = clock
        self.timeout_s = timeout_s

    def _signed(self, payload: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = model.canonical_body(payload)
        timestamp = str(int(self._clock.now().timestamp()))
        nonce = secrets.token_hex(8)
        headers = {
            "content-type": "application/json",
            model.TIMESTAMP_HEADER: timestamp,
            model.NONCE_HEADER: nonce,
            model.SIGNATURE_HEADER: model.signature(self._secret, body, timestamp, nonce),
        }
        return body, headers

    async def _post(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        body, headers = self._signed(payload)
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.base_url + path, content=body, headers=headers)
        except httpx.HTTPError as err:
            raise ProviderError(f"the payment provider is unreachable: {err!r}") from err
        if response.status_code >= 300:
            raise ProviderError(f"the payment provider refused: {response.status_code} {response.text}")
        data: dict[str, Any] = response.json()
        return data

    async def create_payment(
        self, *, payment_id: str, amount: int, description: str, notify_url: str, return_url: str
    ) -> CreatedPayment:
        """Register a payment (idempotent per payment_id); the customer pays at pay_url."""
        data = await self._post(
            "/v1/payments",
            {
                "payment_id": payment_id,
                "amount": amount,
                "description": description,
                "notify_url": notify_url,
                "return_url": return_url,
            },
        )
        return CreatedPayment(payment_id=payment_id, pay_url=str(data["pay_url"]))

    def verify_callback(self, headers: Mapping[str, str], body: bytes, now: datetime) -> Notification:
        """Check the callback's signature and freshness, then read it."""
        model.verify_signed(self._secret, headers, body, now)
        return model.parse_callback(body)

    async def refund(
        self, *, payment_id: str, refund_id: str, amount: int, notify_url: str | None = None
    ) -> ProviderRefund:
        """Refund part of a paid payment (idempotent per refund_id); a late answer comes to notify_url."""
        payload: dict[str, Any] = {"payment_id": payment_id, "refund_id": refund_id, "amount": amount}
        if notify_url:
            payload["notify_url"] = notify_url
        data = await self._post("/v1/refunds", payload)
        return ProviderRefund(refund_id=refund_id, status=str(data.get("status", "succeeded")))
