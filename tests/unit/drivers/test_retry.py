"""Retry and backoff timing shared by the drivers."""

from __future__ import annotations

import random

import pytest

from drivers.retry import Backoff, retry


class Flaky(Exception):
    """A retryable failure."""


class Fatal(Exception):
    """A failure that must not be retried."""


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(0.1, 1.0, rng=random.Random(7))
    delays = [backoff.next() for _ in range(8)]
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next() <= 0.1


async def test_retry_makes_exactly_the_given_number_of_tries_and_reraises_the_last_error() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise Flaky(len(calls))

    with pytest.raises(Flaky) as info:
        await retry(attempt, tries=3, backoff=0, retry_on=(Flaky,), log_extra={})
    assert len(calls) == 3
    assert info.value.args == (3,)


async def test_retry_returns_the_first_success() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise Flaky()
        return "ok"

    assert await retry(attempt, tries=3, backoff=0, retry_on=(Flaky,), log_extra={}) == "ok"
    assert len(calls) == 2


async def test_errors_not_listed_are_not_retried() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise Fatal()

    with pytest.raises(Fatal):
        await retry(attempt, tries=3, backoff=0, retry_on=(Flaky,), log_extra={})
    assert len(calls) == 1
