"""The planner: desired manifest vs the cloud's current state -> the actions that make them equal (pure).

Identities are stable names: the region and the store by name within the tenant (or the store by
an explicit id, which allows a rename), rooms by name within the store (or explicit id), devices
by room + name or an explicit id. A named device's cloud id is derived from its room's id (or the
store's, for store-wide devices) and its name, so the mapping survives without a name column in
the cloud. Nothing is deleted unless `prune` is set; what would be is listed as unmanaged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provisioning.manifest.devices import derived_device_id
from provisioning.manifest.model import (
    DesiredDevice,
    DesiredRoom,
    StoreManifest,
    canonical_facilities,
    canonical_hours,
    canonical_plan,
    canonical_settings,
)
from provisioning.state import CloudState, DeviceState, RoomState, StoreState


class Op(StrEnum):
    """What an action does."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Target(StrEnum):
    """What an action acts on."""

    REGION = "region"
    STORE = "store"
    SETTINGS = "booking settings"
    ROOM = "room"
    DEVICE = "device"


@dataclass(frozen=True, slots=True)
class Change:
    """One field's current and wanted value (before None for a create)."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Action:
    """One API change. `id` is the cloud id acted on when known at planning time.

    For devices, `room` names the room whose id is resolved when applying (None: store-wide)
    and `device_name` the name a derived id is made from (None: explicit id).
    """

    op: Op
    target: Target
    label: str
    id: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()
    room: str | None = None
    device_name: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """The ordered actions, anything that blocks applying, and what the cloud has beyond the manifest.

    `region_id`, `store_id` and `room_ids` (room name -> id) are what exists already; applying
    fills in the ids of what it creates.
    """

    actions: tuple[Action, ...] = ()
    conflicts: tuple[str, ...] = ()
    unmanaged: tuple[str, ...] = ()
    region_id: str | None = None
    store_id: str | None = None
    room_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when the cloud already matches."""
        return not self.actions

    def counts(self) -> dict[Op, int]:
        """How many actions of each kind."""
        counted = Counter(action.op for action in self.actions)
        return {op: counted[op] for op in Op if counted[op]}

    def summary(self) -> str:
        """ "2 to create, 1 to update" or "no changes"."""
        if self.empty:
            return "no changes"
        return ", ".join(f"{n} to {op.value}" for op, n in self.counts().items())


# ---------------------------------------------------------------- comparing fields


