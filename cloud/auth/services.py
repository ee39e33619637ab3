"""API tokens: create a tenant with its first token, resolve a bearer token to its tenant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import SYSTEM_ACTOR, Principal
from cloud.auth.tables import ApiToken
from cloud.clock import Clock, SystemClock
from cloud.errors import Conflict, Unauthenticated
from cloud.ids import new_id, new_secret_token, token_hash
from cloud.tenancy.model import clean_name
from cloud.tenancy.tables import Tenant

TOKEN_PREFIX = "gh"


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


async def resolve_token(session: AsyncSession, token: str | None) -> Principal:
    """The principal a bearer token stands for; Unauthenticated when absent or unknown."""
    if not token:
        raise Unauthenticated("a bearer token is required", code="unauthenticated")
    row = await session.get(ApiToken, token_hash(token))
    if row is None:
        raise Unauthenticated("unknown bearer token", code="unauthenticated")
    return Principal(tenant_id=row.tenant_id, actor=f"token:{row.name}")
