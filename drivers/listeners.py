"""Listeners: the callback lists drivers keep for push events (status, heartbeat, sensor change)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Listeners(Generic[T]):
    """A list of callbacks whose failures are logged, never raised into the caller."""

    def __init__(self, what: str, log_extra: Mapping[str, object]) -> None:
        self._what = what
        self._log = dict(log_extra)
        self._callbacks: list[Callable[[T], None]] = []

    def add(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Register `callback`; returns its removal."""
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    def emit(self, value: T) -> None:
        """Call every callback with `value`."""
        for callback in list(self._callbacks):
            try:
                callback(value)
            except Exception:
                logger.exception("%s listener failed", self._what, extra=self._log)
