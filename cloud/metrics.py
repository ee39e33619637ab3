"""Prometheus metrics of the cloud process (module-level: one set per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_INGESTED = Counter(
    "gatehouse_edge_events_ingested_total", "Edge events recorded for the first time", ["outcome"]
)
EVENTS_DUPLICATE = Counter("gatehouse_edge_events_duplicate_total", "Edge events received again (no effect)")
EDGES_CONNECTED = Gauge("gatehouse_edges_connected", "Edge streams open in this process")
COMMAND_LATENCY = Histogram(
    "gatehouse_edge_command_latency_seconds",
    "Time from sending a command to an edge to its result",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PAYMENT_CALLBACKS_REJECTED = Counter(
    "gatehouse_payment_callbacks_rejected_total",
    "Payment callbacks refused (bad signature, stale, replayed, ...); tenant: whether one of our "
    "payments was named (unattributed ones reach no HQ: this counter and the log are where they show)",
    ["reason", "tenant"],
)
