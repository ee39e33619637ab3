"""Sign-in for the staff web apps: a login form setting the session cookie, and the page user dependency.

Pages are read with the `gh_session` cookie; every write they make carries the session's
anti-forgery token (`csrf_token` form field, or the `X-CSRF-Token` header that the base template
gives every htmx request), checked once in `cloud.deps.credentials`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from cloud.auth import services as auth_services
from cloud.auth.model import Principal, PrincipalKind, Role, csrf_token
from cloud.deps import (
    SESSION_COOKIE,
    ClockDep,
    ContextDep,
    CredentialsDep,
    PasswordsDep,
    SessionDep,
    set_session_cookie,
)
from cloud.errors import DomainError
from cloud.ratelimit.http import limit_login, page_refusal

HERE = Path(__file__).parent
COMMON_STATIC = HERE / "static"
COMMON_TEMPLATES = HERE / "templates"
_templates = Jinja2Templates(directory=COMMON_TEMPLATES)


class LoginRequired(Exception):
    """A page needs a signed-in user of another kind: the app handler redirects to its login page."""

    def __init__(self, login_url: str, next_url: str) -> None:
        super().__init__(login_url)
        self.login_url = login_url
        self.next_url = next_url


def login_redirect(request: Request, err: LoginRequired) -> Response:
    """The answer to LoginRequired: see the app's login page, coming back to the page asked for.

    An htmx request (a live list polling after the session expired) is told to load the login page
    whole, instead of having it swapped into part of the page.
    """
    target = f"{err.login_url}?next={quote(err.next_url, safe='/')}"
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in user of a page: who they are, and the token their page's writes carry."""

    principal: Principal
    csrf: str
    login: str


def _local(next_url: str | None, home: str) -> str:
    """A redirect target on this site only (an open redirect would make the login page a phishing aid)."""
    if not next_url:
        return home
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or not next_url.startswith("/") or next_url.startswith("//"):
        return home
    return next_url


def page_user(login_url: str, roles: Collection[Role]) -> Callable[..., Awaitable[WebUser]]:
    """A dependency: the page's signed-in user of one of roles (else LoginRequired to login_url)."""

    async def dependency(
        request: Request, session: SessionDep, context: ContextDep, token: CredentialsDep
    ) -> WebUser:
        try:
            principal = await auth_services.resolve_credentials(session, token, context.clock.now())
        except DomainError:
            principal = None
        await session.commit()
        if (
            token is None
            or principal is None
            or principal.kind is not PrincipalKind.USER
            or principal.role not in roles
        ):
            raise LoginRequired(login_url, str(request.url.path))
        return WebUser(principal, csrf_token(token), principal.actor.removeprefix("user:"))

    dependency.__name__ = "page_user"
    return dependency


def mount_login(router: APIRouter, *, title: str, home: str, roles: Collection[Role]) -> None:
    """Add `/login` (form and sign-in) and `/logout` to an app's router (its prefix is the app's root)."""
    allowed = frozenset(roles)
    prefix = router.prefix

    def form(request: Request, next_url: str, error: str | None, status_code: int = 200) -> HTMLResponse:
        return _templates.TemplateResponse(
            request,
            "login.html",
            {"title": title, "action": f"{prefix}/login", "next": next_url, "error": error},
            status_code=status_code,
        )

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(request: Request, next: str | None = None) -> HTMLResponse:
        return form(request, _local(next, home), None)

    @router.post("/login", include_in_schema=False)
    async def login_submit(
        request: Request,
        session: SessionDep,
        clock: ClockDep,
        passwords: PasswordsDep,
        login: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=256)],
        next: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        target = _local(next, home)
        limited = await page_refusal(limit_login, request)
        if limited is not None:
            wait = f"too many sign-in attempts from here: try again in {limited.retry_after_s} s"
            refusal = form(request, target, wait, status_code=429)
            refusal.headers["Retry-After"] = str(limited.retry_after_s)
            return refusal
        try:
            result = await auth_services.login(session, clock, passwords, login, password)
        except DomainError as err:
            return form(request, target, err.detail or err.code, status_code=401)
        principal = await auth_services.user_principal(session, result.user)
        await session.commit()
        if principal.role not in allowed:
            await auth_services.logout(session, clock, result.token)
            return form(request, target, f"this app is not for the {principal.role} role", status_code=403)
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(request, response, result.token, result.expires_at - clock.now())
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout_submit(session: SessionDep, clock: ClockDep, token: CredentialsDep) -> Response:
        await auth_services.logout(session, clock, token)
        response = RedirectResponse(f"{prefix}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
