"""Fault service: raise graded faults (room to maintenance when critical), resolve them, and sound alarms."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from edge.actuators import Announcement, DeviceFailure, StoreActuators
from edge.clock import Clock
from edge.faults import writes
from edge.faults.model import (
    ALARMS,
    Fault,
    FaultCode,
    FaultSpec,
    Placed,
    alarm_doors,
    alarm_rooms,
    alarm_zone,
    in_alarm_zone,
)
from edge.journal.model import JournalKind
from edge.sessions.model import RoomState, SessionSettings
from edge.store import EdgeStore, Tx, TxHook

logger = logging.getLogger(__name__)

ALARM_KEY = "alarm_faults"
DEFAULT_SETTINGS = SessionSettings()
ALARM_ANNOUNCEMENT = Announcement("alarm", "Emergency: the doors are open. Please leave the building now.")


def new_fault_id() -> str:
    """A fresh fault id (unique per edge and across edges)."""
    return uuid.uuid4().hex


def alarm_ids(tx: Tx) -> list[str]:
    """The ids of the alarm faults still open (an alarm lasts until its fault is resolved)."""
    raw = tx.meta(ALARM_KEY)
    ids = json.loads(raw) if raw else []
    return [str(i) for i in ids] if isinstance(ids, list) else []


def alarm_holds_door(tx: Tx, room_id: str) -> bool:
    """True while an open alarm covers the room: its door is not locked until the alarm is resolved.

    An alarm of one zone holds that zone's doors and the doors with no zone (the ways out); an
    alarm of the whole store, or one whose fault cannot be read, holds every door.
    """
    ids = alarm_ids(tx)
    if not ids:
        return False
    room = tx.room(room_id)
    zone_of_door = room.zone if room is not None else ""
    for fault_id in ids:
        fault = tx.fault(fault_id)
        if fault is None or in_alarm_zone(zone_of_door, fault.zone):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Resolution:
    """What resolving a fault did: whether the edge knew it, and the room's state afterwards."""

    fault_id: str
    known: bool
    room_id: str | None
    room_state: RoomState | None


@dataclass(frozen=True, slots=True)
class AlarmOutcome:
    """An alarm: its fault (None when already open) and which doors opened or failed."""

    fault: Fault | None
    opened: tuple[str, ...]
    failed: tuple[str, ...]
    zone: str = ""  # the zone alarmed ("": the whole store)


def failure_spec(err: DeviceFailure, room_id: str | None, what: str, kind: str = "") -> FaultSpec:
    """A fault spec for a device that failed a command."""
    return FaultSpec(
        code=err.code,
        message=f"{what}: {err.message}",
        device_id=err.device_id,
        device_kind=kind or err.kind or "device",
        room_id=room_id,
    )


