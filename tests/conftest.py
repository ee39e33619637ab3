"""Fixtures shared by every layer of the suite: free ports and an embedded MQTT broker."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import HealthCheck, settings

from edge.broker import EmbeddedBroker
from gatehouse.postgres import throwaway_postgres

# These machines are shared and noisy: judge hypothesis tests by their properties, not their speed.
settings.register_profile("gatehouse", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gatehouse")


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
