"""MqttScanner and TcpLineScanner against their simulators: delivery, bad input, reconnects."""

from __future__ import annotations

import pytest

from drivers.mqtt import MqttBus
from drivers.scanner import MqttScanner, Scan, TcpLineScanner
from edge.broker import EmbeddedBroker
from simulators.scanner import SimulatedMqttScanner, SimulatedTcpScanner
from tests.integration.drivers.support import ScanInbox, eventually


async def test_mqtt_scans_reach_the_handler_in_order(bus: MqttBus, mqtt_broker: EmbeddedBroker) -> None:
    inbox = ScanInbox()
    scanner = MqttScanner(bus, "scan-1", inbox)
    await scanner.start()
    try:
        await bus.wait_subscribed("gh/dev/scan-1/scan")
        async with SimulatedMqttScanner(mqtt_broker.host, mqtt_broker.port, "scan-1") as sim:
            for text in ("GH1.a", "GH1.b", "GH1.c"):
                await sim.scan(text)
            assert await inbox.wait_for(3) == ["GH1.a", "GH1.b", "GH1.c"]
            assert inbox.scans[0] == Scan("scan-1", "GH1.a")
    finally:
        await scanner.stop()


async def test_bad_mqtt_scans_are_dropped_and_a_failing_handler_does_not_stop_delivery(
    bus: MqttBus, mqtt_broker: EmbeddedBroker
) -> None:
    inbox = ScanInbox()

    async def handler(scan: Scan) -> None:
        await inbox(scan)
        if scan.text == "boom":
            raise RuntimeError("handler bug")

    scanner = MqttScanner(bus, "scan-1", handler)
    await scanner.start()
    try:
        await bus.wait_subscribed("gh/dev/scan-1/scan")
        async with SimulatedMqttScanner(mqtt_broker.host, mqtt_broker.port, "scan-1") as sim:
            await sim.send_raw(b"\xff\xfe")
            await sim.scan("boom")
            await sim.scan("after")
            assert await inbox.wait_for(2) == ["boom", "after"]
        assert scanner.dropped == 1
    finally:
        await scanner.stop()


async def test_a_stopped_mqtt_scanner_delivers_nothing(bus: MqttBus, mqtt_broker: EmbeddedBroker) -> None:
    inbox = ScanInbox()
    scanner = MqttScanner(bus, "scan-1", inbox)
    await scanner.start()
    await scanner.stop()
    witness = ScanInbox()
    other = MqttScanner(bus, "scan-1", witness)
    await other.start()
    try:
        await bus.wait_subscribed("gh/dev/scan-1/scan")
        async with SimulatedMqttScanner(mqtt_broker.host, mqtt_broker.port, "scan-1") as sim:
            await sim.scan("x")
            await witness.wait_for(1)
        assert inbox.scans == []
    finally:
        await other.stop()


async def test_tcp_lines_reach_the_handler_with_either_line_ending() -> None:
    inbox = ScanInbox()
    async with SimulatedTcpScanner() as sim:
        scanner = TcpLineScanner("door-1", "127.0.0.1", sim.port, inbox)
        await scanner.start()
        try:
            await sim.wait_client()
            await sim.scan("GH1.first")
            await sim.send_raw(b"GH1.sec")
            await sim.send_raw(b"ond\nGH1.third\r\n\r\n")
            assert await inbox.wait_for(3) == ["GH1.first", "GH1.second", "GH1.third"]
            assert inbox.scans[0].device_id == "door-1"
        finally:
            await scanner.stop()


async def test_an_over_long_tcp_line_is_dropped_and_reported_and_the_next_line_survives() -> None:
    inbox = ScanInbox()
    async with SimulatedTcpScanner() as sim:
        scanner = TcpLineScanner("door-1", "127.0.0.1", sim.port, inbox, max_line=64)
        await scanner.start()
        try:
            await sim.wait_client()
            await sim.send_raw(b"x" * 1000)
            await sim.send_raw(b"y" * 1000 + b"\n")
            await sim.send_raw(b"\xff\xfe garbage\n")
            await sim.scan("GH1.ok")
            assert await inbox.wait_for(1) == ["GH1.ok"]
            assert scanner.dropped == 2
        finally:
            await scanner.stop()


async def test_the_tcp_scanner_reconnects_after_the_adapter_restarts() -> None:
    inbox = ScanInbox()
    async with SimulatedTcpScanner() as sim:
        scanner = TcpLineScanner("door-1", "127.0.0.1", sim.port, inbox, reconnect_max=0.1)
        await scanner.start()
        try:
            await sim.wait_client()
            await sim.scan("before")
            await inbox.wait_for(1)
            await sim.go_offline()
            await eventually(lambda: not scanner.connected)
            await sim.come_online()
            await sim.wait_client()
            await sim.scan("after")
            assert await inbox.wait_for(2) == ["before", "after"]
            assert scanner.connects == 2
        finally:
            await scanner.stop()
    assert not scanner.connected


@pytest.mark.parametrize("max_line", [0, -1])
def test_a_tcp_scanner_needs_a_positive_line_limit(max_line: int) -> None:
    async def handler(scan: Scan) -> None:
        return None

    with pytest.raises(ValueError):
        TcpLineScanner("door-1", "127.0.0.1", 1, handler, max_line=max_line)