def _safe(canon: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if value is None:
            return None
        try:
            return canon(value)
        except (ValueError, TypeError, KeyError):
            return value

    return apply


# Cloud values go through the same canonical forms as the manifest's, so format drift is no change.
CANONICAL: dict[str, Callable[[Any], Any]] = {
    "opening_hours": _safe(canonical_hours),
    "price_plan": _safe(canonical_plan),
    "facilities": _safe(canonical_facilities),
    "closed_dates": _safe(lambda v: sorted(set(v))),
}


def _canon(key: str, value: Any) -> Any:
    return CANONICAL.get(key, lambda v: v)(value)


def field_changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[Change]:
    """The managed fields whose canonical values differ."""
    changes = []
    for key, after in wanted.items():
        before = _canon(key, current.get(key))
        if before != _canon(key, after):
            changes.append(Change(key, before, after))
    return changes


# ---------------------------------------------------------------- devices


def _device_label(room: str | None, name: str) -> str:
    return f"{room or 'store'} / {name}"


def _current_label(device: DeviceState, room_names: Mapping[str, str], store_id: str | None) -> str:
    owner = device.room_id or store_id or ""
    named = bool(owner) and device.id.startswith(owner + "-")
    name = device.id[len(owner) + 1 :] if named else device.id
    return _device_label(room_names.get(device.room_id) if device.room_id else None, name)


def plan_devices(
    desired: Sequence[DesiredDevice],
    state: CloudState,
    *,
    room_ids: Mapping[str, str],
    prune: bool = False,
    dropped_rooms: frozenset[str] = frozenset(),
) -> tuple[list[Action], list[str]]:
    """Device actions (deletes, then updates in place, then creates) and the labels of unmanaged devices.

    room_ids maps the names of existing rooms to their ids; a device of a room not in it is new
    along with its room. dropped_rooms are ids of rooms being deleted (their devices go with them).
    """
    store_id = state.store.id if state.store is not None else None
    by_id = {d.id: d for d in state.devices}
    room_names = {room_id: name for name, room_id in room_ids.items()}
    room_names.update({r.id: r.name for r in state.rooms if r.id not in room_names})
    matched: set[str] = set()
    updates: list[Action] = []
    creates: list[Action] = []
    for device in desired:
        owner = room_ids.get(device.room) if device.room is not None else store_id
        expected = device.id or (derived_device_id(owner, device.name) if owner is not None else None)
        label = _device_label(device.room, device.id or device.name)
        body: dict[str, Any] = {
            "kind": device.kind,
            "protocol": device.protocol,
            "config": dict(device.config),
        }
        if device.zone is not None:
            body["zone"] = device.zone
        current = by_id.get(expected) if expected is not None else None
        if current is None:
            changes = tuple(Change(k, None, v) for k, v in body.items())
            creates.append(
                Action(
                    Op.CREATE,
                    Target.DEVICE,
                    label,
                    id=expected,
                    body=body,
                    changes=changes,
                    room=device.room,
                    device_name=None if device.id else device.name,
                )
            )
            continue
        matched.add(current.id)
        room_id = room_ids.get(device.room) if device.room is not None else None
        diffs = []
        patch: dict[str, Any] = {}
        if current.room_id != room_id:
            diffs.append(
                Change("room", room_names.get(current.room_id or "", "store"), device.room or "store")
            )
            patch["room_id"] = None  # the room's id is resolved when applying (None: store-wide)
        compared: list[tuple[str, Any, Any]] = [
            ("kind", current.kind, device.kind),
            ("protocol", current.protocol, device.protocol),
            ("config", dict(current.config), dict(device.config)),
        ]
        if device.zone is not None:
            compared.append(("zone", current.zone, device.zone))
        for key, before, after in compared:
            if before != after:
                diffs.append(Change(key, before, after))
                patch[key] = after
        if diffs:
            updates.append(
                Action(
                    Op.UPDATE,
                    Target.DEVICE,
                    label,
                    id=current.id,
                    body=patch,
                    changes=tuple(diffs),
                    room=device.room,
                    device_name=None if device.id else device.name,
                )
            )
    deletes: list[Action] = []
    unmanaged: list[str] = []
    for current in state.devices:
        if current.id in matched or (current.room_id is not None and current.room_id in dropped_rooms):
            continue
        label = _current_label(current, room_names, store_id)
        if prune:
            deletes.append(Action(Op.DELETE, Target.DEVICE, label, id=current.id))
        else:
            unmanaged.append(f"device {label}")
    return deletes + updates + creates, unmanaged


# ---------------------------------------------------------------- the store


def _find_store(manifest: StoreManifest, state: CloudState) -> StoreState | None:
    store = state.store
    if store is None:
        return None
    wanted = manifest.store
    return store if (store.id == wanted.id if wanted.id else store.name == wanted.name) else None


def _match_rooms(
    rooms: Sequence[DesiredRoom], current: Sequence[RoomState], conflicts: list[str]
) -> dict[str, RoomState]:
    """Desired room name -> its current room (by id when given, else by name)."""
    by_id = {r.id: r for r in current}
    by_name = {r.name: r for r in current}
    matched: dict[str, RoomState] = {}
    for room in rooms:
        if room.id is not None:
            found = by_id.get(room.id)
            if found is None:
                conflicts.append(f"{room.where}.id: the store has no room {room.id!r}")
                continue
        else:
            found = by_name.get(room.name)
            if found is None:
                continue
        if found.kind != room.kind:
            conflicts.append(
                f"{room.where}.kind: room {found.name!r} is a {found.kind!r} in the cloud; the API cannot"
                f" change a room's kind (give the new room another name)"
            )
        matched[room.name] = found
    return matched


def plan_store(manifest: StoreManifest, state: CloudState, *, prune: bool = False) -> Plan:
    """Every action that makes the cloud match the manifest, in the order to apply them."""
    actions: list[Action] = []
    conflicts: list[str] = []
    wanted = manifest.store
    region = next((r for r in state.regions if r.name == manifest.region), None)
    store = _find_store(manifest, state)
    if wanted.id is not None and store is None:
        conflicts.append(f"store.id: the tenant has no store {wanted.id!r}")
    if region is None:
        if store is not None:
            conflicts.append(
                f"region: store {store.name!r} is in another region;"
                " the API cannot move a store between regions"
            )
        actions.append(
            Action(
                Op.CREATE,
                Target.REGION,
                manifest.region,
                body={"name": manifest.region},
                changes=(Change("name", None, manifest.region),),
            )
        )
    elif store is not None and store.region_id != region.id:
        conflicts.append(
            f"region: store {store.name!r} is in another region; the API cannot move a store between regions"
        )

    if store is None:
        body = {"name": wanted.name, **wanted.fields}
        actions.append(
            Action(
                Op.CREATE,
                Target.STORE,
                wanted.name,
                body=body,
                changes=tuple(Change(k, None, v) for k, v in body.items()),
            )
        )
    else:
        changes = field_changes(store.fields, wanted.fields)
        if store.name != wanted.name:
            changes.insert(0, Change("name", store.name, wanted.name))
        if changes:
            actions.append(
                Action(
                    Op.UPDATE,
                    Target.STORE,
                    wanted.name,
                    id=store.id,
                    body={c.field: c.after for c in changes},
                    changes=tuple(changes),
                )
            )

    if wanted.booking_settings is not None:
        known = state.setting_keys
        if known is not None:
            for key in wanted.booking_settings:
                if key not in known:
                    conflicts.append(
                        f"store.booking_settings.{key}: the cloud has no such setting"
                        f" (it knows: {', '.join(sorted(known))})"
                    )
        current = canonical_settings(state.booking_settings or {}) if store is not None else {}
        if current != dict(wanted.booking_settings):
            changes = [
                Change(key, current.get(key), wanted.booking_settings.get(key))
                for key in sorted(set(current) | set(wanted.booking_settings))
                if current.get(key) != wanted.booking_settings.get(key)
            ]
            actions.append(
                Action(
                    Op.UPDATE if store is not None else Op.CREATE,
                    Target.SETTINGS,
                    wanted.name,
                    id=store.id if store is not None else None,
                    body={"values": dict(wanted.booking_settings)},
                    changes=tuple(changes),
                )
            )

    current_rooms = state.rooms if store is not None else ()
    matched = _match_rooms(manifest.rooms, current_rooms, conflicts)
    for room in manifest.rooms:
        found = matched.get(room.name)
        if found is None:
            body = {"name": room.name, "kind": room.kind, **room.fields}
            actions.append(
                Action(
                    Op.CREATE,
                    Target.ROOM,
                    room.name,
                    body=body,
                    changes=tuple(Change(k, None, v) for k, v in body.items()),
                )
            )
            continue
        changes = field_changes(found.fields, room.fields)
        if found.name != room.name:
            changes.insert(0, Change("name", found.name, room.name))
        if changes:
            actions.append(
                Action(
                    Op.UPDATE,
                    Target.ROOM,
                    room.name,
                    id=found.id,
                    body={c.field: c.after for c in changes},
                    changes=tuple(changes),
                )
            )

    kept = {r.id for r in matched.values()}
    dropped = [r for r in current_rooms if r.id not in kept]
    unmanaged: list[str] = []
    room_deletes: list[Action] = []
    for gone in dropped:
        if prune:
            count = sum(1 for d in state.devices if d.room_id == gone.id)
            note = f"with its {count} device(s)" if count else ""
            room_deletes.append(Action(Op.DELETE, Target.ROOM, gone.name, id=gone.id, note=note))
        else:
            unmanaged.append(f"room {gone.name}")
    room_ids = {name: r.id for name, r in matched.items()}
    device_state = state if store is not None else CloudState(regions=state.regions)
    device_actions, unmanaged_devices = plan_devices(
        manifest.all_devices(),
        device_state,
        room_ids=room_ids,
        prune=prune,
        dropped_rooms=frozenset(r.id for r in dropped) if prune else frozenset(),
    )
    unmanaged += [] if prune else unmanaged_devices
    return Plan(
        actions=tuple(actions + device_actions + room_deletes),
        conflicts=tuple(conflicts),
        unmanaged=tuple(unmanaged),
        region_id=region.id if region is not None else None,
        store_id=store.id if store is not None else None,
        room_ids=room_ids,
    )
