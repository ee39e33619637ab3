"""Typed FastAPI dependencies: the app's collaborators, a session per request, the caller and its rights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Cookie, Depends, Header, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.model import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    Action,
    Principal,
    Role,
    Scope,
    bearer_token,
    can,
    csrf_ok,
    permits,
)
from cloud.auth.passwords import Passwords
from cloud.auth.services import resolve_credentials
from cloud.booking.tables import Booking
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.edgelink.commands import LinkRegistry
from cloud.edgelink.notifier import FeedNotifier
from cloud.errors import Forbidden, NotFound
from cloud.faults.tables import WorkOrder
from cloud.uow import UnitOfWork


@dataclass(slots=True)
class AppContext:
    """What routes need from the composition root (set on `app.state.gatehouse`)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    cipher: FieldCipher
    notifier: FeedNotifier
    registry: LinkRegistry
    ca_pem: bytes
    grpc_target: str
    enroll_target: str
    passwords: Passwords = field(default_factory=Passwords)
    # where uploads (work-order photos) are kept; None: this process takes no uploads
    uploads_dir: Path | None = None


def get_context(request: Request) -> AppContext:
    """The app's context."""
    context: AppContext = request.app.state.gatehouse
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    """One session per request (services commit; anything uncommitted is rolled back)."""
    async with context.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_uow(session: SessionDep, context: ContextDep) -> UnitOfWork:
    """The request's unit of work (its commits wake the store's edge streams)."""
    return UnitOfWork(session, context.notifier)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def get_clock(context: ContextDep) -> Clock:
    """The app's clock."""
    return context.clock


ClockDep = Annotated[Clock, Depends(get_clock)]


def get_cipher(context: ContextDep) -> FieldCipher:
    """The master-key field cipher."""
    return context.cipher


CipherDep = Annotated[FieldCipher, Depends(get_cipher)]


SESSION_COOKIE = "gh_session"


def set_session_cookie(request: Request, response: Response, token: str, lifetime: timedelta) -> None:
    """Give the browser a login session: HttpOnly (no script reads it), Lax, Secure over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def get_passwords(context: ContextDep) -> Passwords:
    """The password hasher."""
    return context.passwords


PasswordsDep = Annotated[Passwords, Depends(get_passwords)]


async def credentials(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    gh_session: Annotated[str | None, Cookie()] = None,
) -> str | None:
    """The caller's secret: `Authorization: Bearer <token>` first, else the web apps' session cookie.

    A write that relies on the cookie must also present the session's anti-forgery token (header
    `X-CSRF-Token` or form field `csrf_token`): a page of another site can make the browser send
    the cookie, but cannot read the token.
    """
    bearer = bearer_token(authorization)
    if bearer is not None or gh_session is None:
        return bearer
    if request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            value = (await request.form()).get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
        if not csrf_ok(gh_session, presented):
            raise Forbidden("this write needs the page's anti-forgery token", code="csrf_failed")
    return gh_session


CredentialsDep = Annotated[str | None, Depends(credentials)]


async def get_principal(session: SessionDep, context: ContextDep, token: CredentialsDep) -> Principal:
    """The caller: an API token (HQ admin of its tenant), a user session or a customer's booking token."""
    principal = await resolve_credentials(session, token, context.clock.now())
    # End the read transaction now: on SQLite every transaction holds the write lock.
    await session.commit()
    return principal


Authenticated = Annotated[Principal, Depends(get_principal)]


def require_tenant_admin(principal: Authenticated) -> Principal:
    """A dependency: the caller acts as HQ admin of its whole tenant (an API token or an HQ admin user)."""
    if principal.role is not Role.HQ_ADMIN or not principal.tenant_wide:
        raise Forbidden("only an HQ admin (or an API token) may do this", code="forbidden")
    return principal


# Routes not yet given a `require(...)` alias fail closed: only tenant-wide HQ admins and API tokens.
ApiPrincipal = Annotated[Principal, Depends(require_tenant_admin)]
CurrentTenant = ApiPrincipal


