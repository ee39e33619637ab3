"""`import-devices`: plan a CSV's devices against a store's current devices, then apply them (I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from provisioning.api import CloudApi
from provisioning.devices_csv import CsvParse, RowError, resolve_rooms
from provisioning.errors import ProvisionError
from provisioning.manifest.diff import Plan, plan_devices
from provisioning.state import CloudState, device_from_json, room_from_json, store_from_json


class ImportInvalid(ProvisionError):
    """Some rows are bad and --skip-bad was not given: nothing is applied."""

    code = "invalid_rows"

    def __init__(self, source: str, errors: Sequence[RowError]) -> None:
        self.source = source
        self.errors = tuple(errors)
        lines = "\n".join(f"  {e.render(source)}" for e in self.errors)
        super().__init__(f"{source}: {len(self.errors)} bad row(s); nothing was imported\n{lines}")


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """The store, the device actions, the rows left out (with --skip-bad) and the rows planned."""

    store: dict[str, Any]
    plan: Plan
    skipped: tuple[RowError, ...]
    rows: int


async def plan_import(
    api: CloudApi, store_ref: str, parsed: CsvParse, *, source: str = "devices.csv", skip_bad: bool = False
) -> ImportPlan:
    """Resolve rooms against the store, then plan the good rows (creates, or replaces of changed devices).

    Raises ImportInvalid listing every bad row (its own problems and unknown rooms alike) unless
    skip_bad; with skip_bad the bad rows are returned as `skipped` and the rest is planned.
    """
    store_json = await api.find_store(store_ref)
    store = store_from_json(store_json)
    rooms = tuple(room_from_json(r) for r in await api.list_rooms(store.id))
    devices = tuple(device_from_json(d) for d in await api.list_devices(store.id))
    resolved = resolve_rooms(parsed.rows, rooms)
    errors = tuple(sorted(parsed.errors + resolved.errors, key=lambda e: e.line))
    if errors and not skip_bad:
        raise ImportInvalid(source, errors)
    state = CloudState(store=store, rooms=rooms, devices=devices)
    room_ids = {r.name: r.id for r in rooms}
    actions, _ = plan_devices([row.device for row in resolved.rows], state, room_ids=room_ids)
    plan = Plan(actions=tuple(actions), store_id=store.id, region_id=store.region_id, room_ids=room_ids)
    return ImportPlan(store=store_json, plan=plan, skipped=errors, rows=len(resolved.rows))
