"""Applying a manifest: read the cloud's state through the API, plan, then carry the plan out (I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from provisioning.api import CloudApi
from provisioning.errors import ApiError, ProvisionError
from provisioning.manifest.devices import derived_device_id
from provisioning.manifest.diff import Action, Op, Plan, Target, plan_store
from provisioning.manifest.model import StoreManifest
from provisioning.state import (
    CloudState,
    device_from_json,
    region_from_json,
    room_from_json,
    store_from_json,
)

logger = logging.getLogger(__name__)

# Called after each action with (actions done, actions in all, the action just done).
OnStep = Callable[[int, int, Action], None]


class PlanBlocked(ProvisionError):
    """The plan has conflicts the API cannot resolve; nothing was applied."""

    code = "plan_blocked"

    def __init__(self, conflicts: tuple[str, ...]) -> None:
        self.conflicts = conflicts
        super().__init__("cannot apply:\n" + "\n".join(f"  {c}" for c in conflicts))


class ApplyFailed(ProvisionError):
    """An action failed; the ones before it were applied, none after it."""

    code = "apply_failed"

    def __init__(self, action: Action, done: int, total: int, cause: ProvisionError) -> None:
        self.action = action
        self.done = done
        self.total = total
        self.cause = cause
        super().__init__(
            f"stopped at '{action.op.value} {action.target.value} {action.label}' after {done} of {total}"
            f" change(s): {cause.message}\nFix the cause and apply again: applying is idempotent."
        )


@dataclass
class Applied:
    """What applying did: the ids of the store and its rooms afterwards."""

    store_id: str | None
    room_ids: dict[str, str] = field(default_factory=dict)
    done: int = 0


async def read_state(api: CloudApi, manifest: StoreManifest) -> CloudState:
    """The tenant's regions and the manifest's store (by id, else by name) with its rooms and devices."""
    regions = tuple(region_from_json(r) for r in await api.list_regions())
    wanted = manifest.store
    stores = await api.list_stores()
    match = next(
        (s for s in stores if (s["id"] == wanted.id if wanted.id else s["name"] == wanted.name)),
        None,
    )
    setting_keys = await api.setting_keys() if wanted.booking_settings is not None else None
    if match is None:
        return CloudState(regions=regions, setting_keys=setting_keys)
    store = store_from_json(match)
    rooms = tuple(room_from_json(r) for r in await api.list_rooms(store.id))
    devices = tuple(device_from_json(d) for d in await api.list_devices(store.id))
    settings = None
    if wanted.booking_settings is not None:
        settings = (await api.store_settings(store.id)).get("values", {})
    return CloudState(
        regions=regions,
        store=store,
        rooms=rooms,
        devices=devices,
        booking_settings=settings,
        setting_keys=setting_keys,
    )


async def plan_manifest(api: CloudApi, manifest: StoreManifest, *, prune: bool = False) -> Plan:
    """Read the cloud's state and plan the manifest against it (no change made)."""
    return plan_store(manifest, await read_state(api, manifest), prune=prune)


class _Executor:
    """Carries out actions in order, learning the ids of what it creates."""

    def __init__(self, api: CloudApi, plan: Plan) -> None:
        self.api = api
        self.region_id = plan.region_id
        self.store_id = plan.store_id
        self.room_ids = dict(plan.room_ids)

    def _need(self, value: str | None, what: str) -> str:
        if value is None:
            raise ProvisionError(f"the {what} id is unknown (was it created?)", code="missing_id")
        return value

    def _device_body(self, action: Action) -> dict[str, object]:
        body = dict(action.body)
        if action.room is not None:
            body["room_id"] = self._need(self.room_ids.get(action.room), f"room {action.room!r}")
        body["store_id"] = self._need(self.store_id, "store")
        if action.id is not None:
            body["id"] = action.id
        elif action.device_name is not None:
            owner = body.get("room_id") or body["store_id"]
            body["id"] = derived_device_id(str(owner), action.device_name)
        return body

    async def run(self, action: Action) -> None:
        api = self.api
        match action.target, action.op:
            case Target.REGION, Op.CREATE:
                self.region_id = (await api.create_region(action.label))["id"]
            case Target.STORE, Op.CREATE:
                body = {**action.body, "region_id": self._need(self.region_id, "region")}
                self.store_id = (await api.create_store(body))["id"]
            case Target.STORE, Op.UPDATE:
                await api.update_store(self._need(action.id, "store"), action.body)
            case Target.SETTINGS, (Op.CREATE | Op.UPDATE):
                await api.put_store_settings(self._need(self.store_id, "store"), action.body["values"])
            case Target.ROOM, Op.CREATE:
                room = await api.create_room({**action.body, "store_id": self._need(self.store_id, "store")})
                self.room_ids[action.label] = room["id"]
            case Target.ROOM, Op.UPDATE:
                await api.update_room(self._need(action.id, "room"), action.body)
            case Target.ROOM, Op.DELETE:
                await api.delete_room(self._need(action.id, "room"))
            case Target.DEVICE, Op.CREATE:
                await api.create_device(self._device_body(action))
            case Target.DEVICE, Op.UPDATE:
                body = dict(action.body)
                if "room_id" in body and action.room is not None:
                    body["room_id"] = self._need(self.room_ids.get(action.room), f"room {action.room!r}")
                await api.update_device(self._need(action.id, "device"), body)
            case Target.DEVICE, Op.DELETE:
                await api.delete_device(self._need(action.id, "device"))
            case _:
                raise ProvisionError(
                    f"no way to {action.op.value} a {action.target.value}", code="unsupported"
                )


async def execute_plan(api: CloudApi, plan: Plan, *, on_step: OnStep | None = None) -> Applied:
    """Carry out a plan in order; stop at the first failure (ApplyFailed says how far it got)."""
    if plan.conflicts:
        raise PlanBlocked(plan.conflicts)
    executor = _Executor(api, plan)
    total = len(plan.actions)
    for done, action in enumerate(plan.actions):
        try:
            await executor.run(action)
        except ApiError as err:
            logger.warning(
                "apply step failed",
                extra={
                    "op": action.op.value,
                    "target": action.target.value,
                    "label": action.label,
                    "code": err.code,
                    "status": err.status,
                },
            )
            raise ApplyFailed(action, done, total, err) from err
        except ProvisionError as err:
            raise ApplyFailed(action, done, total, err) from err
        logger.info(
            "applied", extra={"op": action.op.value, "target": action.target.value, "label": action.label}
        )
        if on_step is not None:
            on_step(done + 1, total, action)
    return Applied(store_id=executor.store_id, room_ids=executor.room_ids, done=total)