def require(action: Action) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if their role may take action (403 forbidden otherwise).

    Where the resource sits (tenant, region, store) is checked by the services' lookups
    (`cloud.auth.model.in_reach`, `cloud.auth.scoping`), which answer 404 outside the caller's reach.
    """

    def dependency(principal: Authenticated) -> Principal:
        if not permits(principal, action):
            raise Forbidden(f"your role may not {action.value}", code="forbidden")
        return principal

    dependency.__name__ = f"require_{action.name.lower()}"
    return dependency


def require_booking(action: Action) -> Callable[..., Awaitable[Principal]]:
    """A dependency for `/bookings/{ref}...`: the caller may take action on that booking (404 otherwise)."""

    async def dependency(ref: str, principal: Authenticated, session: SessionDep) -> Principal:
        if not permits(principal, action):
            raise Forbidden(f"your role may not {action.value}", code="forbidden")
        booking = await session.get(Booking, ref)
        await session.commit()
        if booking is None or not can(
            principal, action, Scope(booking.tenant_id, store_id=booking.store_id, booking_ref=booking.ref)
        ):
            raise NotFound(f"no booking {ref}", code="booking_not_found", field="ref")
        return principal

    dependency.__name__ = f"require_booking_{action.name.lower()}"
    return dependency


def require_work_order(action: Action) -> Callable[..., Awaitable[Principal]]:
    """A dependency for `/work-orders/{order_id}...`: the order lies in the caller's reach (404 otherwise)."""

    async def dependency(order_id: str, principal: Authenticated, session: SessionDep) -> Principal:
        if not permits(principal, action):
            raise Forbidden(f"your role may not {action.value}", code="forbidden")
        order = await session.get(WorkOrder, order_id)
        await session.commit()
        if order is None or not can(
            principal, action, Scope(order.tenant_id, region_id=order.region_id, store_id=order.store_id)
        ):
            raise NotFound(f"no work order {order_id}", code="work_order_not_found", field="work_order_id")
        return principal

    dependency.__name__ = f"require_work_order_{action.name.lower()}"
    return dependency


A = Action
TenancyRead = Annotated[Principal, Depends(require(A.TENANCY_READ))]
RegionsWrite = Annotated[Principal, Depends(require(A.REGIONS_WRITE))]
StoresWrite = Annotated[Principal, Depends(require(A.STORES_WRITE))]
RoomsWrite = Annotated[Principal, Depends(require(A.ROOMS_WRITE))]
DevicesRead = Annotated[Principal, Depends(require(A.DEVICES_READ))]
DevicesWrite = Annotated[Principal, Depends(require(A.DEVICES_WRITE))]
BookingsRead = Annotated[Principal, Depends(require(A.BOOKINGS_READ))]
BookingsWrite = Annotated[Principal, Depends(require(A.BOOKINGS_WRITE))]
BookingRead = Annotated[Principal, Depends(require_booking(A.BOOKINGS_READ))]
BookingWrite = Annotated[Principal, Depends(require_booking(A.BOOKINGS_WRITE))]
BookingCancel = Annotated[Principal, Depends(require_booking(A.BOOKINGS_CANCEL))]
EdgesRead = Annotated[Principal, Depends(require(A.EDGES_READ))]
EdgesWrite = Annotated[Principal, Depends(require(A.EDGES_WRITE))]
EdgeCommands = Annotated[Principal, Depends(require(A.EDGE_COMMANDS))]
FaultsRead = Annotated[Principal, Depends(require(A.FAULTS_READ))]
WorkOrderRead = Annotated[Principal, Depends(require_work_order(A.FAULTS_READ))]
WorkOrderWrite = Annotated[Principal, Depends(require_work_order(A.FAULTS_WRITE))]
SettingsRead = Annotated[Principal, Depends(require(A.SETTINGS_READ))]
StoreSettingsWrite = Annotated[Principal, Depends(require(A.STORE_SETTINGS_WRITE))]
ChainSettingsWrite = Annotated[Principal, Depends(require(A.CHAIN_SETTINGS_WRITE))]
UsersRead = Annotated[Principal, Depends(require(A.USERS_READ))]
UsersWrite = Annotated[Principal, Depends(require(A.USERS_WRITE))]
AuditRead = Annotated[Principal, Depends(require(A.AUDIT_READ))]
