"""Fault rules (pure): how severe a fault is, who must hear of it, and what it does to its room."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad a fault is."""

    MINOR = "minor"  # the room still works (a light will not switch): the store manager
    CRITICAL = "critical"  # safety or access (a lock will not open, smoke): HQ and a maintainer


class Audience(StrEnum):
    """Who a fault goes to (the cloud routes the work order by region and this)."""

    STORE_MANAGER = "store_manager"
    HQ_AND_MAINTAINER = "hq_and_maintainer"


ROUTES: Mapping[Severity, Audience] = {
    Severity.MINOR: Audience.STORE_MANAGER,
    Severity.CRITICAL: Audience.HQ_AND_MAINTAINER,
}


class FaultCode(StrEnum):
    """Stable fault codes (device drivers' error codes pass through as they are)."""

    TIMEOUT = "timeout"
    JAMMED = "jammed"
    BAD_REPLY = "bad_reply"
    OFFLINE = "offline"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    SMOKE = "smoke"
    EMERGENCY = "emergency"
    BATTERY_LOW = "battery_low"
    CLEANING_OVERDUE = "cleaning_overdue"


ANY = "*"

# (device kind, code) -> severity; ANY matches every kind or every code. Most specific wins:
# (kind, code), then (ANY, code), then (kind, ANY); nothing found: minor.
GRADES: Mapping[tuple[str, str], Severity] = {
    # a door that will not open or close, or that nobody can reach: access and safety
    ("lock", ANY): Severity.CRITICAL,
    ("lock", FaultCode.BATTERY_LOW): Severity.MINOR,
    # an entrance gate that will not move keeps customers out (never in: gates open on failure)
    ("gate", ANY): Severity.CRITICAL,
    # a smoke or emergency sensor nobody hears from is a safety fault
    ("sensor", FaultCode.OFFLINE): Severity.CRITICAL,
    ("sensor", FaultCode.BATTERY_LOW): Severity.MINOR,
    (ANY, FaultCode.SMOKE): Severity.CRITICAL,
    (ANY, FaultCode.EMERGENCY): Severity.CRITICAL,
    # lights, AC, fresh air, printers, scanners, speakers: the room still works
    ("power", ANY): Severity.MINOR,
    ("printer", ANY): Severity.MINOR,
    ("scanner", ANY): Severity.MINOR,
    ("speaker", ANY): Severity.MINOR,
    ("room", FaultCode.CLEANING_OVERDUE): Severity.MINOR,
}


def grade(kind: str, code: str) -> Severity:
    """The severity of `code` on a device of `kind` (GRADES; minor when nothing matches)."""
    for key in ((kind, code), (ANY, code), (kind, ANY)):
        severity = GRADES.get(key)
        if severity is not None:
            return severity
    return Severity.MINOR


# Codes that are alarms: every door of the affected area opens at once.
ALARMS: frozenset[str] = frozenset({FaultCode.SMOKE, FaultCode.EMERGENCY})

# Critical faults that take their room out of service. A command that merely timed out or got a
# garbled answer is critical (HQ and a maintainer hear of it) but leaves the room in service: the
# next try may work, and a device that is really gone turns "offline" after its missed heartbeats.
OUT_OF_SERVICE: frozenset[str] = frozenset(
    {FaultCode.JAMMED, FaultCode.OFFLINE, FaultCode.SMOKE, FaultCode.EMERGENCY}
)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault to raise: what failed, where, and why (the service grades and numbers it)."""

    code: str
    message: str
    device_id: str | None = None
    device_kind: str = "room"
    room_id: str | None = None
    # The alarm zone an alarm affects ("": the whole store); other faults leave it empty.
    zone: str = ""


@dataclass(frozen=True, slots=True)
class Fault:
    """A raised fault; at most one open fault per (subject, code)."""

    id: str
    code: str
    severity: Severity
    message: str
    device_id: str | None
    device_kind: str
    room_id: str | None
    raised_at: float
    resolved_at: float | None = None
    zone: str = ""

    @property
    def subject(self) -> str:
        """What the fault is about: the device, else the room, else the store."""
        return subject_of(self.device_id, self.room_id)

    @property
    def takes_room_out(self) -> bool:
        """True when the fault puts its room into maintenance."""
        return takes_room_out(self.severity, self.code, self.room_id)


def subject_of(device_id: str | None, room_id: str | None) -> str:
    """The dedup key of a fault: one open fault per subject and code."""
    if device_id:
        return f"device:{device_id}"
    if room_id:
        return f"room:{room_id}"
    return "store"


def takes_room_out(severity: Severity, code: str, room_id: str | None) -> bool:
    """A definitive (OUT_OF_SERVICE) critical fault of a room's device takes the room out of service."""
    return severity is Severity.CRITICAL and code in OUT_OF_SERVICE and room_id is not None


def make_fault(spec: FaultSpec, fault_id: str, now: float) -> Fault:
    """Grade a fault spec into a fault."""
    return Fault(
        id=fault_id,
        code=spec.code,
        severity=grade(spec.device_kind, spec.code),
        message=spec.message[:500],
        device_id=spec.device_id,
        device_kind=spec.device_kind,
        room_id=spec.room_id,
        raised_at=now,
        zone=spec.zone,
    )


def fault_payload(fault: Fault) -> dict[str, Any]:
    """The `fault` event payload (protos/README.md)."""
    return {
        "fault_id": fault.id,
        "device_id": fault.device_id,
        "device_kind": fault.device_kind,
        "room_id": fault.room_id,
        "code": fault.code,
        "severity": fault.severity.value,
        "audience": ROUTES[fault.severity].value,
        "message": fault.message,
        "zone": fault.zone,
    }


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a device sits for alarms: its room (None: store-wide) and its own zone."""

    device_id: str
    room_id: str | None
    zone: str = ""


def alarm_zone(spec: FaultSpec, room_zones: Mapping[str, str], devices: Iterable[Placed]) -> str:
    """The zone an alarm affects: its room's, else its device's (its room's, else its own); "" is the store.

    A trigger with no zone (an unknown room or device, a store without zones, the panel's button
    with no room) alarms the whole store.
    """
    if spec.room_id is not None and spec.room_id in room_zones:
        return room_zones[spec.room_id]
    for device in devices:
        if device.device_id == spec.device_id:
            if device.room_id is not None:
                return room_zones.get(device.room_id, "")
            return device.zone
    return ""


def device_zone(device: Placed, room_zones: Mapping[str, str]) -> str:
    """A device's zone: its room's when it has one, else its own ("": no zone)."""
    return room_zones.get(device.room_id, "") if device.room_id is not None else device.zone


def in_alarm_zone(zone_of_door: str, zone: str) -> bool:
    """Whether a door in zone_of_door opens for an alarm of zone ("" alarms every door).

    A door without a zone (a shared exit, a room no zone was given) opens for every alarm: people
    leaving an alarmed zone may have to pass it.
    """
    return not zone or not zone_of_door or zone_of_door == zone


def alarm_doors(zone: str, devices: Iterable[Placed], room_zones: Mapping[str, str]) -> frozenset[str] | None:
    """The devices whose doors an alarm of zone opens (None: every door of the store)."""
    if not zone:
        return None
    return frozenset(d.device_id for d in devices if in_alarm_zone(device_zone(d, room_zones), zone))


def alarm_rooms(zone: str, room_zones: Mapping[str, str]) -> list[str]:
    """The rooms an alarm of zone warns (sorted)."""
    return sorted(r for r, z in room_zones.items() if in_alarm_zone(z, zone))
