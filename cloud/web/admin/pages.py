"""Routes of the HQ admin app: stores, rooms, devices, prices, settings, bookings, dashboards, faults."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.auth.model import Role
from cloud.web.common import mount_login

ADMIN_ROLES = (Role.HQ_ADMIN, Role.REGION_MANAGER, Role.STORE_MANAGER, Role.FINANCE)
router = APIRouter(prefix="/admin", tags=["admin app"], include_in_schema=False)
mount_login(router, title="Gatehouse admin", home="/admin/", roles=ADMIN_ROLES)
