"""Users: create, list, change (HQ admin: any; region manager: their stores' staff), own password."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth import model
from cloud.auth.model import Principal, PrincipalKind, Role
from cloud.auth.passwords import Passwords
from cloud.auth.services import end_sessions
from cloud.auth.tables import User
from cloud.clock import Clock
from cloud.edgelink.staff import publish_user
from cloud.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from cloud.ids import new_id
from cloud.tenancy.tables import Region, Store

MAX_LOGIN_LENGTH = 200


def clean_login(login: str) -> str:
    """A login as stored: trimmed, lower-case, 3..200 characters, no spaces."""
    value = login.strip().lower()
    if not 3 <= len(value) <= MAX_LOGIN_LENGTH or any(c.isspace() for c in value):
        raise Invalid("a login has 3..200 characters and no spaces", code="invalid_login", field="login")
    return value


def _check_password(password: str, field: str = "password") -> None:
    problem = model.password_problem(password)
    if problem is not None:
        raise Invalid(problem, code="weak_password", field=field)


def snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user (never the password hash)."""
    return {
        "login": user.login,
        "display_name": user.display_name,
        "role": user.role,
        "region_ids": sorted(user.region_ids or ()),
        "store_ids": sorted(user.store_ids or ()),
        "active": user.active,
    }


async def _check_scope_ids(
    session: AsyncSession, tenant_id: str, region_ids: frozenset[str], store_ids: frozenset[str]
) -> None:
    """Every region and store named belongs to the tenant."""
    if region_ids:
        found = set(
            await session.scalars(
                select(Region.id).where(Region.tenant_id == tenant_id, Region.id.in_(region_ids))
            )
        )
        if found != region_ids:
            raise Invalid("unknown region", code="region_not_found", field="region_ids")
    if store_ids:
        found = set(
            await session.scalars(
                select(Store.id).where(Store.tenant_id == tenant_id, Store.id.in_(store_ids))
            )
        )
        if found != store_ids:
            raise Invalid("unknown store", code="store_not_found", field="store_ids")


def _check_fit(role: Role, region_ids: frozenset[str], store_ids: frozenset[str]) -> None:
    error = model.user_scope_error(role, region_ids, store_ids)
    if error is not None:
        raise Invalid(error, code="invalid_user_scope", field="role")


def _user_scope(user: User) -> tuple[Role, frozenset[str], frozenset[str]]:
    return Role(user.role), frozenset(user.region_ids or ()), frozenset(user.store_ids or ())


