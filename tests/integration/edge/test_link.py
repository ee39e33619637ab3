"""The edge's link with a fake cloud: enrolment, resumable store data, live deltas and commands."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from edge.bootstrap import EdgeDaemon
from edge.config import parse_config
from edge.identity import load_identity
from edge.link import EnrolmentError
from tests.integration.edge.fake_cloud import FakeCloud, booking_change, device_change
from tests.integration.edge.rig import END, START, STORE_ID, Rig, eventually


async def test_enrolment_saves_the_identity_with_private_files_readable_only_by_the_owner(rig: Rig) -> None:
    data_dir = rig.config.data_dir
    identity = load_identity(data_dir)
    assert identity is not None
    assert (identity.edge_id, identity.store_id) == ("edge-1", STORE_ID)
    for name in ("edge.key", "store_keys.json", "identity.json", "edge.db"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    assert rig.cloud.enrolments == 1
    hello = rig.cloud.hellos[0]
    assert (hello.edge_id, hello.store_id, hello.last_cursor) == ("edge-1", STORE_ID, 0)
    assert hello.software_version


async def test_a_reconnect_resumes_store_data_from_the_last_cursor(rig: Rig) -> None:
    cursor = rig.cloud.cursor
    await rig.cloud.stop()
    rig.cloud.put(booking_change("B7", "r2", START, END, order_no="ORD-7", phone_last4="7777"))
    await rig.cloud.start()
    await rig.cloud.wait_for(lambda: len(rig.cloud.hellos) == 2)
    assert rig.cloud.hellos[1].last_cursor == cursor

    async def has_b7() -> bool:
        return await rig.edge.store.booking("B7") is not None

    await eventually(has_b7)
    assert await rig.edge.store.cursor() == rig.cloud.cursor
    assert rig.cloud.enrolments == 1


async def test_a_cancellation_arriving_live_refuses_the_booking_at_once(rig: Rig) -> None:
    rig.cloud.put(booking_change("B1", "r1", START, END, status="cancelled"))

    async def cancelled() -> bool:
        booking = await rig.edge.store.booking("B1")
        return booking is not None and booking.status == "cancelled"

    await eventually(cancelled)
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption_refused")))
    assert rig.cloud.payloads("redemption_refused")[0]["reason"] == "revoked"
    assert rig.lock.unlocks == 0


async def test_a_changed_device_record_rebuilds_its_driver(rig: Rig) -> None:
    rig.cloud.put(device_change("pw-1", "power", "modbus", "r1", host="127.0.0.1", port=str(rig.power.port)))

    async def rebuilt() -> bool:
        record = rig.edge.devices.record("pw-1")
        return record is not None and "channels" not in record.config

    await eventually(rebuilt)
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    assert rig.power.channels == [True, False]  # the switch has one channel now


async def test_a_remote_unlock_opens_the_door_and_its_replay_has_no_second_effect(rig: Rig) -> None:
    rig.cloud.command("cmd-1", "unlock", {"room_id": "r1"})
    await rig.cloud.wait_for(lambda: len(rig.cloud.results) == 1)
    rig.cloud.command("cmd-1", "unlock", {"room_id": "r1"})
    await rig.cloud.wait_for(lambda: len(rig.cloud.results) == 2)
    first, replay = rig.cloud.results
    assert (first.command_id, first.ok, first.code) == ("cmd-1", True, "ok")
    assert json.loads(first.result_json) == {"room_id": "r1", "device_id": "lock-1"}
    assert replay == first
    assert rig.lock.unlocks == 1


async def test_remote_power_switches_every_channel_of_the_room(rig: Rig) -> None:
    rig.cloud.command("cmd-2", "power", {"room_id": "r1", "on": True})
    await rig.cloud.wait_for(lambda: len(rig.cloud.results) == 1)
    assert rig.cloud.results[0].ok
    assert rig.power.channels == [True, True]
    rig.cloud.command("cmd-3", "power", {"room_id": "r1", "on": False})
    await rig.cloud.wait_for(lambda: len(rig.cloud.results) == 2)
    assert rig.power.channels == [False, False]


async def test_commands_past_their_deadline_or_for_unknown_rooms_are_refused(rig: Rig) -> None:
    past = int(rig.clock.now() * 1000) - 1
    rig.cloud.command("cmd-4", "unlock", {"room_id": "r1"}, deadline_ms=past)
    rig.cloud.command("cmd-5", "unlock", {"room_id": "r9"})
    await rig.cloud.wait_for(lambda: len(rig.cloud.results) == 2)
    codes = {r.command_id: r.code for r in rig.cloud.results}
    assert codes == {"cmd-4": "deadline_exceeded", "cmd-5": "no_such_room"}
    assert rig.lock.unlocks == 0


async def test_a_refused_bootstrap_token_stops_the_daemon_with_a_clear_error(tmp_path: Path) -> None:
    cloud = FakeCloud(store_id=STORE_ID, store_keys={1: b"k" * 32}, token="the-right-token")
    await cloud.start()
    try:
        config = parse_config(
            {
                "data_dir": str(tmp_path / "edge"),
                "cloud": {
                    "target": cloud.target,
                    "enroll_target": cloud.enroll_target,
                    "ca_cert": str(cloud.write_ca(tmp_path / "ca.pem")),
                    "bootstrap_token": "a-wrong-token",
                },
                "mqtt": {"port": 0},
                "panel": {"port": 0},
            }
        )
        with pytest.raises(ExceptionGroup) as caught:
            async with EdgeDaemon(config) as edge:
                await edge.link.enrolled.wait()
        [error] = caught.value.exceptions
        assert isinstance(error, EnrolmentError)
        assert error.code == "refused"
        assert load_identity(config.data_dir) is None
    finally:
        await cloud.stop()
