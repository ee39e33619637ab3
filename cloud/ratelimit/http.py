"""Rate limits at the HTTP edge: dependencies for login and holds, a guard for payment callbacks, 429s."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from cloud.auth.model import Principal, PrincipalKind
from cloud.deps import Authenticated
from cloud.errors import DomainError
from cloud.problems import problem
from cloud.ratelimit.limiter import Limiter
from cloud.ratelimit.model import Rule, phone_identity

# Provider callbacks arrive here (one path per provider); the limit is per calling address.
CALLBACK_PREFIX = "/api/v1/payments/callbacks/"


class RateLimited(DomainError):
    """Too many requests of one client in the current window (429 with Retry-After)."""

    code = "rate_limited"

    def __init__(self, rule: Rule, retry_after_s: int) -> None:
        super().__init__(f"too many requests ({rule.name}); try again in {retry_after_s} s")
        self.rule = rule
        self.retry_after_s = retry_after_s
        self.extra = {"rule": rule.name, "retry_after_s": retry_after_s}


@dataclass(frozen=True, slots=True)
class RateRules:
    """The limits a cloud applies (from CloudSettings)."""

    login_ip: Rule
    hold_ip: Rule
    hold_phone: Rule
    callback_source: Rule
    # The room QR page's calls to staff: per room and per address.
    call_room: Rule
    call_ip: Rule


@dataclass(slots=True)
class RateLimits:
    """What the dependencies need (set on `app.state.ratelimits` by the composition root)."""

    limiter: Limiter
    rules: RateRules
    # behind a load balancer the caller is the first X-Forwarded-For address
    trust_forwarded_for: bool = False

    async def check(self, rule: Rule, identity: str) -> None:
        """Count a hit; RateLimited when over the rule's limit."""
        decision = await self.limiter.hit(rule, identity)
        if not decision.allowed:
            raise RateLimited(rule, decision.retry_after_s)

    def client_ip(self, headers: dict[str, str], peer: str | None) -> str:
        """The caller's address."""
        if self.trust_forwarded_for:
            forwarded = headers.get("x-forwarded-for", "").split(",")[0].strip()
            if forwarded:
                return forwarded
        return peer or "unknown"


def limits_of(request: Request) -> RateLimits | None:
    """The app's rate limits (None: an app built without them, e.g. by a unit test)."""
    limits: RateLimits | None = getattr(request.app.state, "ratelimits", None)
    return limits


def _ip(limits: RateLimits, request: Request) -> str:
    return limits.client_ip(
        {k.lower(): v for k, v in request.headers.items()}, request.client.host if request.client else None
    )


async def limit_login(request: Request) -> None:
    """A dependency: login attempts per client address (before the per-account lockout)."""
    limits = limits_of(request)
    if limits is not None:
        await limits.check(limits.rules.login_ip, _ip(limits, request))


async def _phone_of(request: Request) -> str | None:
    # The route has parsed (and cached) the body already: a JSON object or a url-encoded form.
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            body: Any = json.loads(await request.body() or b"null")
            value = body.get("phone") if isinstance(body, dict) else None
        else:
            parsed = parse_qs((await request.body()).decode("utf-8", "replace"))
            value = parsed["phone"][0] if parsed.get("phone") else None
    except ValueError:
        return None
    return phone_identity(value) if isinstance(value, str) else None


async def _check_hold(limits: RateLimits, request: Request) -> None:
    await limits.check(limits.rules.hold_ip, _ip(limits, request))
    phone = await _phone_of(request)
    if phone is not None:
        await limits.check(limits.rules.hold_phone, phone)


async def limit_page_hold(request: Request) -> None:
    """A dependency of the booking pages' hold: per client address and per phone."""
    limits = limits_of(request)
    if limits is not None:
        await _check_hold(limits, request)


async def limit_api_hold(request: Request, principal: Authenticated) -> Principal:
    """A dependency of POST /holds: customers' holds per address and phone (API tokens: not limited)."""
    limits = limits_of(request)
    if limits is not None and principal.kind not in (PrincipalKind.API_TOKEN, PrincipalKind.SYSTEM):
        await _check_hold(limits, request)
    return principal


async def page_refusal(check: Callable[[Request], Awaitable[None]], request: Request) -> RateLimited | None:
    """Run a limit for a page that answers in HTML: the refusal to show (None: within the limit).

    Browsers posting a form get a page saying when to try again, not the API's JSON problem.
    """
    try:
        await check(request)
    except RateLimited as err:
        return err
    return None


LoginRateLimit = Annotated[None, Depends(limit_login)]
PageHoldRateLimit = Annotated[None, Depends(limit_page_hold)]
ApiHoldRateLimit = Annotated[Principal, Depends(limit_api_hold)]


def rate_limited_response(err: RateLimited) -> JSONResponse:
    """The 429 problem with Retry-After."""
    response = problem(
        429, err.code, "Rate limited", err.detail, None, rule=err.rule.name, retry_after_s=err.retry_after_s
    )
    response.headers["Retry-After"] = str(err.retry_after_s)
    return response


async def _rate_limited(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return rate_limited_response(exc)


class CallbackGuard:
    """ASGI middleware: payment callbacks per calling address, before the provider's route runs."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(CALLBACK_PREFIX):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            client = scope.get("client")
            source = self.limits.client_ip(headers, client[0] if client else None)
            try:
                await self.limits.check(self.limits.rules.callback_source, source)
            except RateLimited as err:
                await rate_limited_response(err)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_rate_limits(app: FastAPI, limits: RateLimits) -> None:
    """Apply the limits to app: the dependencies find them on app.state; callbacks get the guard."""
    app.state.ratelimits = limits
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_middleware(CallbackGuard, limits=limits)
