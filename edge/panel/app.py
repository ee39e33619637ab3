"""The staff panel app: sign-in, live pages (htmx + server-sent events), actions, the JSON API and metrics.

Every page and asset comes from the edge itself, so the panel works with the internet down.
Pages and `/api/*` need a panel session (cookie); writes also need its anti-forgery token
(`X-CSRF-Token` header, or the `csrf_token` form field). `/healthz` and `/metrics` stay open.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from edge.metrics import CONTENT_TYPE_LATEST, EdgeMetrics
from edge.panel.actions import ActionResult, Actor, StaffActions
from edge.panel.auth import PanelSession, SignInRefused, StaffAuth
from edge.panel.client import CSRF_HEADER
from edge.panel.live import ChangeFeed
from edge.panel.model import Extension, PanelAction, allowed, home_of
from edge.panel.views import (
    PanelSources,
    PanelState,
    gather_bookings,
    gather_cleaning,
    gather_state,
    timezone_of,
)
from edge.redemption import RedemptionResult

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
CSRF_FIELD = "csrf_token"
# A live view with nothing to report still speaks this often (keeps proxies open; refreshes the link badge).
KEEPALIVE_S = 15.0
PROBLEM = "application/problem+json"


# ---- request bodies of the JSON API ----


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignIn(_Body):
    """Sign in with a staff member's username and password."""

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class CodeRedeem(_Body):
    """Redeem a code typed or scanned at the panel."""

    code: str = Field(min_length=1, max_length=512)


class OrderRedeem(_Body):
    """Redeem by order number and the last 4 digits of the phone."""

    order_no: str = Field(min_length=1, max_length=64)
    phone_last4: str = Field(min_length=1, max_length=8)
    room_id: str | None = Field(default=None, max_length=64)


class DoorRequest(_Body):
    """Open a room's door, saying why."""

    room_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=1000)
    # Open even though a guest's session occupies the room (refused `room_occupied` otherwise).
    force: bool = False


class PowerRequest(_Body):
    """Switch a room's power, saying why."""

    room_id: str = Field(min_length=1, max_length=64)
    on: bool
    reason: str = Field(default="", max_length=1000)


class ExtendRequest(_Body):
    """Extend a room's session by minutes past its end, or to a time (unix seconds)."""

    room_id: str = Field(min_length=1, max_length=64)
    minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    until: float | None = None
    reason: str = Field(default="", max_length=1000)


class CleanedRequest(_Body):
    """Staff mark a room clean by hand (the same as the cleaner's scan of its QR)."""

    room_id: str = Field(min_length=1, max_length=64)


class ResolveRequest(_Body):
    """Resolve a fault by hand."""

    reason: str = Field(default="", max_length=1000)


class AlarmRequest(_Body):
    """Staff raise the emergency alarm from the panel: every door opens."""

    code: Literal["emergency", "smoke"] = "emergency"
    room_id: str | None = Field(default=None, max_length=64)


class RedeemResponse(BaseModel):
    """The outcome of a redemption at the panel."""

    ok: bool
    reason: str
    outcome: str
    booking_ref: str | None
    room_id: str | None
    known: bool | None

    @classmethod
    def of(cls, result: RedemptionResult) -> RedeemResponse:
        """From the service's result."""
        return cls(
            ok=result.ok,
            reason=result.reason,
            outcome=result.outcome.value,
            booking_ref=result.booking_ref,
            room_id=result.room_id,
            known=result.known,
        )


# ---- problems ----


