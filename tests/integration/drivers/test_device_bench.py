"""The device command benchmark runs every protocol's driver and bare round trip (figures not judged)."""

from __future__ import annotations

from gatehouse.bench_devices import bench_device_commands


async def test_the_device_benchmark_reports_every_protocol_with_its_baseline() -> None:
    figures = await bench_device_commands(samples=3)
    assert set(figures) == {
        "mqtt_lock",
        "ble_lock",
        "modbus_power",
        "mqtt_power",
        "escpos_status",
        "modbus_gate",
    }
    for protocol in figures.values():
        assert set(protocol) == {"p50_ms", "p99_ms", "baseline_p50_ms"}
        assert all(value > 0 for value in protocol.values())
