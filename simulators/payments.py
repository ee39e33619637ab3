"""A simulated WeChat-Pay-like provider: a merchant API, a payment page, signed asynchronous callbacks.

Speaks HTTP only (it shares no code with the cloud, so it can catch the cloud's bugs). Merchant
requests and callbacks are signed with HMAC-SHA256 (hex) over "<timestamp>\\n<nonce>\\n<body>",
the body being canonical JSON (sorted keys, no spaces), in the headers X-Sim-Timestamp,
X-Sim-Nonce and X-Sim-Signature. Every delivery of a callback, a redelivery included, is signed
with a fresh nonce: the same notification sent again carries the same body and a new nonce, so a
nonce seen twice is a replay, never a redelivery.

    POST /v1/payments {payment_id, amount, description, notify_url, return_url} -> {pay_url}
    GET  /pay/{payment_id}   the customer's payment page (a "Pay" button)
    POST /pay/{payment_id}   pay: the callback goes to notify_url, the customer to return_url
    POST /v1/refunds {payment_id, refund_id, amount[, notify_url]} -> {refund_id, status}

A refund answers `succeeded`, or with `refund_async` `processing`, its outcome following as a signed
callback {refund_id, payment_id, amount, status} to notify_url. Tests inject refund faults:
`refund_faults` is a queue of "refuse" (503) and "timeout" (the refund is taken, the answer never
comes) applied to the next refund requests in turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import logging
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

logger = logging.getLogger(__name__)

MAX_SKEW_S = 300
DELIVERY_TRIES = 5


def canonical(payload: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, compact separators, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: bytes, body: bytes, timestamp: str, nonce: str) -> str:
    """The hex HMAC-SHA256 of timestamp, nonce and body, line-separated."""
    return hmac.new(secret, f"{timestamp}\n{nonce}\n".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, body: bytes, *, timestamp: int, nonce: str | None = None) -> dict[str, str]:
    """The headers that sign body at timestamp (unix seconds), with a fresh nonce unless given."""
    ts = str(timestamp)
    nonce = nonce or secrets.token_hex(8)
    return {
        "content-type": "application/json",
        "x-sim-timestamp": ts,
        "x-sim-nonce": nonce,
        "x-sim-signature": sign(secret, body, ts, nonce),
    }


@dataclass(slots=True)
class SimPayment:
    """A payment the simulator was asked to take."""

    payment_id: str
    amount: int
    description: str
    notify_url: str
    return_url: str
    status: str = "created"
    txn_id: str = ""


@dataclass(slots=True)
class Delivery:
    """One callback attempt (what was sent, to replay it) and the merchant's answer."""

    payment_id: str
    status_code: int
    body: str
    url: str = ""
    sent_body: bytes = b""
    sent_headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class SimRefund:
    """A refund taken."""

    refund_id: str
    payment_id: str
    amount: int
    status: str = "succeeded"
    notify_url: str = ""


