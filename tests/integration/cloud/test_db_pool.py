"""The PostgreSQL pool hands out no connection the server has closed, without pinging on checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from cloud.db import make_engine
from tests.support.waiting import eventually

pytestmark = pytest.mark.postgres


async def test_a_connection_the_server_closed_is_replaced_at_checkout(postgres_server: str) -> None:
    engine = make_engine(postgres_server, pool_size=1, max_overflow=0)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        async with engine.connect() as conn:
            first_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            driver = (await conn.get_raw_connection()).driver_connection
        async with engine.connect() as other:  # the pool's one connection is idle again: reuse it
            assert await other.scalar(text("SELECT pg_backend_pid()")) == first_pid
        killer = make_engine(postgres_server)
        try:
            async with killer.connect() as admin:
                await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        finally:
            await killer.dispose()
        await eventually(lambda: _closed(driver), what="the driver to see the server's close")
        statements.clear()
        async with engine.connect() as conn:
            second_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        assert second_pid != first_pid
        assert statements == ["SELECT pg_backend_pid()"]  # no ping before it
    finally:
        await engine.dispose()


async def _closed(driver: object) -> bool:
    return bool(driver.is_closed())  # type: ignore[attr-defined]
