"""Fixtures of the edge integration tests: the rig of fake cloud, edge daemon and simulated devices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.bootstrap import EdgeDaemon
from edge.clock import FakeClock
from simulators.lock_mqtt import SimulatedMqttLock
from simulators.power_modbus import SimulatedModbusSwitch
from simulators.scanner import SimulatedMqttScanner
from tests.integration.edge.fake_cloud import FakeCloud
from tests.integration.edge.rig import (
    NOW,
    STORE_ID,
    STORE_KEY,
    WAIT_S,
    Rig,
    edge_config,
    seed,
    wait_until_subscribed,
)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    cloud = FakeCloud(store_id=STORE_ID, store_keys={1: STORE_KEY})
    await cloud.start()
    clock = FakeClock(NOW)
    try:
        async with SimulatedModbusSwitch(channels=2) as power:
            seed(cloud, power.port)
            config = edge_config(tmp_path, cloud)
            async with EdgeDaemon(config, clock=clock) as edge:
                host, port = "127.0.0.1", edge.mqtt_port
                async with (
                    SimulatedMqttLock(host, port, "lock-1", relock_after_s=30) as lock,
                    SimulatedMqttScanner(host, port, "scan-1") as scanner,
                    SimulatedMqttScanner(host, port, "gate-1") as gate,
                ):
                    async with asyncio.timeout(WAIT_S):
                        await edge.link.synced.wait()
                        await edge.devices.wait_synced()
                    await wait_until_subscribed(edge, "scan-1", "gate-1")
                    yield Rig(cloud, edge, clock, lock, power, scanner, gate, config)
    finally:
        await cloud.stop()
