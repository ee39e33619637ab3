"""Routes of the HQ admin app: stores, rooms, devices, prices, settings, bookings, dashboards, faults."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from cloud.web.admin import dashboard, operations, setup
from cloud.web.admin.web import ADMIN_ROLES, STATIC, AdminRoute
from cloud.web.common import mount_login

router = APIRouter(prefix="/admin", tags=["admin app"], include_in_schema=False, route_class=AdminRoute)
mount_login(router, title="Gatehouse admin", home="/admin/", roles=ADMIN_ROLES)


@router.get("/static/admin.css", include_in_schema=False)
async def stylesheet() -> FileResponse:
    """The admin app's own styles (charts, tiles, the timeline grid), served by the app itself."""
    return FileResponse(STATIC / "admin.css", media_type="text/css")


for part in (dashboard.router, setup.router, operations.router):
    router.include_router(part)

__all__ = ["ADMIN_ROLES", "router"]