@dataclass(slots=True)
class PaymentSimulator:
    """The provider's state and behaviour; `auto_callback=False` lets a test deliver callbacks by hand."""

    secret: bytes
    auto_callback: bool = True
    now: Callable[[], float] = time.time  # the provider's clock (tests inject the cloud's fake one)
    payments: dict[str, SimPayment] = field(default_factory=dict)
    refunds: dict[str, SimRefund] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    delivered: asyncio.Event = field(default_factory=asyncio.Event)
    refund_async: bool = False
    refund_faults: list[str] = field(default_factory=list)
    refund_requests: int = 0
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def callback_body(self, payment_id: str, *, amount: int | None = None) -> bytes:
        """The canonical callback body of a paid payment (amount overridable to test the merchant)."""
        payment = self.payments[payment_id]
        return canonical(
            {
                "payment_id": payment.payment_id,
                "txn_id": payment.txn_id,
                "amount": payment.amount if amount is None else amount,
                "status": "paid",
            }
        )

    def pay(self, payment_id: str) -> SimPayment:
        """The customer pays (idempotent); the callback is sent unless auto_callback is off."""
        payment = self.payments[payment_id]
        if payment.status != "paid":
            payment.status = "paid"
            payment.txn_id = "wx" + secrets.token_hex(10)
            if self.auto_callback:
                self.spawn(self._deliver(payment_id), f"sim-pay-callback-{payment_id}")
        return payment

    async def send_callback(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        timestamp: int | None = None,
        secret: bytes | None = None,
        nonce: str | None = None,
    ) -> httpx.Response:
        """Send one callback now (optionally with a wrong amount, an old timestamp, a wrong secret or a
        chosen nonce)."""
        payment = self.payments[payment_id]
        body = self.callback_body(payment_id, amount=amount)
        return await self._send(
            payment_id, payment.notify_url, body, secret=secret, timestamp=timestamp, nonce=nonce
        )

    async def send_refund_callback(self, refund_id: str, *, status: str = "succeeded") -> httpx.Response:
        """Tell the merchant how an asynchronous refund ended (fresh nonce, as every delivery)."""
        refund = self.refunds[refund_id]
        refund.status = status
        body = canonical(
            {
                "refund_id": refund.refund_id,
                "payment_id": refund.payment_id,
                "amount": refund.amount,
                "status": status,
            }
        )
        return await self._send(refund.payment_id, refund.notify_url, body)

    async def replay(self, delivery: Delivery) -> httpx.Response:
        """Send an earlier delivery again byte for byte, nonce included (what an eavesdropper would do)."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                delivery.url, content=delivery.sent_body, headers=delivery.sent_headers
            )
        self.deliveries.append(
            Delivery(
                delivery.payment_id,
                response.status_code,
                response.text,
                delivery.url,
                delivery.sent_body,
                delivery.sent_headers,
            )
        )
        return response

    async def _send(
        self,
        payment_id: str,
        url: str,
        body: bytes,
        *,
        secret: bytes | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> httpx.Response:
        when = int(self.now()) if timestamp is None else timestamp
        headers = signed_headers(self.secret if secret is None else secret, body, timestamp=when, nonce=nonce)
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(url, content=body, headers=headers)
        self.deliveries.append(Delivery(payment_id, response.status_code, response.text, url, body, headers))
        self.delivered.set()
        return response

    async def hang(self) -> None:
        """Never answer (until the simulator closes): a provider that timed out."""
        await self._released.wait()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run coro in the background (stopped on close)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, payment_id: str) -> None:
        """Deliver the callback, retrying with backoff while the merchant fails (5xx or unreachable)."""
        for attempt in range(DELIVERY_TRIES):
            try:
                response = await self.send_callback(payment_id)
                if response.status_code < 500:
                    return
            except httpx.HTTPError:
                logger.warning("callback delivery failed", extra={"payment_id": payment_id, "try": attempt})
            await asyncio.sleep(0.2 * 2**attempt)

    async def aclose(self) -> None:
        """Stop pending deliveries and release hung requests."""
        self._released.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _verified(sim: PaymentSimulator, request: Request, body: bytes) -> bool:
    headers = request.headers
    ts, nonce, given = (
        headers.get("x-sim-timestamp", ""),
        headers.get("x-sim-nonce", ""),
        headers.get("x-sim-signature", ""),
    )
    if not (ts and nonce and given) or not ts.isdigit():
        return False
    if abs(sim.now() - int(ts)) > MAX_SKEW_S:
        return False
    return hmac.compare_digest(sign(sim.secret, body, ts, nonce), given)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SimPay</title>
<style>body{{font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;text-align:center}}
.amount{{font-size:2.4rem;margin:1rem 0}}button{{background:#07c160;color:#fff;border:0;border-radius:6px;
font-size:1.3rem;padding:.8rem 3rem}}</style></head>
<body><h1>SimPay</h1><p>{description}</p><p class="amount">&#165;{amount}</p>
{action}</body></html>"""


