"""Credentials: API tokens, login sessions and customer booking tokens, resolved to one Principal."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth import model
from cloud.auth.model import SYSTEM_ACTOR, Principal, PrincipalKind, Role
from cloud.auth.passwords import Passwords
from cloud.auth.tables import ApiToken, BookingToken, User, UserSession
from cloud.booking.tables import Booking
from cloud.clock import Clock, SystemClock
from cloud.errors import Conflict, NotFound, Unauthenticated
from cloud.ids import new_id, new_secret_token, token_hash
from cloud.tenancy.model import clean_name
from cloud.tenancy.tables import Store, Tenant

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "gh"
SESSION_PREFIX = "ghs"
BOOKING_TOKEN_PREFIX = "ghb"
BOOKING_TOKEN_TTL = timedelta(days=30)


async def create_tenant_with_token(
    session: AsyncSession, name: str, *, clock: Clock | None = None, token_name: str = "initial"
) -> tuple[Tenant, str]:
    """Create a tenant and an API token for it (commits); the token is returned once, stored hashed."""
    clock = clock if clock is not None else SystemClock()
    name = clean_name(name)
    if await session.scalar(select(Tenant).where(Tenant.name == name)) is not None:
        raise Conflict(f"tenant {name!r} exists", code="tenant_exists", field="name")
    now = clock.now()
    tenant = Tenant(id=new_id("t"), name=name, created_at=now)
    session.add(tenant)
    await session.flush()
    token = await add_token(session, tenant.id, token_name, clock=clock)
    record_audit(
        session,
        at=now,
        tenant_id=tenant.id,
        actor=SYSTEM_ACTOR,
        action="tenant.create",
        entity="tenant",
        entity_id=tenant.id,
        after={"name": name},
    )
    await session.commit()
    return tenant, token


async def add_token(
    session: AsyncSession, tenant_id: str, name: str, *, clock: Clock, token: str | None = None
) -> str:
    """Add an API token to a tenant (no commit); a given token is registered as is (demo seeding)."""
    secret = token if token is not None else new_secret_token(TOKEN_PREFIX)
    session.add(
        ApiToken(token_hash=token_hash(secret), tenant_id=tenant_id, name=name, created_at=clock.now())
    )
    record_audit(
        session,
        at=clock.now(),
        tenant_id=tenant_id,
        actor=SYSTEM_ACTOR,
        action="api_token.create",
        entity="api_token",
        entity_id=token_hash(secret)[:12],
        after={"name": name},
    )
    return secret


async def user_principal(session: AsyncSession, user: User) -> Principal:
    """The principal of a user: its role, regions, and every store it reaches (its regions' included)."""
    regions = frozenset(user.region_ids or ())
    stores = set(user.store_ids or ())
    if regions:
        stores.update(
            await session.scalars(
                select(Store.id).where(Store.tenant_id == user.tenant_id, Store.region_id.in_(regions))
            )
        )
    return Principal(
        tenant_id=user.tenant_id,
        actor=f"user:{user.login}",
        kind=PrincipalKind.USER,
        role=Role(user.role),
        region_ids=regions,
        store_ids=frozenset(stores),
        user_id=user.id,
    )


async def _session_principal(session: AsyncSession, token: str, now: datetime) -> Principal:
    row = await session.get(UserSession, token_hash(token))
    if row is None or row.expires_at <= now:
        raise Unauthenticated("the session is unknown or has expired", code="session_expired")
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthenticated("the user is disabled", code="user_disabled")
    return await user_principal(session, user)


async def _customer_principal(session: AsyncSession, token: str, now: datetime) -> Principal:
    row = await session.get(BookingToken, token_hash(token))
    if row is None or row.expires_at <= now:
        raise Unauthenticated("the booking link is unknown or has expired", code="unauthenticated")
    return Principal(
        tenant_id=row.tenant_id,
        actor=f"customer:{row.booking_ref}",
        kind=PrincipalKind.CUSTOMER,
        role=None,
        booking_refs=frozenset({row.booking_ref}),
    )


async def resolve_credentials(session: AsyncSession, token: str | None, now: datetime) -> Principal:
    """The principal behind a session token, a booking token or an API token; Unauthenticated otherwise."""
    if not token:
        raise Unauthenticated("a bearer token or a session is required", code="unauthenticated")
    if token.startswith(SESSION_PREFIX + "_"):
        return await _session_principal(session, token, now)
    if token.startswith(BOOKING_TOKEN_PREFIX + "_"):
        return await _customer_principal(session, token, now)
    row = await session.get(ApiToken, token_hash(token))
    if row is None:
        raise Unauthenticated("unknown bearer token", code="unauthenticated")
    return Principal(
        tenant_id=row.tenant_id, actor=f"token:{row.name}", kind=PrincipalKind.API_TOKEN, role=Role.HQ_ADMIN
    )


async def resolve_token(session: AsyncSession, token: str | None) -> Principal:
    """The principal an API bearer token stands for (kept for callers of the skeleton)."""
    return await resolve_credentials(session, token, SystemClock().now())


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A new session: the opaque token (shown once), its expiry and the user."""

    token: str
    expires_at: datetime
    user: User


def _bad_credentials() -> Unauthenticated:
    return Unauthenticated("wrong login or password", code="invalid_credentials")


async def login(
    session: AsyncSession,
    clock: Clock,
    passwords: Passwords,
    login_name: str,
    password: str,
    *,
    ttl: timedelta = model.SESSION_TTL,
) -> LoginResult:
    """Check a login and password and open a session (commits); 5 failures in a row lock for 15 min."""
    now = clock.now()
    user = await session.scalar(
        select(User).where(User.login == login_name.strip().lower()).with_for_update()
    )
    if user is None:
        await passwords.verify(None, password)  # same cost as a known login
        await session.rollback()
        raise _bad_credentials()
    state = model.LoginState(user.failed_attempts, user.locked_until)
    if model.is_locked(state, now):
        await session.rollback()
        raise Unauthenticated("too many failed logins: try again later", code="account_locked")
    ok = await passwords.verify(user.password_hash, password)
    if not ok or not user.active:
        after = model.after_failure(state, now) if not ok else state
        user.failed_attempts, user.locked_until = after.failed_attempts, after.locked_until
        locked = after.locked_until is not None
        record_audit(
            session,
            at=now,
            tenant_id=user.tenant_id,
            actor=f"user:{user.login}",
            action="user.lock" if locked else "user.login_failed",
            entity="user",
            entity_id=user.id,
            after={"failed_attempts": after.failed_attempts, "locked": locked},
        )
        await session.commit()
        logger.info("login refused", extra={"user_id": user.id, "locked": locked})
        if locked:
            raise Unauthenticated("too many failed logins: try again later", code="account_locked")
        raise _bad_credentials()
    cleared = model.after_success()
    user.failed_attempts, user.locked_until = cleared.failed_attempts, cleared.locked_until
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash(password)
    token = new_secret_token(SESSION_PREFIX)
    expires_at = now + ttl
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            tenant_id=user.tenant_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    record_audit(
        session,
        at=now,
        tenant_id=user.tenant_id,
        actor=f"user:{user.login}",
        action="user.login",
        entity="user",
        entity_id=user.id,
    )
    await session.commit()
    return LoginResult(token, expires_at, user)


async def logout(session: AsyncSession, clock: Clock, token: str | None) -> None:
    """End the session of token (commits); an unknown or expired token is a no-op."""
    if not token or not token.startswith(SESSION_PREFIX + "_"):
        return
    row = await session.get(UserSession, token_hash(token))
    if row is None:
        return
    user = await session.get(User, row.user_id)
    await session.delete(row)
    if user is not None:
        record_audit(
            session,
            at=clock.now(),
            tenant_id=user.tenant_id,
            actor=f"user:{user.login}",
            action="user.logout",
            entity="user",
            entity_id=user.id,
        )
    await session.commit()


async def end_sessions(session: AsyncSession, user_id: str, *, keep: str | None = None) -> None:
    """Delete every session of a user but the one whose token is keep (no commit)."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        query = query.where(UserSession.token_hash != token_hash(keep))
    await session.execute(query)


async def issue_booking_token(
    session: AsyncSession,
    clock: Clock,
    principal: Principal,
    booking_ref: str,
    *,
    ttl: timedelta = BOOKING_TOKEN_TTL,
) -> tuple[str, datetime]:
    """A customer's booking-page token for one booking the caller reaches (commits; shown once)."""
    booking = await session.get(Booking, booking_ref)
    if booking is None or not model.in_reach(
        principal, booking.tenant_id, store_id=booking.store_id, booking_ref=booking.ref
    ):
        raise NotFound(f"no booking {booking_ref}", code="booking_not_found", field="ref")
    now = clock.now()
    token = new_secret_token(BOOKING_TOKEN_PREFIX)
    expires_at = now + ttl
    session.add(
        BookingToken(
            token_hash=token_hash(token),
            tenant_id=booking.tenant_id,
            booking_ref=booking.ref,
            created_at=now,
            expires_at=expires_at,
        )
    )
    record_audit(
        session,
        at=now,
        tenant_id=booking.tenant_id,
        actor=principal.actor,
        action="booking_token.create",
        entity="booking",
        entity_id=booking.ref,
        after={"expires_at": expires_at.isoformat()},
    )
    await session.commit()
    return token, expires_at
