"""The unit of work: a session plus the notifier told, after commit, which stores' data changed."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

CHANGED_STORES = "gatehouse.changed_stores"


class ChangeNotifier(Protocol):
    """Told after a commit that a store's data changed (wakes that store's edge streams)."""

    def changed(self, store_id: str) -> None: ...


class NullNotifier:
    """A notifier nobody listens to (seeding, scripts)."""

    def changed(self, store_id: str) -> None:
        """Ignore the change."""


def mark_changed(session: AsyncSession, store_id: str) -> None:
    """Remember that this transaction changed store_id's data."""
    changed: set[str] = session.info.setdefault(CHANGED_STORES, set())
    changed.add(store_id)


class UnitOfWork:
    """One business transaction: services change `session`, then `commit()` notifies."""

    def __init__(self, session: AsyncSession, notifier: ChangeNotifier | None = None) -> None:
        self.session = session
        self.notifier: ChangeNotifier = notifier if notifier is not None else NullNotifier()

    async def commit(self) -> None:
        """Commit, then tell the notifier about every store whose data changed."""
        changed: set[str] = self.session.info.pop(CHANGED_STORES, set())
        await self.session.commit()
        for store_id in sorted(changed):
            self.notifier.changed(store_id)

    async def rollback(self) -> None:
        """Drop the transaction's changes."""
        self.session.info.pop(CHANGED_STORES, None)
        await self.session.rollback()
