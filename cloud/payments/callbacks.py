"""Callback hygiene: single-use nonces, and the file of rejected callbacks HQ can look through.

The provider signs every delivery with a fresh nonce (see simulators/payments.py), so the same
notification delivered twice comes with two nonces and is applied once by the payment's state; a
nonce seen twice is a replay and is refused as `replayed`, whatever its body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud import metrics
from cloud.auth.model import Principal
from cloud.clock import Clock
from cloud.errors import DomainError
from cloud.ids import new_id
from cloud.payments import model
from cloud.payments.model import ReplayedCallback
from cloud.payments.tables import Payment, PaymentCallbackNonce, RejectedCallback
from cloud.uow import UnitOfWork

logger = logging.getLogger(__name__)


async def use_nonce(uow: UnitOfWork, clock: Clock, headers: Mapping[str, str], body: bytes) -> None:
    """Remember a verified callback's nonce (committed at once), or refuse it as replayed."""
    nonce, signed_at = model.signed_nonce(headers)
    digest = model.body_digest(body)
    session = uow.session
    session.add(
        PaymentCallbackNonce(
            nonce=nonce[:100],
            body_sha256=digest,
            signed_at=datetime.fromtimestamp(signed_at, UTC),
            received_at=clock.now(),
        )
    )
    try:
        await session.flush()
    except IntegrityError as err:
        await uow.rollback()
        first = await session.get(PaymentCallbackNonce, nonce[:100])
        same_body = first is not None and first.body_sha256 == digest
        await uow.rollback()
        error = ReplayedCallback("the callback's nonce was already used", field="nonce")
        error.extra = {"same_body": same_body}
        raise error from err
    await uow.commit()


async def file_rejected(
    uow: UnitOfWork, clock: Clock, error: DomainError, headers: Mapping[str, str], body: bytes
) -> None:
    """Keep a rejected callback (reason, truncated body, headers of interest) for HQ; commits."""
    await uow.rollback()
    session = uow.session
    payment_id = model.payment_id_of(body)
    tenant_id = None
    if payment_id is not None:
        payment = await session.get(Payment, payment_id)
        tenant_id = payment.tenant_id if payment is not None else None
    detail = error.detail or error.code
    if error.extra:
        detail = f"{detail} {error.extra}"
    session.add(
        RejectedCallback(
            id=new_id("rcb", 12),
            tenant_id=tenant_id,
            payment_id=payment_id,
            reason=error.code,
            detail=detail[:500],
            body=body[: model.REJECTED_BODY_CHARS].decode("utf-8", "replace"),
            headers=model.headers_of_interest(headers),
            received_at=clock.now(),
        )
    )
    await uow.commit()
    metrics.PAYMENT_CALLBACKS_REJECTED.labels(
        reason=error.code, tenant="known" if tenant_id is not None else "unknown"
    ).inc()
    logger.warning(
        "payment callback rejected",
        extra={"code": error.code, "payment_id": payment_id, "tenant_id": tenant_id},
    )


async def rejected_callbacks(
    session: AsyncSession, principal: Principal, *, reason: str | None = None, limit: int = 200
) -> list[RejectedCallback]:
    """The rejected callbacks naming one of the caller's tenant's payments, newest first."""
    query = select(RejectedCallback).where(RejectedCallback.tenant_id == principal.tenant_id)
    if reason:
        query = query.where(RejectedCallback.reason == reason)
    query = query.order_by(RejectedCallback.received_at.desc(), RejectedCallback.id).limit(
        max(1, min(limit, 1000))
    )
    return list(await session.scalars(query))
