"""Code scanners (door and entrance QR readers): scans over MQTT or from a TCP line server."""

from __future__ import annotations

from .client import ScanHandler, ScannerSource
from .codec import LineSplitter, Scan
from .exceptions import ScanDecodeError, ScannerError
from .transport_mqtt import MqttScanner
from .transport_tcp import TcpLineScanner

__all__ = [
    "LineSplitter",
    "MqttScanner",
    "Scan",
    "ScanDecodeError",
    "ScanHandler",
    "ScannerError",
    "ScannerSource",
    "TcpLineScanner",
]
