"""Wire constants of the MQTT transport: socket options, QoS, timings and the device topic layout."""

from __future__ import annotations

import socket
from typing import Final

# paho never sets TCP_NODELAY: without it every QoS 1 round trip waits ~40 ms on Nagle + delayed ACK.
SOCKET_OPTIONS: Final = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)

SUBSCRIBE_QOS: Final = 1
# aiomqtt warns past 10 unacknowledged publishes; one bus carries a whole store's devices, where a
# burst (start-up, an alarm opening every door) is normal. Warn only at a real backlog.
PENDING_PUBLISH_WARNING: Final = 500
KEEPALIVE_S: Final = 30
# aiomqtt's own limit on connect/subscribe/publish acknowledgements; drivers use shorter outer timeouts.
OPERATION_TIMEOUT_S: Final = 10.0
RECONNECT_MIN_S: Final = 0.05
RECONNECT_MAX_S: Final = 5.0

# Every device lives under gh/dev/<device id>/<leaf>.
DEVICE_TOPIC: Final = "gh/dev/{device_id}/{leaf}"
LEAF_CMD: Final = "cmd"
LEAF_STATE: Final = "state"
LEAF_HEARTBEAT: Final = "heartbeat"
LEAF_SCAN: Final = "scan"

# Device payloads are small JSON objects; anything bigger is garbage.
MAX_PAYLOAD: Final = 16 * 1024
