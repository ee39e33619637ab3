"""The embedded broker keeps every device connected when many connect and subscribe at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiomqtt
import pytest

from edge.broker import EmbeddedBroker


async def _device(port: int, name: str, started: asyncio.Barrier) -> None:
    await started.wait()
    async with aiomqtt.Client("127.0.0.1", port, identifier=name) as client:
        await client.subscribe(f"gh/dev/{name}/#", qos=1)
        await client.publish(f"gh/dev/{name}/state", b'{"state": "locked"}', qos=1, retain=True)


async def test_a_burst_of_connecting_devices_all_get_in(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    async with (
        EmbeddedBroker() as broker,
        aiomqtt.Client("127.0.0.1", broker.port, identifier="edge") as edge,
    ):
        await edge.subscribe("gh/dev/+/state", qos=1)  # as the edge does: retained states match it
        for burst in range(4):
            devices = 40
            started = asyncio.Barrier(devices)
            async with asyncio.timeout(20):
                await asyncio.gather(
                    *(_device(broker.port, f"d{burst}-{i}", started) for i in range(devices))
                )
    assert not [
        r for r in caplog.records if "changed size during iteration" in r.getMessage() + str(r.exc_info)
    ]


async def test_the_broker_stops_promptly_with_devices_still_connected() -> None:
    broker = EmbeddedBroker()
    await broker.start()
    clients = [aiomqtt.Client("127.0.0.1", broker.port, identifier=f"dev-{i}") for i in range(5)]
    for client in clients:
        await client.__aenter__()
        await client.subscribe("gh/dev/#", qos=1)
    async with asyncio.timeout(10):
        await broker.stop()
    for client in clients:
        with contextlib.suppress(aiomqtt.MqttError):
            await client.__aexit__(None, None, None)
    # The port is free again: a new broker can take it at once.
    async with EmbeddedBroker(port=broker.port) as again:
        assert again.port == broker.port