class FaultService:
    """Raises and resolves faults in their own transactions; on smoke or emergency opens the zone's doors."""

    def __init__(
        self,
        store: EdgeStore,
        clock: Clock,
        *,
        base: SessionSettings = DEFAULT_SETTINGS,
        doors: StoreActuators | None = None,
        new_id: Callable[[], str] = new_fault_id,
    ) -> None:
        self._store = store
        self._clock = clock
        self._base = base
        self._doors = doors
        self._new_id = new_id

    @property
    def base(self) -> SessionSettings:
        """The local session settings used for room moves."""
        return self._base

    def new_id(self) -> str:
        """A fresh fault id."""
        return self._new_id()

    def raise_in(self, tx: Tx, spec: FaultSpec, now: float) -> Fault | None:
        """Raise a fault inside the caller's transaction (None: already open)."""
        return writes.raise_fault(tx, spec, self._new_id(), now, self._base)

    async def raise_fault(self, spec: FaultSpec) -> Fault | None:
        """Raise a fault in a transaction of its own (None: already open)."""
        now = self._clock.now()
        return await self._store.transact(lambda tx: self.raise_in(tx, spec, now))

    async def resolve(
        self, fault_id: str, room_id: str | None = None, *, also: TxHook | None = None
    ) -> Resolution:
        """Resolve a fault (idempotent); the room returns to service when nothing critical stays open.

        `also` runs in the resolution's transaction.
        """
        now = self._clock.now()

        def write(tx: Tx) -> Resolution:
            fault, state = writes.resolve_fault(tx, fault_id, room_id, now, self._base)
            alarms = alarm_ids(tx)
            if fault_id in alarms:
                remaining = [i for i in alarms if i != fault_id]
                tx.set_meta(ALARM_KEY, json.dumps(remaining) if remaining else None)
            if also is not None:
                also(tx)
            room = room_id or (fault.room_id if fault is not None else None)
            return Resolution(fault_id, fault is not None, room, state)

        resolution = await self._store.transact(write)
        logger.info(
            "fault resolved",
            extra={
                "fault_id": fault_id,
                "known": resolution.known,
                "room_id": resolution.room_id,
                "room_state": resolution.room_state,
            },
        )
        return resolution

    async def alarm_active(self) -> bool:
        """True while an alarm fault is open (the doors it covers are not locked)."""
        return bool(await self._store.read(alarm_ids))

    async def alarm(self, spec: FaultSpec, *, also: TxHook | None = None) -> AlarmOutcome:
        """Smoke or emergency: open every door of the affected zone at once, then record, journal and alert.

        The zone is the trigger's room's (or a store-wide sensor's own); a trigger with no zone
        opens every door of the store. `also` runs in the transaction that records the alarm.
        """
        if spec.code not in ALARMS:
            raise ValueError(f"{spec.code!r} is not an alarm")
        room_zones = {r.id: r.zone for r in await self._store.rooms()}
        placed = [Placed(d.id, d.room_id, d.zone) for d in await self._store.devices()]
        zone = alarm_zone(spec, room_zones, placed)
        only = alarm_doors(zone, placed, room_zones)
        doors = await self._doors.unlock_all(only) if self._doors is not None else []
        if zone:
            spec = replace(spec, zone=zone, message=f"{spec.message} (zone {zone})")
        now = self._clock.now()
        at_ms = int(now * 1000)

        def write(tx: Tx) -> Fault | None:
            fault = self.raise_in(tx, spec, now)
            fault_id = fault.id if fault is not None else None
            if fault is not None:
                tx.set_meta(ALARM_KEY, json.dumps([*alarm_ids(tx), fault.id]))
            tx.append_journal(
                at_ms,
                JournalKind.ALARM,
                {
                    "code": spec.code,
                    "device_id": spec.device_id,
                    "room_id": spec.room_id,
                    "fault_id": fault_id,
                    "zone": zone,
                },
            )
            for door in doors:
                if door.failure is None:
                    tx.append_journal(
                        at_ms,
                        JournalKind.DOOR_OPEN,
                        {"device_id": door.device_id, "room_id": door.room_id, "cause": spec.code},
                    )
                else:
                    self.raise_in(
                        tx, failure_spec(door.failure, door.room_id, "door did not open", "lock"), now
                    )
            if also is not None:
                also(tx)
            return fault

        fault = await self._store.transact(write)
        outcome = AlarmOutcome(
            fault,
            tuple(d.device_id for d in doors if d.failure is None),
            tuple(d.device_id for d in doors if d.failure is not None),
            zone,
        )
        logger.critical(
            "alarm: doors unlocked",
            extra={
                "code": spec.code,
                "device_id": spec.device_id,
                "zone": zone or "*",
                "opened": len(outcome.opened),
                "failed": list(outcome.failed),
            },
        )
        await self._alert_rooms(alarm_rooms(zone, room_zones))
        return outcome

    async def _alert_rooms(self, room_ids: list[str]) -> None:
        if self._doors is None:
            return
        doors = self._doors

        async def one(room_id: str) -> None:
            try:
                await doors.announce(room_id, ALARM_ANNOUNCEMENT)
            except DeviceFailure as err:
                logger.warning("alarm announcement failed", extra={"room_id": room_id, "code": err.code})

        # Every speaker at once: an alarm waits for no slow room.
        await asyncio.gather(*(one(r) for r in room_ids))


__all__ = [
    "ALARM_KEY",
    "AlarmOutcome",
    "FaultCode",
    "FaultService",
    "Resolution",
    "alarm_holds_door",
    "failure_spec",
]
