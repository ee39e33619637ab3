"""Scans at a real edge daemon with simulated devices and a fake cloud: doors, power and events."""

from __future__ import annotations

from edge.bootstrap import EdgeDaemon
from edge.sessions.model import RoomState
from simulators.scanner import SimulatedTcpScanner
from tests.integration.edge.fake_cloud import device_change
from tests.integration.edge.rig import START, Rig, eventually


async def test_a_valid_scan_unlocks_the_door_powers_the_room_and_reports_one_redemption(rig: Rig) -> None:
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    assert rig.lock.unlocks == 1
    assert rig.lock.state == "unlocked"

    async def powered() -> bool:
        # The power switches on beside the redemption's commit: its event may reach the cloud first.
        return rig.power.channels == [True, True]

    await eventually(powered)
    assert rig.cloud.payloads("redemption") == [
        {
            "booking_ref": "B1",
            "room_id": "r1",
            "method": "code",
            "known": True,
            "key_version": 1,
            "device_id": "scan-1",
        }
    ]
    session = await rig.edge.store.session("r1")
    assert (session.state, session.booking_ref) == (RoomState.IN_USE, "B1")


async def test_a_rescan_reopens_the_door_as_a_reentry_without_a_second_redemption(rig: Rig) -> None:
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    await rig.gate.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("reentry")))
    assert rig.lock.unlocks == 2
    assert len(rig.cloud.payloads("redemption")) == 1
    assert rig.cloud.payloads("reentry") == [{"booking_ref": "B1", "room_id": "r1", "device_id": "gate-1"}]


async def test_refused_scans_keep_the_door_shut_and_report_their_reasons(rig: Rig) -> None:
    scans = [
        (rig.scanner, rig.code("B2", "r2")),
        (rig.scanner, rig.code("B-OLD", starts_at=START - 7800, ends_at=START - 4200)),
        (rig.scanner, rig.code("B-CXL")),
        (rig.scanner, "not a code at all"),
        (rig.gate, rig.code("B9", "r9")),
    ]
    for scanner, text in scans:
        await scanner.scan(text)
    await rig.cloud.wait_for(lambda: len(rig.cloud.payloads("redemption_refused")) == len(scans))
    reasons = sorted(p["reason"] for p in rig.cloud.payloads("redemption_refused"))
    assert reasons == sorted(["wrong_room", "expired", "revoked", "malformed", "no_such_room"])
    assert rig.lock.unlocks == 0
    assert rig.cloud.payloads("redemption") == []


async def test_with_the_cloud_down_a_scan_still_opens_the_door_and_its_events_arrive_once_later(
    rig: Rig,
) -> None:
    await rig.cloud.stop()
    await rig.scanner.scan(rig.code())

    async def redeemed() -> bool:
        return await rig.edge.store.redemption("B1") is not None

    await eventually(redeemed)
    assert rig.lock.unlocks == 1
    assert not rig.edge.link.connected
    await rig.cloud.start()
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("reentry")))
    assert len(rig.cloud.payloads("redemption")) == 1
    assert rig.cloud.hellos[-1].last_cursor == rig.cloud.cursor


async def test_events_not_acknowledged_are_sent_again_after_a_reconnect_and_recorded_once(rig: Rig) -> None:
    rig.cloud.ack = False
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    [seq] = [s for s, e in rig.cloud.events.items() if e.kind == "redemption"]
    await rig.cloud.stop()
    rig.cloud.ack = True
    await rig.cloud.start()
    await rig.cloud.wait_for(lambda: rig.cloud.received.count(seq) == 2)
    assert len(rig.cloud.payloads("redemption")) == 1

    async def outbox_empty() -> bool:
        return await rig.edge.store.outbox_depth() == 0

    await eventually(outbox_empty)


async def test_a_booking_the_edge_never_received_opens_the_door_flagged_unknown(rig: Rig) -> None:
    await rig.scanner.scan(rig.code("B-OFFLINE"))
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    assert rig.lock.unlocks == 1
    [redemption] = rig.cloud.payloads("redemption")
    assert (redemption["booking_ref"], redemption["known"]) == ("B-OFFLINE", False)


async def test_a_jammed_lock_refuses_with_device_failed_and_raises_a_critical_fault(rig: Rig) -> None:
    rig.lock.jammed = True
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("fault")))
    assert rig.cloud.payloads("redemption") == []
    [refused] = rig.cloud.payloads("redemption_refused")
    assert refused["reason"] == "device_failed"
    [fault] = rig.cloud.payloads("fault")
    assert (fault["device_id"], fault["code"], fault["severity"]) == ("lock-1", "jammed", "critical")
    assert await rig.edge.store.redemption("B1") is None
    assert rig.power.channels == [False, False]


async def test_lock_state_changes_are_reported_once_each(rig: Rig) -> None:
    await rig.scanner.scan(rig.code())
    await rig.cloud.wait_for(
        lambda: any(p["state"] == "unlocked" for p in rig.cloud.payloads("device_state"))
    )
    states = [(p["device_id"], p["state"]) for p in rig.cloud.payloads("device_state")]
    assert states.count(("lock-1", "unlocked")) == 1
    assert states[0] == ("lock-1", "locked")


async def test_after_a_restart_with_the_cloud_down_the_cache_still_opens_doors(rig: Rig) -> None:
    await rig.cloud.stop()
    await rig.edge.__aexit__(None, None, None)
    async with EdgeDaemon(rig.config, clock=rig.clock) as edge:

        async def lock_back() -> bool:
            return edge.devices.status("lock-1") is not None

        await eventually(lock_back)
        result = await edge.redemption.redeem_order("ORD-1", "1234")
        assert (result.ok, result.booking_ref, result.room_id) == (True, "B1", "r1")
        assert rig.lock.unlocks == 1
        assert not edge.link.connected
        assert await edge.store.outbox_depth() > 0


async def test_a_tcp_line_scanner_added_live_feeds_its_rooms_redemptions(rig: Rig) -> None:
    async with SimulatedTcpScanner() as tcp:
        rig.cloud.put(device_change("scan-tcp", "scanner", "tcp", "r1", host="127.0.0.1", port=str(tcp.port)))
        await tcp.wait_client()
        await tcp.scan(rig.code())
        await rig.cloud.wait_for(lambda: bool(rig.cloud.payloads("redemption")))
    [redemption] = rig.cloud.payloads("redemption")
    assert (redemption["device_id"], redemption["room_id"]) == ("scan-tcp", "r1")
    assert rig.lock.unlocks == 1
