"""Pure model of API authentication: who is calling, on behalf of which tenant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of an API request: its tenant and a name for the audit log."""

    tenant_id: str
    actor: str


SYSTEM_ACTOR = "system"


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
