"""The store-scope helpers the services' queries use: SQL filters and lookups by the principal's reach."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from cloud.auth.model import Principal, PrincipalKind
from cloud.tenancy.tables import Store


def store_filter(principal: Principal, store_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """A WHERE clause keeping rows of the stores the principal reaches (tenant checked by the caller)."""
    if principal.tenant_wide:
        return true()
    if principal.kind is PrincipalKind.CUSTOMER or not principal.store_ids:
        return false()
    return store_id.in_(sorted(principal.store_ids))


def region_filter(principal: Principal, region_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """A WHERE clause keeping the regions the principal reaches: its own and those of its stores."""
    if principal.tenant_wide:
        return true()
    if principal.kind is PrincipalKind.CUSTOMER:
        return false()
    clauses: list[ColumnElement[bool]] = []
    if principal.region_ids:
        clauses.append(region_id.in_(sorted(principal.region_ids)))
    if principal.store_ids:
        clauses.append(
            region_id.in_(select(Store.region_id).where(Store.id.in_(sorted(principal.store_ids))))
        )
    return or_(*clauses) if clauses else false()
