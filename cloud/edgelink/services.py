"""Edge services: bootstrap tokens, enrolment, revocation, link bookkeeping and read views."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record_audit
from cloud.auth.model import Principal, in_reach
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.edgelink import model
from cloud.edgelink.ca import EdgeCA
from cloud.edgelink.tables import Edge, EdgeEvent, Redemption
from cloud.errors import Conflict, NotFound, Unauthenticated
from cloud.ids import new_id, new_secret_token, token_hash
from cloud.storekeys import keyring
from cloud.tenancy.services import get_store
from cloud.uow import UnitOfWork

logger = logging.getLogger(__name__)

BOOTSTRAP_PREFIX = "ghb"


@dataclass(frozen=True, slots=True)
class EnrolResult:
    """What an enrolled edge receives."""

    edge_id: str
    store_id: str
    certificate_pem: bytes
    ca_pem: bytes
    store_keys: dict[int, bytes]


class EnrolRefused(Unauthenticated):
    """A bootstrap token that cannot enrol (unknown, used, expired, revoked)."""

    code = "enrolment_refused"


def edge_view(edge: Edge) -> dict[str, Any]:
    """The audit view of an edge."""
    return {
        "id": edge.id,
        "store_id": edge.store_id,
        "enrolled_at": edge.enrolled_at.isoformat() if edge.enrolled_at else None,
        "revoked_at": edge.revoked_at.isoformat() if edge.revoked_at else None,
        "cert_serial": edge.cert_serial,
    }


async def create_edge(uow: UnitOfWork, clock: Clock, principal: Principal, store_id: str) -> tuple[Edge, str]:
    """Register a new edge for one of the caller's stores; return it with its one-time bootstrap token."""
    session = uow.session
    store = await get_store(session, principal, store_id)
    token = new_secret_token(BOOTSTRAP_PREFIX)
    now = clock.now()
    edge = Edge(
        id=new_id("e"),
        tenant_id=principal.tenant_id,
        store_id=store.id,
        token_hash=token_hash(token),
        token_expires_at=now + model.TOKEN_LIFETIME,
        created_at=now,
        connected=False,
        software_version="",
    )
    session.add(edge)
    record_audit(
        session,
        at=now,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="edge.create",
        entity="edge",
        entity_id=edge.id,
        after=edge_view(edge),
    )
    await uow.commit()
    return edge, token


async def list_edges(session: AsyncSession, principal: Principal, store_id: str) -> list[Edge]:
    """The edges of one of the caller's stores."""
    store = await get_store(session, principal, store_id)
    return list(
        await session.scalars(select(Edge).where(Edge.store_id == store.id).order_by(Edge.created_at))
    )


async def get_edge(session: AsyncSession, principal: Principal, edge_id: str) -> Edge:
    """The caller's edge (NotFound for another tenant's)."""
    edge = await session.get(Edge, edge_id)
    if edge is None or not in_reach(principal, edge.tenant_id, store_id=edge.store_id):
        raise NotFound(f"no edge {edge_id}", code="edge_not_found", field="edge_id")
    return edge


async def revoke_edge(uow: UnitOfWork, clock: Clock, principal: Principal, edge_id: str) -> Edge:
    """Revoke an edge: it can no longer connect (the caller also closes its live stream)."""
    edge = await get_edge(uow.session, principal, edge_id)
    if edge.revoked_at is not None:
        return edge
    before = edge_view(edge)
    edge.revoked_at = clock.now()
    edge.token_hash = None
    record_audit(
        uow.session,
        at=clock.now(),
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="edge.revoke",
        entity="edge",
        entity_id=edge.id,
        before=before,
        after=edge_view(edge),
    )
    await uow.commit()
    return edge


