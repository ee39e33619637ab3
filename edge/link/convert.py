"""The gRPC boundary: protobuf messages in and out, converted to and from the edge's dataclasses."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from edge.link.commands import CommandReply, CommandRequest
from edge.records import (
    Booking,
    Change,
    Device,
    ItemKind,
    OutboxEvent,
    Room,
    Staff,
    StoreInfo,
    Tombstone,
)
from protos import edgelink_pb2 as pb

logger = logging.getLogger(__name__)

_KINDS: dict[str, ItemKind] = {
    "store": ItemKind.STORE,
    "room": ItemKind.ROOM,
    "device": ItemKind.DEVICE,
    "booking": ItemKind.BOOKING,
    "staff": ItemKind.STAFF,
}


def _item_id(change: pb.Change, field: str) -> str:
    if field == "store":
        return change.store.id
    if field == "room":
        return change.room.id
    if field == "device":
        return change.device.id
    if field == "staff":
        return change.staff.id
    return change.booking.ref


def change_from_pb(change: pb.Change) -> Change | None:
    """One store-data change as an edge dataclass (None: empty or without an id)."""
    field = change.WhichOneof("item")
    if field is None:
        return None
    item_id = _item_id(change, field)
    if not item_id:
        return None
    if change.deleted:
        return Tombstone(_KINDS[field], item_id)
    if field == "store":
        s = change.store
        return StoreInfo(
            s.id,
            s.tenant_id,
            s.name,
            s.timezone or "UTC",
            s.early_grace_s,
            tuple(s.key_versions),
            chain_settings=dict(s.chain_settings),
            store_settings=dict(s.store_settings),
        )
    if field == "room":
        r = change.room
        return Room(r.id, r.name, r.kind, type_settings=dict(r.type_settings), zone=r.zone)
    if field == "device":
        d = change.device
        return Device(d.id, d.kind, d.protocol, d.room_id or None, dict(d.config), zone=d.zone)
    if field == "staff":
        st = change.staff
        return Staff(st.id, st.username, st.display_name, st.role, st.password_hash, st.active)
    b = change.booking
    return Booking(
        b.ref, b.room_id, b.starts_at, b.ends_at, b.order_no, b.phone_last4, b.status or "confirmed"
    )


def changes_from_pb(data: pb.StoreData) -> list[Change]:
    """Every usable change of a StoreData message, in order (unusable ones are logged and skipped)."""
    changes: list[Change] = []
    for raw in data.changes:
        change = change_from_pb(raw)
        if change is None:
            logger.warning("store data change without an item or id skipped", extra={"cursor": raw.cursor})
            continue
        changes.append(change)
    return changes


def hello(edge_id: str, store_id: str, last_cursor: int, software_version: str) -> pb.EdgeMessage:
    """The first message of every stream."""
    return pb.EdgeMessage(
        hello=pb.Hello(
            edge_id=edge_id, store_id=store_id, last_cursor=last_cursor, software_version=software_version
        )
    )


def event_batch(events: Sequence[OutboxEvent]) -> pb.EdgeMessage:
    """Outbox events as one EventBatch."""
    return pb.EdgeMessage(
        events=pb.EventBatch(
            events=[
                pb.Event(seq=e.seq, kind=e.kind, occurred_at_ms=e.occurred_at_ms, payload_json=e.payload_json)
                for e in events
            ]
        )
    )


def command_from_pb(command: pb.Command) -> CommandRequest:
    """A cloud command as a dataclass."""
    return CommandRequest(command.id, command.kind, command.deadline_ms, command.args_json)


def command_result(reply: CommandReply) -> pb.EdgeMessage:
    """A command's result as an EdgeMessage."""
    return pb.EdgeMessage(
        command_result=pb.CommandResult(
            command_id=reply.command_id,
            ok=reply.ok,
            code=reply.code,
            message=reply.message,
            result_json=reply.result_json,
        )
    )
