"""HTTP routes of accounts: login, logout, me, own password, users, customer booking tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from cloud.auth import services, users
from cloud.auth.model import Principal, actions_of, csrf_token
from cloud.auth.schemas import (
    BookingTokenIn,
    BookingTokenOut,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    SessionOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from cloud.deps import (
    SESSION_COOKIE,
    Authenticated,
    BookingsWrite,
    ClockDep,
    CredentialsDep,
    PasswordsDep,
    SessionDep,
    UsersRead,
    UsersWrite,
    set_session_cookie,
)
from cloud.ratelimit.http import LoginRateLimit

router = APIRouter(prefix="/api/v1", tags=["auth"])


def _me(principal: Principal) -> MeOut:
    return MeOut(
        tenant_id=principal.tenant_id,
        kind=principal.kind.value,
        actor=principal.actor,
        role=principal.role,
        user_id=principal.user_id,
        region_ids=sorted(principal.region_ids),
        store_ids=sorted(principal.store_ids),
        actions=sorted(a.value for a in actions_of(principal)),
    )


@router.post("/auth/login")
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    passwords: PasswordsDep,
    _limit: LoginRateLimit,
) -> SessionOut:
    """Open a session: the token comes back in the body and as an HttpOnly cookie (401 after 5 failures)."""
    result = await services.login(session, clock, passwords, body.login, body.password)
    set_session_cookie(request, response, result.token, result.expires_at - clock.now())
    principal = await services.user_principal(session, result.user)
    await session.commit()
    return SessionOut(
        token=result.token,
        csrf_token=csrf_token(result.token),
        expires_at=result.expires_at,
        me=_me(principal),
    )


@router.post("/auth/logout", status_code=204)
async def logout(token: CredentialsDep, session: SessionDep, clock: ClockDep) -> Response:
    """End the caller's session (a no-op without one) and clear the cookie."""
    await services.logout(session, clock, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/auth/me")
async def me(principal: Authenticated) -> MeOut:
    """Who the caller is: tenant, role, regions, stores and allowed actions."""
    return _me(principal)


@router.post("/auth/password", status_code=204)
async def change_password(
    body: PasswordChangeIn,
    principal: Authenticated,
    token: CredentialsDep,
    session: SessionDep,
    clock: ClockDep,
    passwords: PasswordsDep,
) -> Response:
    """Change the caller's own password (their other sessions end)."""
    await users.change_own_password(
        session, clock, passwords, principal, body.current_password, body.new_password, keep_session=token
    )
    return Response(status_code=204)


@router.post("/auth/booking-tokens", status_code=201)
async def booking_token(
    body: BookingTokenIn, principal: BookingsWrite, session: SessionDep, clock: ClockDep
) -> BookingTokenOut:
    """A customer's booking-page token: it reads (and may cancel) that one booking only."""
    token, expires_at = await services.issue_booking_token(session, clock, principal, body.ref)
    return BookingTokenOut(ref=body.ref, token=token, expires_at=expires_at)


@router.post("/users", status_code=201)
async def create_user(
    body: UserCreate, principal: UsersWrite, session: SessionDep, clock: ClockDep, passwords: PasswordsDep
) -> UserOut:
    """Create a user (HQ admin: any; region manager: store staff of their region)."""
    user = await users.create_user(
        session,
        clock,
        passwords,
        principal,
        login=body.login,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
        region_ids=body.region_ids,
        store_ids=body.store_ids,
    )
    return UserOut.model_validate(user)


@router.get("/users")
async def list_users(principal: UsersRead, session: SessionDep) -> list[UserOut]:
    """The users the caller may see."""
    return [UserOut.model_validate(u) for u in await users.list_users(session, principal)]


@router.get("/users/{user_id}")
async def get_user(user_id: str, principal: UsersRead, session: SessionDep) -> UserOut:
    """One user."""
    return UserOut.model_validate(await users.get_user(session, principal, user_id))


@router.patch("/users/{user_id}")
async def update_user(
    user_id: str,
    body: UserUpdate,
    principal: UsersWrite,
    session: SessionDep,
    clock: ClockDep,
    passwords: PasswordsDep,
) -> UserOut:
    """Change a user's name, role, scope, active flag or password, or lift a lockout."""
    changes = users.UserChanges(
        display_name=body.display_name,
        role=body.role,
        region_ids=frozenset(body.region_ids) if body.region_ids is not None else None,
        store_ids=frozenset(body.store_ids) if body.store_ids is not None else None,
        active=body.active,
        password=body.password,
        unlock=body.unlock,
    )
    return UserOut.model_validate(
        await users.update_user(session, clock, passwords, principal, user_id, changes)
    )
