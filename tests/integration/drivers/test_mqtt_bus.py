"""MqttBus over a real amqtt broker: routing by filter, unsubscribe, failures, reconnects."""

from __future__ import annotations

import asyncio

import pytest

from drivers.mqtt import MqttBus, MqttNotConnected
from edge.broker import EmbeddedBroker
from tests.conftest import free_port
from tests.integration.drivers.support import TcpProxy, eventually


async def test_publish_without_a_broker_raises_not_connected() -> None:
    async with MqttBus("127.0.0.1", free_port()) as bus:
        with pytest.raises(MqttNotConnected):
            await bus.wait_connected(0.1)
        with pytest.raises(MqttNotConnected):
            await bus.publish("gh/dev/x/cmd", b"{}")
        assert not bus.connected


async def test_messages_reach_only_the_callbacks_whose_filter_matches(bus: MqttBus) -> None:
    got: dict[str, list[str]] = {"exact": [], "plus": [], "hash": [], "other": []}
    bus.subscribe("gh/dev/a/state", lambda topic, _: got["exact"].append(topic))
    bus.subscribe("gh/dev/+/state", lambda topic, _: got["plus"].append(topic))
    bus.subscribe("gh/dev/#", lambda topic, _: got["hash"].append(topic))
    bus.subscribe("gh/dev/b/cmd", lambda topic, _: got["other"].append(topic))
    await bus.wait_subscribed("gh/dev/#")
    await bus.wait_subscribed("gh/dev/a/state")
    await bus.publish("gh/dev/a/state", b"1")
    await bus.publish("gh/dev/c/state", b"2")
    await eventually(lambda: len(got["hash"]) == 2)
    await eventually(lambda: len(got["plus"]) == 2)
    assert got["exact"] == ["gh/dev/a/state"]
    assert got["other"] == []


async def test_an_unsubscribed_callback_gets_nothing_more(bus: MqttBus) -> None:
    first: list[bytes] = []
    second: list[bytes] = []
    unsubscribe = bus.subscribe("t/x", lambda _, payload: first.append(payload))
    bus.subscribe("t/x", lambda _, payload: second.append(payload))
    await bus.wait_subscribed("t/x")
    await bus.publish("t/x", b"one")
    await eventually(lambda: len(first) == 1 and len(second) >= 1)
    unsubscribe()
    await bus.publish("t/x", b"two")
    await eventually(lambda: b"two" in second)
    assert first == [b"one"]


async def test_a_failing_callback_neither_stops_the_others_nor_the_reader(bus: MqttBus) -> None:
    got: list[bytes] = []

    def broken(topic: str, payload: bytes) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe("t/y", broken)
    bus.subscribe("t/y", lambda _, payload: got.append(payload))
    await bus.wait_subscribed("t/y")
    await bus.publish("t/y", b"1")
    await bus.publish("t/y", b"2")
    await eventually(lambda: got == [b"1", b"2"])


async def test_settled_waits_for_the_acknowledgement_of_a_filter_added_while_connected(bus: MqttBus) -> None:
    await bus.wait_settled(5)
    got: list[bytes] = []
    bus.subscribe("gh/dev/late/scan", lambda _, payload: got.append(payload))
    settled = asyncio.create_task(bus.wait_settled(5))
    await asyncio.sleep(0)
    assert not settled.done(), "the SUBACK cannot have arrived without the reader running"
    await settled
    # Published from another client, as a scanner does: delivered only if the subscription stands.
    async with MqttBus(bus.host, bus.port) as scanner:
        await scanner.wait_connected(5)
        await scanner.publish("gh/dev/late/scan", b"code")
    await eventually(lambda: got == [b"code"])


async def test_settled_gives_up_without_a_broker() -> None:
    async with MqttBus("127.0.0.1", free_port()) as bus:
        bus.subscribe("gh/dev/x/scan", lambda _, payload: None)
        with pytest.raises(MqttNotConnected):
            await bus.wait_settled(0.1)


async def test_retained_state_reaches_a_late_subscriber(bus: MqttBus) -> None:
    await bus.publish("gh/dev/r/state", b"kept", retain=True)
    got: list[bytes] = []
    bus.subscribe("gh/dev/r/state", lambda _, payload: got.append(payload))
    await eventually(lambda: got == [b"kept"])


async def test_the_bus_reconnects_after_the_broker_restarts_and_subscriptions_still_deliver() -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port)
    await broker.start()
    link = TcpProxy("127.0.0.1", port)
    await link.open()
    got: list[bytes] = []
    try:
        async with (
            MqttBus("127.0.0.1", link.port, reconnect_max=0.2) as bus,
            MqttBus("127.0.0.1", link.port, reconnect_max=0.2) as sender,
        ):
            bus.subscribe("gh/dev/z/scan", lambda _, payload: got.append(payload))
            await bus.wait_connected(5)
            await sender.wait_connected(5)
            await bus.wait_subscribed("gh/dev/z/scan")
            await sender.publish("gh/dev/z/scan", b"before")
            await eventually(lambda: got == [b"before"])

            # The broker dies under its clients and comes back empty (no sessions, no subscriptions).
            await link.cut()
            await eventually(lambda: not bus.connected and not sender.connected)
            with pytest.raises(MqttNotConnected):
                await bus.publish("gh/dev/z/scan", b"lost")
            await broker.stop()
            broker = EmbeddedBroker(port=port)
            await broker.start()
            await link.open()

            await bus.wait_connected(5)
            await sender.wait_connected(5)
            await asyncio.wait_for(bus.wait_subscribed("gh/dev/z/scan"), 5)
            await sender.publish("gh/dev/z/scan", b"after")
            await eventually(lambda: got == [b"before", b"after"])
            assert bus.connects == 2
    finally:
        await link.cut()
        await broker.stop()
