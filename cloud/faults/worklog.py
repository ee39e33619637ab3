"""The maintainer's side of work orders: the queue, accepting, the on-site scan, notes and photos."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal, in_reach
from cloud.auth.scoping import store_filter
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.errors import Invalid, NotFound, Unavailable
from cloud.faults import photos
from cloud.faults.model import (
    SEVERITY_RANK,
    Action,
    AssigneeRole,
    EntryKind,
    WorkOrderState,
    check_action,
    check_on_site_room,
    check_open_for_work,
    clean_note,
    queue_key,
)
from cloud.faults.services import add_entry, assign, get_reachable, start
from cloud.faults.tables import WorkOrder, WorkOrderEntry, WorkOrderPhoto
from cloud.ids import new_id
from cloud.storekeys import keyring
from cloud.tenancy.tables import Room
from cloud.uow import UnitOfWork
from protos import codes

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
UNRESOLVED = (WorkOrderState.OPEN.value, WorkOrderState.ASSIGNED.value, WorkOrderState.IN_PROGRESS.value)


class RoomCodeRefused(Invalid):
    """The scanned or typed room QR does not verify; the code is the reason (bad_signature...)."""

    code = "room_code_refused"


async def queue(session: AsyncSession, principal: Principal, *, limit: int = 200) -> list[WorkOrder]:
    """The unresolved maintainer work orders in the caller's reach: most severe first, then oldest."""
    rows = await session.scalars(
        select(WorkOrder)
        .where(
            WorkOrder.tenant_id == principal.tenant_id,
            store_filter(principal, WorkOrder.store_id),
            WorkOrder.assignee_role == AssigneeRole.MAINTAINER.value,
            WorkOrder.state.in_(UNRESOLVED),
        )
        # the same order as queue_key, so the limit never cuts a critical order for a minor one
        .order_by(
            case(
                *((WorkOrder.severity == sev, rank) for sev, rank in SEVERITY_RANK.items()),
                else_=len(SEVERITY_RANK),
            ),
            WorkOrder.raised_at,
            WorkOrder.id,
        )
        .limit(limit)
    )
    reachable = [
        r for r in rows if in_reach(principal, r.tenant_id, store_id=r.store_id, region_id=r.region_id)
    ]
    return sorted(reachable, key=lambda r: queue_key(r.severity, r.raised_at, r.id))


async def history(session: AsyncSession, principal: Principal, *, limit: int = 100) -> list[WorkOrder]:
    """The work orders the caller resolved, newest first."""
    resolved_by_me = select(WorkOrderEntry.work_order_id).where(
        WorkOrderEntry.tenant_id == principal.tenant_id,
        WorkOrderEntry.actor == principal.actor,
        WorkOrderEntry.kind == EntryKind.RESOLVE.value,
    )
    rows = await session.scalars(
        select(WorkOrder)
        .where(
            WorkOrder.tenant_id == principal.tenant_id,
            store_filter(principal, WorkOrder.store_id),
            WorkOrder.id.in_(resolved_by_me),
        )
        .order_by(WorkOrder.resolved_at.desc(), WorkOrder.id)
        .limit(limit)
    )
    return list(rows)


async def entries(session: AsyncSession, principal: Principal, order_id: str) -> list[WorkOrderEntry]:
    """The work order's log, oldest first."""
    order = await get_reachable(session, principal, order_id)
    rows = await session.scalars(
        select(WorkOrderEntry)
        .where(WorkOrderEntry.work_order_id == order.id)
        .order_by(WorkOrderEntry.at, WorkOrderEntry.id)
    )
    return list(rows)


async def photos_of(session: AsyncSession, principal: Principal, order_id: str) -> list[WorkOrderPhoto]:
    """The work order's photos, oldest first."""
    order = await get_reachable(session, principal, order_id)
    rows = await session.scalars(
        select(WorkOrderPhoto)
        .where(WorkOrderPhoto.work_order_id == order.id)
        .order_by(WorkOrderPhoto.created_at, WorkOrderPhoto.id)
    )
    return list(rows)


async def accept(uow: UnitOfWork, clock: Clock, principal: Principal, order_id: str) -> WorkOrder:
    """The caller takes the work order (assigned to them; taking it over from another is allowed)."""
    return await assign(uow, clock, principal, order_id, principal.actor.removeprefix("user:"))


async def on_site(
    uow: UnitOfWork, clock: Clock, cipher: FieldCipher, principal: Principal, order_id: str, code: str
) -> WorkOrder:
    """Confirm presence with the room's printed QR: the order goes in progress (refused with its reason)."""
    session = uow.session
    order = await get_reachable(session, principal, order_id)
    check_action(WorkOrderState(order.state), Action.START)
    keys = await keyring.load_keys(session, cipher, order.store_id)
    try:
        claim = codes.verify_room_code(code, order.store_id, keys)
    except codes.CodeRefused as err:
        logger.warning(
            "room code refused on site",
            extra={"work_order_id": order.id, "reason": err.reason.value, "actor": principal.actor},
        )
        raise RoomCodeRefused(
            f"the room code does not verify ({err.reason.value})", code=err.reason.value, field="code"
        ) from err
    check_on_site_room(order.room_id, claim.room_id)
    room = await session.get(Room, claim.room_id)
    where = room.name if room is not None and room.store_id == order.store_id else claim.room_id
    return await start(uow, clock, principal, order.id, note=f"on site: the QR of {where} verified")