async def enrol(
    session: AsyncSession,
    clock: Clock,
    cipher: FieldCipher,
    ca: EdgeCA,
    *,
    bootstrap_token: str,
    csr_pem: bytes,
    software_version: str,
) -> EnrolResult:
    """Exchange a one-time bootstrap token and a CSR for a certificate and the store keys (commits)."""
    now = clock.now()
    edge = await session.scalar(select(Edge).where(Edge.token_hash == token_hash(bootstrap_token)))
    if edge is None:
        raise EnrolRefused("unknown bootstrap token", code=model.TokenRefusal.UNKNOWN.value)
    refusal = model.check_bootstrap(
        expires_at=edge.token_expires_at, enrolled_at=edge.enrolled_at, revoked_at=edge.revoked_at, now=now
    )
    if refusal is not None:
        raise EnrolRefused(f"bootstrap token refused: {refusal.value}", code=refusal.value)
    issued = ca.sign_csr(csr_pem, edge.id, now)
    # One use, even under a race: only the update that still finds enrolled_at NULL wins.
    result = await session.execute(
        update(Edge)
        .where(Edge.id == edge.id, Edge.enrolled_at.is_(None))
        .values(enrolled_at=now, cert_serial=issued.serial, software_version=software_version[:100])
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise EnrolRefused("bootstrap token already used", code=model.TokenRefusal.USED.value)
    keys = await keyring.load_keys(session, cipher, edge.store_id)
    record_audit(
        session,
        at=now,
        tenant_id=edge.tenant_id,
        actor=f"edge:{edge.id}",
        action="edge.enrol",
        entity="edge",
        entity_id=edge.id,
        after={"cert_serial": issued.serial, "software_version": software_version},
    )
    await session.commit()
    logger.info("edge enrolled", extra={"edge_id": edge.id, "store_id": edge.store_id})
    return EnrolResult(edge.id, edge.store_id, issued.pem, ca.ca_pem, keys)


class LinkRefused(Conflict):
    """An edge that may not open a stream (unknown, not enrolled, revoked, wrong certificate)."""

    code = "link_refused"


async def check_link(session: AsyncSession, edge_id: str, cert_serial: str | None) -> Edge:
    """The edge behind a client certificate, if it may connect now."""
    edge = await session.get(Edge, edge_id)
    if edge is None:
        raise LinkRefused(f"unknown edge {edge_id}", code="unknown_edge")
    if edge.revoked_at is not None:
        raise LinkRefused(f"edge {edge_id} is revoked", code="edge_revoked")
    if edge.enrolled_at is None:
        raise LinkRefused(f"edge {edge_id} is not enrolled", code="not_enrolled")
    if cert_serial is not None and edge.cert_serial is not None and cert_serial != edge.cert_serial:
        raise LinkRefused("certificate superseded", code="certificate_superseded")
    return edge


async def is_revoked(session: AsyncSession, edge_id: str) -> bool:
    """True once the edge is revoked (or gone)."""
    revoked = await session.execute(select(Edge.revoked_at).where(Edge.id == edge_id))
    row = revoked.first()
    return row is None or row[0] is not None


async def mark_link(
    session: AsyncSession, clock: Clock, edge_id: str, *, connected: bool, software_version: str | None = None
) -> None:
    """Record that an edge's stream opened or closed (commits)."""
    values: dict[str, Any] = {"connected": connected, "last_seen_at": clock.now()}
    if software_version:
        values["software_version"] = software_version[:100]
    await session.execute(
        update(Edge).where(Edge.id == edge_id).values(**values).execution_options(synchronize_session=False)
    )
    await session.commit()


async def list_events(
    session: AsyncSession, principal: Principal, store_id: str, limit: int
) -> list[EdgeEvent]:
    """A store's latest ingested events, newest first."""
    store = await get_store(session, principal, store_id)
    rows = await session.scalars(
        select(EdgeEvent).where(EdgeEvent.store_id == store.id).order_by(EdgeEvent.id.desc()).limit(limit)
    )
    return list(rows)


async def list_redemptions(
    session: AsyncSession, principal: Principal, store_id: str, limit: int
) -> list[Redemption]:
    """A store's latest redemptions, newest first."""
    store = await get_store(session, principal, store_id)
    rows = await session.scalars(
        select(Redemption).where(Redemption.store_id == store.id).order_by(Redemption.id.desc()).limit(limit)
    )
    return list(rows)
