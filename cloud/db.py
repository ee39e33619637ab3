"""Database engine, sessions and migrations: SQLite (WAL) for the embedded cloud, PostgreSQL in production."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Any constant: serialises concurrent `migrate` calls of several cloud workers on one PostgreSQL.
_MIGRATION_LOCK_ID = 0x6761_7465


def is_sqlite(db_url: str) -> bool:
    """True for a sqlite URL."""
    return make_url(db_url).get_backend_name() == "sqlite"


def make_engine(db_url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite with WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE transactions.

    On PostgreSQL a pooled connection the server closed is replaced at checkout, with no ping.
    """
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        pg_engine = create_async_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _refuse_closed_connections(pg_engine)
        return pg_engine
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands (see SQLAlchemy's "sqlite_transactions").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE: a transaction that reads then writes can never lose the write lock to another
        # writer (a deferred one fails at once with SQLITE_BUSY_SNAPSHOT under WAL).
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _refuse_closed_connections(engine: AsyncEngine) -> None:
    """Hand out no pooled connection whose socket the server closed (a restart, an idle timeout).

    The driver notices the server's close as soon as the loop reads it, so this check costs no
    round trip, where `pool_pre_ping` spends one on every checkout (an eighth of a booking hold's
    time on PostgreSQL). The pool replaces a refused connection with a fresh one.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        is_closed = getattr(driver, "is_closed", None)
        if is_closed is not None and is_closed():
            raise exc.DisconnectionError("the server closed this pooled connection")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (services return what they wrote)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(db_url: str | None = None) -> Config:
    """An Alembic config built in code (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if db_url is not None:
        config.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(db_url: str) -> None:
    """Bring the database at db_url to the latest schema (`alembic upgrade head`)."""
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, alembic_config(db_url))
    finally:
        await engine.dispose()
    logger.info("database migrated", extra={"backend": make_url(db_url).get_backend_name()})
