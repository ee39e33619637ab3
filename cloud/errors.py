"""Domain errors shared by every cloud domain: each carries a stable `code` (pure, no HTTP here)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal a service makes; `code` is stable, `field` names the input at fault."""

    code = "domain_error"

    def __init__(self, detail: str = "", *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(detail or code or self.code)
        if code is not None:
            self.code = code
        self.detail = detail
        self.field = field
        # extra members of the problem response (e.g. the conflicting range of a taken slot)
        self.extra: dict[str, Any] = {}


class NotFound(DomainError):
    """The thing does not exist or belongs to another tenant (never tell which)."""

    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the current state (a taken slot, an illegal transition)."""

    code = "conflict"


class Invalid(DomainError):
    """The input breaks a rule that no state change can fix."""

    code = "invalid"


class Unauthenticated(DomainError):
    """No valid credentials were presented."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """The caller is known but its role may not do this."""

    code = "forbidden"


class Unavailable(DomainError):
    """A collaborator (an edge) could not answer in time."""

    code = "unavailable"
