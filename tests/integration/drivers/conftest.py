"""Fixtures for driver tests: a connected MqttBus on the embedded broker of tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from drivers.mqtt import MqttBus
from edge.broker import EmbeddedBroker


@pytest.fixture
async def bus(mqtt_broker: EmbeddedBroker) -> AsyncIterator[MqttBus]:
    """An MqttBus connected to the test broker."""
    async with MqttBus(mqtt_broker.host, mqtt_broker.port, reconnect_max=0.2) as connected:
        await connected.wait_connected(5)
        yield connected
