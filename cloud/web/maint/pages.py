"""Routes of the maintainer app: my region's open faults, accept, on-site scan, resolve with photos."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.auth.model import Role
from cloud.web.common import mount_login

MAINT_ROLES = (Role.MAINTAINER, Role.HQ_ADMIN)
router = APIRouter(prefix="/maint", tags=["maintainer app"], include_in_schema=False)
mount_login(router, title="Gatehouse maintenance", home="/maint/", roles=MAINT_ROLES)
