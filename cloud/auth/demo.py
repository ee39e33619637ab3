"""Demo users: one per role in the demo tenant, all with one generated password (demo only)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.audit.services import record_audit
from cloud.auth.model import Role
from cloud.auth.passwords import Passwords
from cloud.auth.tables import User
from cloud.clock import Clock, SystemClock
from cloud.edgelink.staff import publish_user
from cloud.ids import new_id

DEMO_ACTOR = "system:seed"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A demo user's login, password and role (for the demo's printout and .gatehouse/demo.json)."""

    login: str
    password: str
    role: str
    display_name: str
    # The stores this login works at (its panel sign-in), for store roles.
    store_ids: tuple[str, ...] = ()


# (login, display name, role, scope): "region" -> the demo region, "store" -> the first demo store.
DEMO_USERS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("hq@demo", "HQ Admin", Role.HQ_ADMIN, None),
    ("region@demo", "Region Manager", Role.REGION_MANAGER, "region"),
    ("manager@demo", "Store Manager (Store A)", Role.STORE_MANAGER, "store"),
    ("staff@demo", "Front Desk (Store A)", Role.STAFF, "store"),
    ("cleaner@demo", "Cleaner (Store A)", Role.CLEANER, "store"),
    ("maintainer@demo", "Maintainer", Role.MAINTAINER, "region"),
    ("account@demo", "Account Manager", Role.ACCOUNT_MANAGER, None),
    ("finance@demo", "Finance", Role.FINANCE, None),
)


def store_desk(index: int) -> tuple[str, str]:
    """The front-desk login and display name of the demo's further stores (index 1: Store B, ...)."""
    letter = chr(ord("A") + index)
    return f"staff-{letter.lower()}@demo", f"Front Desk (Store {letter})"


def demo_password() -> str:
    """A fresh random demo password (readable, 16 characters)."""
    return "demo-" + secrets.token_urlsafe(8)


async def seed_demo_users(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    tenant_id: str,
    region_id: str,
    store_id: str,
    other_store_ids: Sequence[str] = (),
    password: str | None = None,
    clock: Clock | None = None,
    passwords: Passwords | None = None,
) -> tuple[DemoLogin, ...]:
    """Create (or reset, by login) one demo user per role; every one gets `password` (generated if None).

    Each store of `other_store_ids` gets a front desk of its own (`staff-b@demo`, ...), so every
    demo store's panel has a staff login. Idempotent: a rerun keeps the users and sets their
    password to the given one, so the logins written to .gatehouse/demo.json always work.
    """
    clock = clock if clock is not None else SystemClock()
    passwords = passwords if passwords is not None else Passwords()
    secret = password if password is not None else demo_password()
    hashed = await passwords.hash(secret)
    now = clock.now()
    logins: list[DemoLogin] = []
    async with sessionmaker() as session:
        people = [
            (
                login,
                name,
                role,
                [region_id] if scope == "region" else [],
                [store_id] if scope == "store" else [],
            )
            for login, name, role, scope in DEMO_USERS
        ]
        people += [
            (*store_desk(index), Role.STAFF, [], [other])
            for index, other in enumerate(other_store_ids, start=1)
        ]
        for login, name, role, region_ids, store_ids in people:
            user = await session.scalar(select(User).where(User.login == login))
            if user is None:
                user = User(
                    id=new_id("u"),
                    tenant_id=tenant_id,
                    login=login,
                    display_name=name,
                    role=role.value,
                    region_ids=region_ids,
                    store_ids=store_ids,
                    password_hash=hashed,
                    active=True,
                    failed_attempts=0,
                    locked_until=None,
                    created_at=now,
                    updated_at=now,
                )
                session.add(user)
                record_audit(
                    session,
                    at=now,
                    tenant_id=tenant_id,
                    actor=DEMO_ACTOR,
                    action="user.create",
                    entity="user",
                    entity_id=user.id,
                    after={"login": login, "role": role.value},
                )
            else:
                user.password_hash, user.failed_attempts, user.locked_until = hashed, 0, None
                user.active, user.updated_at = True, now
            await publish_user(session, user)
            logins.append(
                DemoLogin(
                    login=login,
                    password=secret,
                    role=role.value,
                    display_name=name,
                    store_ids=tuple(store_ids),
                )
            )
        await session.commit()
    return tuple(logins)
