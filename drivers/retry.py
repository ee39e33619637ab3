"""Retry and reconnect timing shared by every driver: bounded command retries, backoff with jitter."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Backoff:
    """Exponential reconnect delays with jitter: initial, 2x initial, ... capped at `cap`."""

    def __init__(self, initial: float, cap: float, *, rng: random.Random | None = None) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError("backoff needs 0 < initial <= cap")
        self._initial = initial
        self._cap = cap
        self._attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next attempt (half fixed, half random, so peers do not retry in step)."""
        ceiling = min(self._cap, self._initial * 2.0 ** min(self._attempt, 32))
        self._attempt += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """Start again from the initial delay (after a successful connection)."""
        self._attempt = 0


async def retry(
    attempt: Callable[[], Awaitable[T]],
    *,
    tries: int,
    backoff: float,
    retry_on: tuple[type[Exception], ...],
    log_extra: Mapping[str, object],
) -> T:
    """Run `attempt` up to `tries` times, sleeping backoff, 2x backoff, ... between failed tries.

    Only the exceptions in `retry_on` are retried; the last one is re-raised unchanged.
    """
    if tries < 1:
        raise ValueError("tries must be >= 1")
    for number in range(1, tries + 1):
        try:
            return await attempt()
        except retry_on as err:
            if number == tries:
                raise
            delay = backoff * 2.0 ** (number - 1)
            logger.warning(
                "device command failed, retrying",
                extra={**log_extra, "try": number, "tries": tries, "error": repr(err), "delay_s": delay},
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