def build_app(sim: PaymentSimulator) -> FastAPI:
    """The provider's HTTP app over sim."""
    app = FastAPI(title="SimPay")

    @app.post("/v1/payments")
    async def create_payment(request: Request) -> Response:
        """Register a payment (idempotent per payment_id)."""
        body = await request.body()
        if not _verified(sim, request, body):
            return JSONResponse({"code": "bad_signature"}, status_code=401)
        data = json.loads(body)
        payment_id = str(data["payment_id"])
        existing = sim.payments.get(payment_id)
        if existing is not None and existing.amount != int(data["amount"]):
            return JSONResponse({"code": "payment_id_reused"}, status_code=409)
        if existing is None:
            sim.payments[payment_id] = SimPayment(
                payment_id=payment_id,
                amount=int(data["amount"]),
                description=str(data.get("description", "")),
                notify_url=str(data["notify_url"]),
                return_url=str(data["return_url"]),
            )
        pay_url = str(request.base_url).rstrip("/") + f"/pay/{payment_id}"
        return JSONResponse({"payment_id": payment_id, "pay_url": pay_url})

    @app.get("/pay/{payment_id}", response_class=HTMLResponse)
    async def payment_page(payment_id: str) -> Response:
        """The page where the customer pays."""
        payment = sim.payments.get(payment_id)
        if payment is None:
            return HTMLResponse("<p>No such payment</p>", status_code=404)
        action = (
            f'<p>Paid.</p><a href="{html.escape(payment.return_url)}">Back to the merchant</a>'
            if payment.status == "paid"
            else f'<form method="post" action="/pay/{html.escape(payment_id)}"><button>Pay</button></form>'
        )
        return HTMLResponse(
            _PAGE.format(
                description=html.escape(payment.description),
                amount=f"{payment.amount / 100:.2f}",
                action=action,
            )
        )

    @app.post("/pay/{payment_id}")
    async def pay(payment_id: str) -> Response:
        """Pay, then send the customer back to the merchant."""
        if payment_id not in sim.payments:
            return HTMLResponse("<p>No such payment</p>", status_code=404)
        payment = sim.pay(payment_id)
        return RedirectResponse(payment.return_url, status_code=303)

    @app.post("/v1/refunds")
    async def refund(request: Request) -> Response:
        """Refund part of a paid payment (idempotent per refund_id)."""
        body = await request.body()
        if not _verified(sim, request, body):
            return JSONResponse({"code": "bad_signature"}, status_code=401)
        data = json.loads(body)
        sim.refund_requests += 1
        fault = sim.refund_faults.pop(0) if sim.refund_faults else None
        if fault == "refuse":
            return JSONResponse({"code": "SYSTEM_ERROR"}, status_code=503)
        payment = sim.payments.get(str(data["payment_id"]))
        if payment is None or payment.status != "paid":
            return JSONResponse({"code": "not_paid"}, status_code=409)
        refund_id = str(data["refund_id"])
        refund = sim.refunds.get(refund_id)
        if refund is None:
            taken = sum(r.amount for r in sim.refunds.values() if r.payment_id == payment.payment_id)
            if taken + int(data["amount"]) > payment.amount:
                return JSONResponse({"code": "refund_exceeds_payment"}, status_code=409)
            refund = SimRefund(
                refund_id,
                payment.payment_id,
                int(data["amount"]),
                status="processing" if sim.refund_async else "succeeded",
                notify_url=str(data.get("notify_url", "")),
            )
            sim.refunds[refund_id] = refund
            if sim.refund_async and sim.auto_callback and refund.notify_url:
                sim.spawn(sim.send_refund_callback(refund_id), f"sim-refund-callback-{refund_id}")
        if fault == "timeout":
            await sim.hang()  # the refund was taken; its answer is lost
        return JSONResponse({"refund_id": refund_id, "status": refund.status})

    return app


class PaymentSimServer:
    """The simulator served by uvicorn on a loopback port: `async with PaymentSimServer(secret) as sim:`."""

    def __init__(
        self,
        secret: bytes,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.sim = PaymentSimulator(secret=secret, now=now)
        self.app = build_app(self.sim)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The provider's base URL."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off")
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
        self._server = server
        self._task = asyncio.create_task(server.main_loop(), name="sim-pay-http")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.sim.aclose()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            await self._server.shutdown(sockets=[self._socket] if self._socket else None)
        if self._socket is not None:
            self._socket.close()
