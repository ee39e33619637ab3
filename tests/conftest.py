"""Fixtures shared by every layer of the suite: free ports and an embedded MQTT broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import HealthCheck, settings

from edge.broker import EmbeddedBroker
from gatehouse.chain import free_port
from gatehouse.postgres import throwaway_postgres

# These machines are shared and noisy: judge hypothesis tests by their properties, not their speed.
settings.register_profile("gatehouse", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gatehouse")


@pytest.fixture
async def mqtt_broker() -> AsyncIterator[EmbeddedBroker]:
    """A real amqtt broker on a free loopback port."""
    async with EmbeddedBroker(port=0) as broker:
        yield broker


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the session; yields its asyncpg URL."""
    with throwaway_postgres(free_port()) as url:
        yield url
