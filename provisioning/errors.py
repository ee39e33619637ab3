"""Errors of the provisioning tools; each carries a stable `code`."""

from __future__ import annotations


class ProvisionError(Exception):
    """Base of every provisioning failure."""

    code = "provision_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message


class NoCloud(ProvisionError):
    """No cloud URL or token was given (and no demo file to read them from)."""

    code = "no_cloud"


class CloudUnreachable(ProvisionError):
    """The cloud's HTTP API could not be reached or did not answer in time."""

    code = "cloud_unreachable"


class ApiError(ProvisionError):
    """The cloud answered with an error (its problem `code`, `detail` and `field` kept)."""

    code = "api_error"

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        where = f"{method} {path}".strip()
        super().__init__(
            f"{where}: {status} {code}: {detail}" if where else f"{status} {code}: {detail}", code=code
        )
        self.status = status
        self.detail = detail
        self.field = field
        self.method = method
        self.path = path


class NotFoundError(ProvisionError):
    """A store, room or edge named on the command line does not exist (for this tenant)."""

    code = "not_found"