async def create_user(
    session: AsyncSession,
    clock: Clock,
    passwords: Passwords,
    principal: Principal,
    *,
    login: str,
    display_name: str,
    role: Role,
    password: str,
    region_ids: Iterable[str] = (),
    store_ids: Iterable[str] = (),
) -> User:
    """Create a user of the caller's tenant (commits); the password is stored as an argon2 hash."""
    regions, stores = frozenset(region_ids), frozenset(store_ids)
    login = clean_login(login)
    _check_fit(role, regions, stores)
    if not model.can_manage_user(principal, role, regions, stores):
        raise Forbidden("you may not create this user", code="forbidden")
    _check_password(password)
    await _check_scope_ids(session, principal.tenant_id, regions, stores)
    if await session.scalar(select(User.id).where(User.login == login)) is not None:
        raise Conflict(f"login {login!r} is taken", code="login_taken", field="login")
    now = clock.now()
    user = User(
        id=new_id("u"),
        tenant_id=principal.tenant_id,
        login=login,
        display_name=display_name.strip() or login,
        role=role.value,
        region_ids=sorted(regions),
        store_ids=sorted(stores),
        password_hash=await passwords.hash(password),
        active=True,
        failed_attempts=0,
        locked_until=None,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await publish_user(session, user)
    record_audit(
        session,
        at=now,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        after=snapshot(user),
    )
    await session.commit()
    return user


async def list_users(session: AsyncSession, principal: Principal) -> list[User]:
    """The users the caller may see, by login."""
    if not model.permits(principal, model.Action.USERS_READ):
        raise Forbidden("you may not list users", code="forbidden")
    rows = await session.scalars(
        select(User).where(User.tenant_id == principal.tenant_id).order_by(User.login)
    )
    return [u for u in rows if model.can_see_user(principal, *_user_scope(u))]


async def get_user(session: AsyncSession, principal: Principal, user_id: str) -> User:
    """A user the caller may see (NotFound otherwise)."""
    user = await session.get(User, user_id)
    if (
        user is None
        or user.tenant_id != principal.tenant_id
        or not model.can_see_user(principal, *_user_scope(user))
    ):
        raise NotFound(f"no user {user_id}", code="user_not_found", field="user_id")
    return user


@dataclass(frozen=True, slots=True)
class UserChanges:
    """What an update changes (None: unchanged)."""

    display_name: str | None = None
    role: Role | None = None
    region_ids: frozenset[str] | None = None
    store_ids: frozenset[str] | None = None
    active: bool | None = None
    password: str | None = None  # an administrator's reset
    unlock: bool = False


async def update_user(
    session: AsyncSession,
    clock: Clock,
    passwords: Passwords,
    principal: Principal,
    user_id: str,
    changes: UserChanges,
) -> User:
    """Change a user (commits): the caller must be allowed to manage it both before and after."""
    user = await get_user(session, principal, user_id)
    if not model.can_manage_user(principal, *_user_scope(user)):
        raise Forbidden("you may not change this user", code="forbidden")
    role = changes.role if changes.role is not None else Role(user.role)
    regions = changes.region_ids if changes.region_ids is not None else frozenset(user.region_ids or ())
    stores = changes.store_ids if changes.store_ids is not None else frozenset(user.store_ids or ())
    _check_fit(role, regions, stores)
    if not model.can_manage_user(principal, role, regions, stores):
        raise Forbidden("you may not give this role or scope", code="forbidden")
    await _check_scope_ids(session, principal.tenant_id, regions, stores)
    before = snapshot(user)
    if changes.display_name is not None:
        user.display_name = changes.display_name.strip() or user.login
    user.role, user.region_ids, user.store_ids = role.value, sorted(regions), sorted(stores)
    revoke = False
    if changes.active is not None:
        revoke = user.active and not changes.active
        user.active = changes.active
    if changes.password is not None:
        _check_password(changes.password)
        user.password_hash = await passwords.hash(changes.password)
        revoke = True
    if changes.unlock or changes.password is not None:
        user.failed_attempts, user.locked_until = 0, None
    if revoke:
        await end_sessions(session, user.id)
    user.updated_at = clock.now()
    after = snapshot(user)
    if changes.password is not None:
        after["password"] = "reset"
    await publish_user(session, user)
    record_audit(
        session,
        at=user.updated_at,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="user.update",
        entity="user",
        entity_id=user.id,
        before=before,
        after=after,
    )
    await session.commit()
    return user


async def change_own_password(
    session: AsyncSession,
    clock: Clock,
    passwords: Passwords,
    principal: Principal,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
) -> None:
    """A user changes their own password (commits); their other sessions end."""
    if principal.kind is not PrincipalKind.USER or principal.user_id is None:
        raise Forbidden("only a user signed in may change their password", code="forbidden")
    user = await session.get(User, principal.user_id)
    if user is None:
        raise Unauthenticated("the user is gone", code="unauthenticated")
    if not await passwords.verify(user.password_hash, current):
        raise Invalid("the current password is wrong", code="wrong_password", field="current_password")
    _check_password(new, "new_password")
    user.password_hash = await passwords.hash(new)
    user.updated_at = clock.now()
    await end_sessions(session, user.id, keep=keep_session)
    await publish_user(session, user)
    record_audit(
        session,
        at=user.updated_at,
        tenant_id=user.tenant_id,
        actor=principal.actor,
        action="user.password_change",
        entity="user",
        entity_id=user.id,
    )
    await session.commit()