class PanelProblem(Exception):
    """A request the panel refuses before any action: `status` and a stable `code`."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": f"about:blank#{code}", "title": code.replace("_", " ").capitalize(), "status": status}
    body |= {"detail": detail, "code": code, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


# ---- formatting ----


def _local(ts: float | None, tz: dt.tzinfo, fmt: str) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, tz).strftime(fmt)


def _left(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, minutes = divmod(total // 60, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes} min"


TEMPLATES.env.filters["hhmm"] = lambda ts, tz=dt.UTC: _local(ts, tz, "%H:%M")
TEMPLATES.env.filters["when"] = lambda ts, tz=dt.UTC: _local(ts, tz, "%m-%d %H:%M:%S")
TEMPLATES.env.filters["left"] = _left


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return "just now"
    return f"{_left(seconds)} ago"


TEMPLATES.env.filters["ago"] = _ago

REASON_TEXT = {
    "ok": "Done",
    "unknown_order": "No cached booking with that order number and phone digits",
    "ambiguous_order": "Several bookings match: pick the room",
    "expired": "The booking's time is over",
    "not_yet_valid": "Too early for this booking",
    "already_in_use": "The room is already in use",
    "room_unavailable": "The room is being cleaned or is out of service",
    "device_failed": "A device did not do it",
    "malformed": "Not a booking code",
    "bad_signature": "The code is not genuine",
    "revoked": "The booking was cancelled",
    "wrong_store": "A code of another store",
    "reason_required": "Say why",
    "no_session": "The room has no session in progress",
    "not_cleaning": "The room is not waiting for cleaning",
    "no_printer": "This store has no printer",
    "csrf_failed": "The page is stale: reload it",
    "forbidden": "Your role may not do this",
    "unknown_call": "No such call",
    "already_done": "Someone already took care of it",
}


# ---- who is asking (module level: FastAPI resolves these annotations from the module) ----


def cookie_name(request: Request) -> str:
    """The session cookie's name (browsers share cookies across the ports of a host: one name per panel)."""
    return f"gh_panel_{request.url.port or 80}"


async def current(request: Request) -> PanelSession | None:
    """The request's live panel session, if any."""
    auth: StaffAuth = request.app.state.auth
    return await auth.session(request.cookies.get(cookie_name(request)))


