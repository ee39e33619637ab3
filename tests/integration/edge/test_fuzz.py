"""Fuzzing the running daemon: garbage scans and bad MQTT payloads are refused with reasons; it stays up."""

from __future__ import annotations

import json
import socket

import aiomqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.redemption.model import Reason
from edge.sessions.model import ROOM_CODE_PREFIX
from protos.codes import Refusal
from tests.integration.edge.rig import STORE_ID, Rig

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
CLEANING_REASONS = {
    "malformed",
    "wrong_store",
    "unknown_key",
    "bad_signature",
    "no_such_room",
    "wrong_room",
    "not_cleaning",
}
STABLE_REASONS = {r.value for r in Reason} | {r.value for r in Refusal} | CLEANING_REASONS
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

texts = st.one_of(
    st.text(max_size=600),
    st.text(alphabet="GH1.0123456789abcdefr-_", max_size=120).map(lambda t: "GH1." + t),
    st.text(alphabet="GHROOM.store-ar12", max_size=40).map(lambda t: ROOM_CODE_PREFIX + "." + t),
    # Well-formed room QRs of this store's rooms with a forged seal.
    st.tuples(
        st.sampled_from(["r1", "r2", "r9"]),
        st.integers(1, 3),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=26, max_size=26),
    ).map(lambda t: f"{ROOM_CODE_PREFIX}.{STORE_ID}.{t[0]}.{t[1]}.{t[2]}"),
)


@FUZZ
@given(text=texts)
async def test_any_scanned_text_is_refused_with_a_stable_reason_and_opens_nothing(
    rig: Rig, text: str
) -> None:
    result = await rig.edge.on_scan(text, "scan-1")
    assert result.ok is False
    assert result.reason in STABLE_REASONS
    assert rig.lock.unlocks == 0


TOPICS = [
    "gh/dev/lock-1/state",
    "gh/dev/lock-1/heartbeat",
    "gh/dev/scan-1/scan",
    "gh/dev/gate-1/scan",
    "gh/dev/gate-1/heartbeat",
    "gh/dev/unknown/state",
]
payloads = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(
        st.sampled_from(["state", "door", "cmd_id", "ts", "battery", "error", "channels"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)),
        max_size=5,
    ).map(lambda d: json.dumps(d).encode()),
)


@FUZZ
@given(messages=st.lists(st.tuples(st.sampled_from(TOPICS), payloads), min_size=1, max_size=8))
async def test_malformed_mqtt_payloads_leave_the_daemon_up_and_serving(
    rig: Rig, messages: list[tuple[str, bytes]]
) -> None:
    async with aiomqtt.Client("127.0.0.1", rig.edge.mqtt_port, socket_options=NODELAY) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1)
    async with rig.signed_in() as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/api/state")).status_code == 200
    assert rig.lock.unlocks == 0


async def test_after_the_garbage_a_real_code_still_opens_the_door(rig: Rig) -> None:
    async with aiomqtt.Client("127.0.0.1", rig.edge.mqtt_port, socket_options=NODELAY) as client:
        for payload in (b"\xff\x00", b"{", b'{"state": "exploded", "ts": 1}', b'{"battery": -4}'):
            for topic in TOPICS:
                await client.publish(topic, payload, qos=1)
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    assert rig.lock.unlocks == 1
    refusals = rig.cloud.payloads("redemption_refused")
    assert refusals and all(r["reason"] in STABLE_REASONS for r in refusals)
