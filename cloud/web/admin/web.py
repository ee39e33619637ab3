"""What every admin page shares: templates, the signed-in user, rights, error pages and table downloads."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from cloud.auth.model import Action, Role, permits
from cloud.errors import DomainError, Forbidden
from cloud.problems import status_for
from cloud.web.admin import charts
from cloud.web.admin.tables import TableView, csv_response, pick
from cloud.web.common import COMMON_TEMPLATES, WebUser, page_user

HERE = Path(__file__).parent
STATIC = HERE / "static"
ADMIN_ROLES = (Role.HQ_ADMIN, Role.REGION_MANAGER, Role.STORE_MANAGER, Role.FINANCE)
HOME = "/admin"
LOGIN = "/admin/login"
APP_TITLE = "Gatehouse admin"

templates = Jinja2Templates(directory=[HERE / "templates", COMMON_TEMPLATES])
templates.env.filters["yuan"] = charts.yuan
templates.env.filters["percent"] = lambda v: "–" if v is None else charts.percent(v)

AdminUser = Annotated[WebUser, Depends(page_user(LOGIN, ADMIN_ROLES))]

# The navigation: (path, label, the action a user needs to see it).
NAV: tuple[tuple[str, str, Action], ...] = (
    ("/admin/", "Dashboard", Action.REPORTS_READ),
    ("/admin/stores", "Stores", Action.TENANCY_READ),
    ("/admin/rooms", "Rooms", Action.TENANCY_READ),
    ("/admin/devices", "Devices", Action.DEVICES_READ),
    ("/admin/settings", "Settings", Action.SETTINGS_READ),
    ("/admin/timeline", "Timeline", Action.BOOKINGS_READ),
    ("/admin/reports", "Reports", Action.REPORTS_READ),
    ("/admin/health", "Device health", Action.DEVICES_READ),
    ("/admin/faults", "Work orders", Action.FAULTS_READ),
    ("/admin/audit", "Audit log", Action.AUDIT_READ),
)


def need(user: WebUser, action: Action) -> None:
    """Refuse the page (403) unless the user's role may take action."""
    if not permits(user.principal, action):
        raise Forbidden(f"your role may not {action.value}", code="forbidden")


def may(user: WebUser, action: Action) -> bool:
    """Whether the user's role may take action (to show or hide links and forms)."""
    return permits(user.principal, action)


def local(value: datetime | None, tz: str | ZoneInfo | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in a store's zone (UTC without one), for display."""
    if value is None:
        return ""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return value.astimezone(zone).strftime(fmt) if zone else value.strftime(fmt + " UTC")


def render(
    request: Request,
    user: WebUser | None,
    name: str,
    *,
    status_code: int = 200,
    tables: Sequence[TableView] = (),
    **context: Any,
) -> Response:
    """The page `name`, or, with `?csv=<table>`, that table of the page as a CSV download."""
    wanted = request.query_params.get("csv")
    if wanted:
        table = pick(tables, wanted)
        if table is None:
            raise DomainError(f"this page has no table {wanted!r}", code="no_such_table", field="csv")
        return csv_response(table, f"{request.url.path.strip('/').replace('/', '-')}-{table.name}")
    nav = [(path, label) for path, label, action in NAV if user is not None and may(user, action)]
    values = {
        "user": user,
        "app_title": APP_TITLE,
        "app_home": HOME,
        "nav": nav,
        "here": request.url.path,
        "tables": {t.name: t for t in tables},
        "may": (lambda action: user is not None and may(user, Action(action))),
        **context,
    }
    return templates.TemplateResponse(request, name, values, status_code=status_code)


def csv_url(request: Request, table: str) -> str:
    """The URL of this page's table as CSV (same filters)."""
    params = dict(request.query_params)
    params["csv"] = table
    return f"{request.url.path}?{urlencode(params)}"


templates.env.globals["csv_url"] = csv_url


def error_page(request: Request, err: DomainError) -> Response:
    """A refusal as a page: its reason, its status (404 outside the user's reach, 403 for the role...)."""
    return templates.TemplateResponse(
        request,
        "error.html",
        {"user": None, "app_title": APP_TITLE, "app_home": HOME, "error": err},
        status_code=status_for(err),
    )


class AdminRoute(APIRoute):
    """A page route: a domain error raised while making the page becomes an error page, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The handler, wrapped."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as err:
                return error_page(request, err)

        return guarded
