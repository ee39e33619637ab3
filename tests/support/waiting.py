"""Wait for a condition with a deadline: the tests' alternative to sleeping for luck."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from gatehouse.chain import wait_until

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, what: str = "condition"
) -> T:
    """Call probe until it returns a truthy value; return it, or fail the test after timeout seconds."""
    try:
        return await wait_until(probe, timeout=timeout, what=what)
    except TimeoutError as err:
        raise AssertionError(str(err)) from None
