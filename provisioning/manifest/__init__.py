"""Store manifests: parse and validate (model), plan against the cloud (diff), apply (apply)."""

from __future__ import annotations

from provisioning.manifest.diff import Action, Change, Op, Plan, Target, plan_devices, plan_store
from provisioning.manifest.model import (
    DesiredDevice,
    DesiredRoom,
    DesiredStore,
    ManifestInvalid,
    Problem,
    StoreManifest,
    parse_manifest,
)

__all__ = [
    "Action",
    "Change",
    "DesiredDevice",
    "DesiredRoom",
    "DesiredStore",
    "ManifestInvalid",
    "Op",
    "Plan",
    "Problem",
    "StoreManifest",
    "Target",
    "parse_manifest",
    "plan_devices",
    "plan_store",
]