async def add_note(
    uow: UnitOfWork, clock: Clock, principal: Principal, order_id: str, text: str
) -> WorkOrderEntry:
    """Add a note to an unresolved work order."""
    session = uow.session
    order = await get_reachable(session, principal, order_id)
    check_open_for_work(WorkOrderState(order.state))
    note = clean_note(text)
    now = clock.now()
    entry = add_entry(session, order, at=now, actor=principal.actor, kind=EntryKind.NOTE, text=note)
    record_audit(
        session,
        at=now,
        tenant_id=order.tenant_id,
        actor=principal.actor,
        action="work_order.note",
        entity="work_order",
        entity_id=order.id,
        after={"entry_id": entry.id, "text": note},
    )
    await uow.commit()
    return entry


@dataclass(frozen=True, slots=True)
class Kept:
    """A checked photo written under its final name: its type, size and digest."""

    relative: str
    content_type: str
    size: int
    sha256: str


def _keep(source: BinaryIO, uploads_dir: Path, relative_stem: str, limit: int) -> Kept:
    """Copy the upload in chunks (stop past the limit), check it is an image, write it by its new name."""
    buffer = bytearray()
    while chunk := source.read(CHUNK):
        buffer += chunk
        photos.check_size(len(buffer), limit)
    data = bytes(buffer)
    content_type = photos.check_image(data)
    relative = relative_stem + photos.EXTENSIONS[content_type]
    target = uploads_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: a random name never overwrites anything; 0600: only the cloud reads its uploads.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Kept(relative, content_type, len(data), hashlib.sha256(data).hexdigest())


async def add_photo(
    uow: UnitOfWork,
    clock: Clock,
    principal: Principal,
    order_id: str,
    source: BinaryIO,
    uploads_dir: Path | None,
    *,
    limit: int = photos.MAX_PHOTO_BYTES,
) -> WorkOrderPhoto:
    """Check and keep a photo of an unresolved work order (size, type by content, count per order)."""
    if uploads_dir is None:
        raise Unavailable("this cloud keeps no uploads", code="uploads_unavailable")
    session = uow.session
    order = await get_reachable(session, principal, order_id)
    check_open_for_work(WorkOrderState(order.state))
    count = await session.scalar(
        select(func.count()).select_from(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id)
    )
    photos.check_count(int(count or 0))
    # End the read transaction while the file is checked (on SQLite it holds the write lock).
    await session.commit()
    photo_id = new_id("ph", 16)
    kept = await asyncio.to_thread(_keep, source, uploads_dir, f"{order.tenant_id}/{photo_id}", limit)
    now = clock.now()
    try:
        await session.refresh(order)  # it may have been resolved while the file was checked
        check_open_for_work(WorkOrderState(order.state))
        count = await session.scalar(
            select(func.count()).select_from(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id)
        )
        photos.check_count(int(count or 0))
        photo = WorkOrderPhoto(
            id=photo_id,
            work_order_id=order.id,
            tenant_id=order.tenant_id,
            uploader=principal.actor,
            content_type=kept.content_type,
            size_bytes=kept.size,
            sha256=kept.sha256,
            stored_path=kept.relative,
            created_at=now,
        )
        session.add(photo)
        add_entry(session, order, at=now, actor=principal.actor, kind=EntryKind.PHOTO, text=photo_id)
        record_audit(
            session,
            at=now,
            tenant_id=order.tenant_id,
            actor=principal.actor,
            action="work_order.photo",
            entity="work_order",
            entity_id=order.id,
            after={
                "photo_id": photo_id,
                "content_type": kept.content_type,
                "size_bytes": kept.size,
                "sha256": kept.sha256,
            },
        )
        await uow.commit()
    except BaseException:
        (uploads_dir / kept.relative).unlink(missing_ok=True)
        raise
    return photo


async def photo_file(
    session: AsyncSession, principal: Principal, order_id: str, photo_id: str, uploads_dir: Path | None
) -> tuple[WorkOrderPhoto, Path]:
    """A photo of a work order the caller may read, and where its file is (NotFound otherwise)."""
    order = await get_reachable(session, principal, order_id)
    photo = await session.get(WorkOrderPhoto, photo_id)
    if photo is None or photo.work_order_id != order.id or uploads_dir is None:
        raise NotFound(f"no photo {photo_id}", code="photo_not_found", field="photo_id")
    path = uploads_dir / photo.stored_path  # a name we made, never the client's
    if not await asyncio.to_thread(path.is_file):
        raise NotFound(f"no photo {photo_id}", code="photo_not_found", field="photo_id")
    return photo, path
