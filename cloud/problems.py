"""JSON problem responses: every domain error maps to an HTTP status in one exception handler."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
    Unavailable,
)

logger = logging.getLogger(__name__)

PROBLEM_TYPE = "https://gatehouse.example/problems/"
MEDIA_TYPE = "application/problem+json"

# The one place where domain errors become HTTP statuses (most specific class first in the MRO walk).
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    Unavailable: 504,
    DomainError: 400,
}


def status_for(error: DomainError) -> int:
    """The HTTP status of a domain error."""
    for klass in type(error).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 400


def problem(
    status: int, code: str, title: str, detail: str = "", field: str | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response with the fixed members and any extras."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "field": field,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = status_for(exc)
    title = exc.code.replace("_", " ").capitalize()
    return problem(status, exc.code, title, exc.detail or exc.code, exc.field, **exc.extra)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    return problem(
        422,
        "invalid_request",
        "Invalid request",
        str(first.get("msg", "invalid request")),
        ".".join(loc) or None,
        errors=[{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors],
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, "HTTP error", str(exc.detail))


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn errors into problem responses."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
