"""Rate limits: fixed windows, the in-process counter on a fake clock, and the 429 the HTTP edge answers."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from cloud.clock import FakeClock
from cloud.ratelimit import MemoryLimiter, Rule
from cloud.ratelimit.http import (
    LoginRateLimit,
    PageHoldRateLimit,
    RateLimits,
    RateRules,
    install_rate_limits,
)
from cloud.ratelimit.model import bucket_key, decide, phone_identity, window_at

START = datetime(2030, 3, 1, 8, 0, 0, tzinfo=UTC)


def test_a_moment_falls_in_the_window_that_contains_it() -> None:
    rule = Rule("login_ip", 3, 60)
    at = START.timestamp() + 59.5
    window = window_at(rule, at)
    assert window == window_at(rule, START.timestamp())
    assert window.ends_at == START.timestamp() + 60
    assert window_at(rule, START.timestamp() + 60).index == window.index + 1


def test_over_the_limit_is_refused_until_the_window_ends_in_whole_seconds() -> None:
    rule = Rule("login_ip", 3, 60)
    window = window_at(rule, START.timestamp())
    assert decide(rule, 3, window, START.timestamp() + 10).allowed
    refused = decide(rule, 4, window, START.timestamp() + 10.2)
    assert not refused.allowed and refused.retry_after_s == 50
    assert decide(rule, 4, window, START.timestamp() + 59.9).retry_after_s == 1


def test_a_limit_of_zero_limits_nothing_and_bad_rules_are_refused() -> None:
    rule = Rule("off", 0, 60)
    assert decide(rule, 10_000, window_at(rule, 0), 0).allowed
    with pytest.raises(ValueError):
        Rule("bad", 1, 0)


def test_keys_hide_the_identity_and_phones_are_compared_by_their_digits() -> None:
    rule = Rule("hold_phone", 3, 600)
    key = bucket_key(rule, "13900001234", window_at(rule, 0))
    assert "13900001234" not in key and key.startswith("gh:rl:hold_phone:")
    assert phone_identity("+86 139-0000-1234") == "8613900001234"
    assert phone_identity("12") is None


async def test_the_memory_limiter_counts_per_identity_and_resets_with_the_window() -> None:
    clock = FakeClock(START)
    limiter = MemoryLimiter(clock)
    rule = Rule("login_ip", 2, 60)
    assert [(await limiter.hit(rule, "10.0.0.1")).allowed for _ in range(3)] == [True, True, False]
    assert (await limiter.hit(rule, "10.0.0.2")).allowed
    clock.advance(60)
    assert (await limiter.hit(rule, "10.0.0.1")).allowed


def _app(clock: FakeClock, *, trust_forwarded_for: bool = False) -> FastAPI:
    app = FastAPI()
    rules = RateRules(
        login_ip=Rule("login_ip", 2, 60),
        hold_ip=Rule("hold_ip", 100, 600),
        hold_phone=Rule("hold_phone", 1, 600),
        callback_source=Rule("callback_source", 1, 60),
        call_room=Rule("service_call_room", 6, 600),
        call_ip=Rule("service_call_ip", 20, 600),
    )
    install_rate_limits(app, RateLimits(MemoryLimiter(clock), rules, trust_forwarded_for))

    @app.post("/login")
    async def login(_limit: LoginRateLimit) -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/hold")
    async def hold(_limit: PageHoldRateLimit) -> dict[str, str]:
        return {"status": "held"}

    @app.post("/api/v1/payments/callbacks/sim")
    async def callback() -> dict[str, str]:
        return {"status": "taken"}

    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cloud")


async def test_the_http_edge_answers_429_problems_with_retry_after_and_lets_through_after_a_window() -> None:
    clock = FakeClock(START.replace(second=15))
    async with _client(_app(clock)) as client:
        codes = [(await client.post("/login")).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        refused = await client.post("/login")
        assert refused.headers["Retry-After"] == "45"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited" and refused.json()["rule"] == "login_ip"
        clock.advance(45)
        assert (await client.post("/login")).status_code == 200


async def test_holds_are_limited_per_phone_from_a_form_or_json_body() -> None:
    async with _client(_app(FakeClock(START))) as client:
        assert (await client.post("/hold", data={"phone": "139 0000 1234"})).status_code == 200
        again = await client.post("/hold", json={"phone": "13900001234"})
        assert again.status_code == 429 and again.json()["rule"] == "hold_phone"
        assert (await client.post("/hold", data={"phone": "13900005678"})).status_code == 200


async def test_callbacks_are_limited_per_source_and_a_proxy_address_counts_only_when_trusted() -> None:
    async with _client(_app(FakeClock(START), trust_forwarded_for=True)) as client:
        path = "/api/v1/payments/callbacks/sim"
        assert (await client.post(path, headers={"X-Forwarded-For": "198.51.100.7"})).status_code == 200
        assert (await client.post(path, headers={"X-Forwarded-For": "198.51.100.8"})).status_code == 200
        limited = await client.post(path, headers={"X-Forwarded-For": "198.51.100.7, 10.0.0.1"})
        assert limited.status_code == 429 and limited.headers["Retry-After"]
