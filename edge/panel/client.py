"""Signing an HTTP client in to a panel's JSON API (for scripts, benchmarks and tests)."""

from __future__ import annotations

from typing import Any

import httpx

CSRF_HEADER = "X-CSRF-Token"


class PanelSignInFailed(Exception):
    """The panel refused the sign-in; `code` is its stable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def sign_in(http: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    """Sign in: the client's cookie jar keeps the session, its headers the anti-forgery token."""
    response = await http.post("/api/login", json={"username": username, "password": password})
    body: dict[str, Any] = response.json()
    if response.status_code != 200:
        raise PanelSignInFailed(str(body.get("code", "refused")), str(body.get("detail", response.text)))
    http.headers[CSRF_HEADER] = body["csrf_token"]
    return body
