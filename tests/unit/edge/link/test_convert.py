"""The gRPC boundary: protobuf store data becomes the edge's dataclasses (and events go back out)."""

from __future__ import annotations

from edge.link import convert
from edge.records import Booking, Device, ItemKind, OutboxEvent, Room, Staff, StoreInfo, Tombstone
from protos import edgelink_pb2 as pb


def test_every_item_kind_converts_to_its_dataclass() -> None:
    data = pb.StoreData(
        cursor=9,
        snapshot=True,
        changes=[
            pb.Change(
                cursor=1, store=pb.StoreInfo(id="s1", name="A", early_grace_s=300, key_versions=[1, 2])
            ),
            pb.Change(cursor=2, room=pb.Room(id="r1", name="Room 1", kind="ktv")),
            pb.Change(cursor=3, device=pb.Device(id="d1", kind="scanner", protocol="mqtt")),
            pb.Change(
                cursor=4,
                device=pb.Device(
                    id="d2",
                    room_id="r1",
                    kind="power",
                    protocol="modbus",
                    config={"host": "h", "port": "502"},
                ),
            ),
            pb.Change(
                cursor=5,
                booking=pb.Booking(
                    ref="B1",
                    room_id="r1",
                    starts_at=60,
                    ends_at=120,
                    order_no="O",
                    phone_last4="1234",
                    status="confirmed",
                ),
            ),
        ],
    )
    assert convert.changes_from_pb(data) == [
        StoreInfo("s1", "", "A", "UTC", 300, (1, 2)),
        Room("r1", "Room 1", "ktv"),
        Device("d1", "scanner", "mqtt", None, {}),
        Device("d2", "power", "modbus", "r1", {"host": "h", "port": "502"}),
        Booking("B1", "r1", 60, 120, "O", "1234", "confirmed"),
    ]


def test_tombstones_keep_only_kind_and_id() -> None:
    change = pb.Change(cursor=3, deleted=True, booking=pb.Booking(ref="B1"))
    assert convert.change_from_pb(change) == Tombstone(ItemKind.BOOKING, "B1")


def test_changes_without_an_item_or_an_id_are_skipped() -> None:
    data = pb.StoreData(changes=[pb.Change(cursor=1), pb.Change(cursor=2, room=pb.Room(name="no id"))])
    assert convert.changes_from_pb(data) == []


def test_outbox_events_become_one_event_batch() -> None:
    message = convert.event_batch(
        [OutboxEvent(4, "redemption", 1000, '{"a":1}'), OutboxEvent(5, "x", 2, "{}")]
    )
    assert [(e.seq, e.kind, e.occurred_at_ms, e.payload_json) for e in message.events.events] == [
        (4, "redemption", 1000, '{"a":1}'),
        (5, "x", 2, "{}"),
    ]


def test_staff_and_alarm_zones_convert() -> None:
    data = pb.StoreData(
        changes=[
            pb.Change(
                cursor=1,
                staff=pb.Staff(
                    id="u1", username="li", display_name="Li", role="cleaner", password_hash="$h", active=True
                ),
            ),
            pb.Change(cursor=2, room=pb.Room(id="r1", name="Room 1", kind="ktv", zone="floor-2")),
            pb.Change(cursor=3, device=pb.Device(id="sm-1", kind="smoke", protocol="mqtt", zone="floor-2")),
            pb.Change(cursor=4, deleted=True, staff=pb.Staff(id="u2")),
        ]
    )
    assert convert.changes_from_pb(data) == [
        Staff("u1", "li", "Li", "cleaner", "$h", True),
        Room("r1", "Room 1", "ktv", zone="floor-2"),
        Device("sm-1", "smoke", "mqtt", None, {}, zone="floor-2"),
        Tombstone(ItemKind.STAFF, "u2"),
    ]