async def _csrf_presented(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def requires(action: PanelAction | None) -> Callable[[Request], Awaitable[PanelSession]]:
    """A dependency: a signed-in session whose role may take `action`; writes also need its CSRF token."""

    async def dependency(request: Request) -> PanelSession:
        session = await current(request)
        if session is None:
            raise PanelProblem(401, "unauthenticated", "sign in to the panel first")
        if action is not None and not allowed(session.role, action):
            raise PanelProblem(403, "forbidden", f"the role {session.role!r} may not {action.value}")
        if request.method not in ("GET", "HEAD") and not StaffAuth.csrf_ok(
            session, await _csrf_presented(request)
        ):
            raise PanelProblem(403, "csrf_failed", "missing or wrong anti-forgery token")
        return session

    return dependency


async def page_session(request: Request) -> PanelSession:
    """A page's session (pages check their own view; without one the browser goes to sign in)."""
    session = await current(request)
    if session is None:
        raise PanelProblem(401, "unauthenticated", "sign in to the panel first")
    return session


Page = Annotated[PanelSession, Depends(page_session)]
Signed = Annotated[PanelSession, Depends(requires(None))]
Viewer = Annotated[PanelSession, Depends(requires(PanelAction.VIEW))]
CleaningViewer = Annotated[PanelSession, Depends(requires(PanelAction.VIEW_CLEANING))]
Redeemer = Annotated[PanelSession, Depends(requires(PanelAction.REDEEM))]
DoorOpener = Annotated[PanelSession, Depends(requires(PanelAction.DOOR))]
PowerSwitcher = Annotated[PanelSession, Depends(requires(PanelAction.POWER))]
Extender = Annotated[PanelSession, Depends(requires(PanelAction.EXTEND))]
Cleaner = Annotated[PanelSession, Depends(requires(PanelAction.CLEAN))]
FaultResolver = Annotated[PanelSession, Depends(requires(PanelAction.RESOLVE_FAULT))]
Printer = Annotated[PanelSession, Depends(requires(PanelAction.PRINT))]
AlarmRaiser = Annotated[PanelSession, Depends(requires(PanelAction.ALARM))]
CallAnswerer = Annotated[PanelSession, Depends(requires(PanelAction.ANSWER_CALL))]


@dataclass(frozen=True, slots=True)
class Panel:
    """The panel: its app, and what the daemon keeps of it (live views to end on shutdown)."""

    app: FastAPI
    feed: ChangeFeed
    auth: StaffAuth

    def close(self) -> None:
        """End every live view (server shutdown)."""
        self.feed.close()


def _actor(session: PanelSession) -> Actor:
    return Actor(session.staff_id, session.username, session.role)


def _safe_next(target: str | None, fallback: str) -> str:
    # Only paths of this panel: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def create_panel(
    sources: PanelSources,
    actions: StaffActions,
    auth: StaffAuth,
    *,
    feed: ChangeFeed | None = None,
    metrics: EdgeMetrics | None = None,
) -> Panel:
    """The panel app wired to its read sources, staff actions, sign-in and live feed."""
    feed = feed or ChangeFeed()
    app = FastAPI(title="Gatehouse edge panel", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.auth = auth

    @app.exception_handler(PanelProblem)
    async def panel_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PanelProblem)
        path = request.url.path
        if path.startswith(("/api/", "/events")):
            return problem(exc.status, exc.code, exc.detail, **exc.extra)
        if request.headers.get("HX-Request"):
            if exc.status == 401:
                return Response(status_code=200, headers={"HX-Redirect": "/login"})
            return result_fragment(request, ActionResult(False, exc.code, exc.detail))
        if exc.status == 401:
            return RedirectResponse(f"/login?next={path}", status_code=303)
        return TEMPLATES.TemplateResponse(
            request, "denied.html", {"code": exc.code, "detail": exc.detail}, status_code=exc.status
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return problem(422, "invalid_request", str(first.get("msg", "invalid request")), field=field or None)

    # ---- rendering ----

    async def base_context(session: PanelSession | None) -> dict[str, Any]:
        info = await sources.store.store_info()
        return {
            "me": session,
            "can": (lambda a: session is not None and allowed(session.role, PanelAction(a))),
            "store_name": (info.name or info.id) if info else "Not enrolled",
            "tz": timezone_of(info),
            "reason_text": REASON_TEXT,
        }

    async def view_context(view: str, room_id: str | None, session: PanelSession) -> dict[str, Any]:
        context = await base_context(session)
        now = sources.clock.now()
        context["now"] = now
        if view in ("grid", "room", "devices", "faults"):
            state = await gather_state(sources)
            context["panel"] = state
            if view == "room":
                context["room"] = state.room(room_id or "")
        if view == "cleaning":
            context["queue"] = await gather_cleaning(sources)
        if view == "bookings":
            context["day"] = await gather_bookings(sources)
        return context

    views: dict[str, PanelAction] = {
        "grid": PanelAction.VIEW,
        "room": PanelAction.VIEW,
        "cleaning": PanelAction.VIEW_CLEANING,
        "devices": PanelAction.VIEW,
        "faults": PanelAction.VIEW,
        "bookings": PanelAction.VIEW,
    }

    async def render_view(view: str, room_id: str | None, session: PanelSession) -> str:
        context = await view_context(view, room_id, session)
        return TEMPLATES.get_template(f"_{view}.html").render(context)

    def result_fragment(request: Request, result: ActionResult) -> HTMLResponse:
        html = TEMPLATES.get_template("_result.html").render(
            {"result": result, "text": REASON_TEXT.get(result.reason, "")}
        )
        return HTMLResponse(html)

    async def page(
        request: Request, view: str, session: PanelSession, room_id: str | None = None
    ) -> Response:
        if not allowed(session.role, views[view]):
            return RedirectResponse(home_of(session.role), status_code=303)
        context = await view_context(view, room_id, session)
        if view == "room" and context.get("room") is None:
            raise PanelProblem(404, "no_such_room", f"no room {room_id!r} in this store")
        context |= {"view": view, "room_id": room_id, "csrf": session.csrf}
        return TEMPLATES.TemplateResponse(request, f"{view}.html", context)

    # ---- open ----

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        # store_data: the cloud's data (rooms, bookings, staff) has arrived at least once.
        return {"status": "ok", "store_data": await sources.store.cursor() > 0}

    @app.get("/metrics")
    async def prometheus() -> Response:
        if metrics is None:
            return Response("", media_type=CONTENT_TYPE_LATEST)
        await metrics.refresh(
            sources.store,
            sources.clock,
            link_connected=sources.link_connected(),
            availability=sources.device_availability(),
        )
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    # ---- sign-in ----

    def set_cookie(request: Request, response: Response, session: PanelSession) -> None:
        response.set_cookie(
            cookie_name(request),
            session.token,
            max_age=int(session.expires_at - session.signed_in_at),
            httponly=True,
            samesite="strict",
            path="/",
        )

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, next: str = "") -> Response:
        session = await current(request)
        if session is not None:
            return RedirectResponse(_safe_next(next, home_of(session.role)), status_code=303)
        context = await base_context(None)
        return TEMPLATES.TemplateResponse(request, "login.html", context | {"next": next, "error": None})

    @app.post("/login", response_class=HTMLResponse)
    async def login_form(
        request: Request,
        username: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        next: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        try:
            session = await auth.sign_in(username, password)
        except SignInRefused as err:
            context = await base_context(None)
            status = 429 if err.code == "locked_out" else 401
            context |= {"next": next, "error": err, "username": username}
            return TEMPLATES.TemplateResponse(request, "login.html", context, status_code=status)
        response = RedirectResponse(_safe_next(next, home_of(session.role)), status_code=303)
        set_cookie(request, response, session)
        return response

    @app.post("/api/login")
    async def login_api(request: Request, body: SignIn) -> Response:
        try:
            session = await auth.sign_in(body.username, body.password)
        except SignInRefused as err:
            status = {"locked_out": 429, "role_not_allowed": 403}.get(err.code, 401)
            response = problem(status, err.code, str(err), retry_after_s=err.retry_after_s or None)
            if err.retry_after_s:
                response.headers["Retry-After"] = str(err.retry_after_s)
            return response
        response = JSONResponse(
            {
                "username": session.username,
                "display_name": session.display_name,
                "role": session.role,
                "csrf_token": session.csrf,
                "expires_at": session.expires_at,
            }
        )
        set_cookie(request, response, session)
        return response

    @app.post("/logout")
    async def logout(request: Request, session: Signed) -> Response:
        auth.sign_out(session.token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(cookie_name(request), path="/")
        return response

    @app.post("/api/logout", status_code=204)
    async def logout_api(request: Request, session: Signed) -> Response:
        auth.sign_out(session.token)
        response = Response(status_code=204)
        response.delete_cookie(cookie_name(request), path="/")
        return response

    @app.get("/api/me")
    async def me(session: Signed) -> dict[str, Any]:
        return {
            "username": session.username,
            "display_name": session.display_name,
            "role": session.role,
            "expires_at": session.expires_at,
            "may": sorted(a.value for a in PanelAction if allowed(session.role, a)),
        }

    # ---- pages ----

    @app.get("/", response_class=HTMLResponse)
    async def grid_page(request: Request, session: Page) -> Response:
        return await page(request, "grid", session)

    @app.get("/rooms/{room_id}", response_class=HTMLResponse)
    async def room_page(request: Request, room_id: str, session: Page) -> Response:
        return await page(request, "room", session, room_id)

    @app.get("/cleaning", response_class=HTMLResponse)
    async def cleaning_page(request: Request, session: Page) -> Response:
        return await page(request, "cleaning", session)

    @app.get("/devices", response_class=HTMLResponse)
    async def devices_page(request: Request, session: Page) -> Response:
        return await page(request, "devices", session)

    @app.get("/faults", response_class=HTMLResponse)
    async def faults_page(request: Request, session: Page) -> Response:
        return await page(request, "faults", session)

    @app.get("/bookings", response_class=HTMLResponse)
    async def bookings_page(request: Request, session: Page) -> Response:
        return await page(request, "bookings", session)

    # ---- live ----

    @app.get("/events")
    async def events(request: Request, view: str = "grid", room: str | None = None) -> StreamingResponse:
        session = await current(request)
        if session is None:
            raise PanelProblem(401, "unauthenticated", "sign in to the panel first")
        if view not in views:
            raise PanelProblem(404, "no_such_view", f"no live view {view!r}")
        if not allowed(session.role, views[view]):
            raise PanelProblem(403, "forbidden", f"the role {session.role!r} may not see {view}")
        token = session.token

        async def stream() -> AsyncIterator[str]:
            with feed.listen() as listener:
                last: str | None = None
                while not feed.closed:
                    live = await auth.session(token)
                    if live is None or not allowed(live.role, views[view]):
                        yield _sse("update", TEMPLATES.get_template("_signed_out.html").render())
                        return
                    html = await render_view(view, room, live)
                    if html != last:
                        yield _sse("update", html)
                        last = html
                    else:
                        yield ": keep-alive\n\n"
                    await listener.wait(KEEPALIVE_S)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    # ---- JSON API ----

    @app.get("/api/state")
    async def state(session: Viewer) -> dict[str, Any]:
        panel: PanelState = await gather_state(sources)
        return panel.as_dict()

    @app.get("/api/cleaning")
    async def cleaning(
        session: CleaningViewer,
    ) -> dict[str, Any]:
        return {"rooms": [asdict(c) for c in await gather_cleaning(sources)]}

    @app.get("/api/bookings")
    async def bookings(session: Viewer) -> dict[str, Any]:
        return asdict(await gather_bookings(sources))

    @app.post("/api/redeem")
    async def redeem(
        body: Annotated[CodeRedeem | OrderRedeem, Body()],
        session: Redeemer,
    ) -> RedeemResponse:
        if isinstance(body, CodeRedeem):
            result = await actions.redeem_code(_actor(session), body.code)
        else:
            result = await actions.redeem_order(
                _actor(session), body.order_no, body.phone_last4, body.room_id
            )
        return RedeemResponse.of(result)

    @app.post("/api/door")
    async def door(body: DoorRequest, session: DoorOpener) -> dict[str, Any]:
        result = await actions.open_door(_actor(session), body.room_id, body.reason, force=body.force)
        return result.as_dict()

    @app.post("/api/power")
    async def power(body: PowerRequest, session: PowerSwitcher) -> dict[str, Any]:
        return (await actions.power(_actor(session), body.room_id, body.on, body.reason)).as_dict()

    @app.post("/api/extend")
    async def extend(body: ExtendRequest, session: Extender) -> dict[str, Any]:
        extension = Extension(minutes=body.minutes, until=body.until)
        return (await actions.extend(_actor(session), body.room_id, extension, body.reason)).as_dict()

    @app.post("/api/cleaned")
    async def cleaned(body: CleanedRequest, session: Cleaner) -> dict[str, Any]:
        return (await actions.mark_cleaned(_actor(session), body.room_id)).as_dict()

    @app.post("/api/faults/{fault_id}/resolve")
    async def resolve(
        fault_id: str,
        session: FaultResolver,
        body: ResolveRequest | None = None,
    ) -> dict[str, Any]:
        reason = body.reason if body is not None else None
        return (await actions.resolve_fault(_actor(session), fault_id, reason)).as_dict()

    @app.post("/api/print-test")
    async def print_test(session: Printer) -> dict[str, Any]:
        return (await print_receipt(session)).as_dict()

    async def print_receipt(session: PanelSession) -> ActionResult:
        info = await sources.store.store_info()
        name = (info.name or info.id) if info else "Gatehouse"
        return await actions.print_test(_actor(session), name, timezone_of(info))

    @app.get("/api/service-calls")
    async def service_calls(session: Viewer) -> dict[str, Any]:
        panel: PanelState = await gather_state(sources)
        return {"calls": [asdict(c) for c in panel.calls]}

    @app.post("/api/service-calls/{call_id}/done")
    async def service_call_done(call_id: str, session: CallAnswerer) -> dict[str, Any]:
        return (await actions.finish_call(_actor(session), call_id)).as_dict()

    @app.post("/api/alarm")
    async def alarm(body: AlarmRequest, session: AlarmRaiser) -> dict[str, Any]:
        return (await actions.alarm(_actor(session), body.code, body.room_id)).as_dict()

    # ---- htmx actions (forms in, result fragments out) ----

    @app.post("/act/redeem", response_class=HTMLResponse)
    async def act_redeem(
        request: Request,
        session: Redeemer,
        code: Annotated[str, Form(max_length=512)] = "",
        order_no: Annotated[str, Form(max_length=64)] = "",
        phone_last4: Annotated[str, Form(max_length=8)] = "",
    ) -> HTMLResponse:
        if code.strip():
            result = await actions.redeem_code(_actor(session), code)
        elif order_no.strip() and phone_last4.strip():
            result = await actions.redeem_order(_actor(session), order_no, phone_last4)
        else:
            return result_fragment(
                request,
                ActionResult(False, "bad_args", "scan a code, or type the order number and phone digits"),
            )
        record = await sources.store.room(result.room_id) if result.room_id else None
        name = (record.name or record.id) if record is not None else result.room_id
        message = f"{name} open · booking {result.booking_ref}" if result.ok else ""
        return result_fragment(request, ActionResult(result.ok, result.reason, message, result.room_id))

    @app.post("/act/door", response_class=HTMLResponse)
    async def act_door(
        request: Request,
        session: DoorOpener,
        room_id: Annotated[str, Form(max_length=64)] = "",
        reason: Annotated[str, Form(max_length=1000)] = "",
        force: Annotated[str, Form(max_length=5)] = "",
    ) -> HTMLResponse:
        result = await actions.open_door(_actor(session), room_id, reason, force=force == "1")
        return result_fragment(request, result)

    @app.post("/act/power", response_class=HTMLResponse)
    async def act_power(
        request: Request,
        session: PowerSwitcher,
        room_id: Annotated[str, Form(max_length=64)] = "",
        on: Annotated[str, Form(max_length=5)] = "",
        reason: Annotated[str, Form(max_length=1000)] = "",
    ) -> HTMLResponse:
        if on not in ("1", "0"):
            return result_fragment(request, ActionResult(False, "bad_args", "on or off?", room_id))
        return result_fragment(request, await actions.power(_actor(session), room_id, on == "1", reason))

    @app.post("/act/extend", response_class=HTMLResponse)
    async def act_extend(
        request: Request,
        session: Extender,
        room_id: Annotated[str, Form(max_length=64)] = "",
        minutes: Annotated[str, Form(max_length=5)] = "",
        until: Annotated[str, Form(max_length=5)] = "",
        reason: Annotated[str, Form(max_length=1000)] = "",
    ) -> HTMLResponse:
        if minutes.isdigit() and int(minutes) > 0:
            extension = Extension(minutes=int(minutes))
        else:
            info = await sources.store.store_info()
            target = until_time(until, timezone_of(info), sources.clock.now())
            if target is None:
                return result_fragment(
                    request, ActionResult(False, "bad_args", "give minutes or a time (HH:MM)", room_id)
                )
            extension = Extension(until=target)
        return result_fragment(request, await actions.extend(_actor(session), room_id, extension, reason))

    @app.post("/act/cleaned", response_class=HTMLResponse)
    async def act_cleaned(
        request: Request,
        session: Cleaner,
        room_id: Annotated[str, Form(max_length=64)] = "",
    ) -> HTMLResponse:
        return result_fragment(request, await actions.mark_cleaned(_actor(session), room_id))

    @app.post("/act/resolve", response_class=HTMLResponse)
    async def act_resolve(
        request: Request,
        session: FaultResolver,
        fault_id: Annotated[str, Form(max_length=64)] = "",
    ) -> HTMLResponse:
        # The reason comes from htmx's prompt (HX-Prompt), so nothing typed sits in the live list.
        reason = request.headers.get("HX-Prompt", "")[:1000]
        return result_fragment(request, await actions.resolve_fault(_actor(session), fault_id, reason))

    @app.post("/act/call-done", response_class=HTMLResponse)
    async def act_call_done(
        request: Request,
        session: CallAnswerer,
        call_id: Annotated[str, Form(max_length=64)] = "",
    ) -> HTMLResponse:
        return result_fragment(request, await actions.finish_call(_actor(session), call_id))

    @app.post("/act/print-test", response_class=HTMLResponse)
    async def act_print_test(request: Request, session: Printer) -> HTMLResponse:
        return result_fragment(request, await print_receipt(session))

    return Panel(app, feed, auth)


def until_time(text: str, tz: dt.tzinfo, now: float) -> float | None:
    """HH:MM in the store's timezone as the next such moment after now (None: not a time)."""
    try:
        clock = dt.time.fromisoformat(text.strip())
    except ValueError:
        return None
    local_now = dt.datetime.fromtimestamp(now, tz)
    target = dt.datetime.combine(local_now.date(), clock, tz)
    if target.timestamp() <= now:
        target = dt.datetime.combine(local_now.date() + dt.timedelta(days=1), clock, tz)
    return target.timestamp()


def _sse(event: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


__all__ = ["Panel", "PanelProblem", "create_panel", "until_time"]
