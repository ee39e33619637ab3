"""Signing an HTTP client in to a panel's JSON API (for scripts, benchmarks and tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import Any, Self

import httpx

CSRF_HEADER = "X-CSRF-Token"
# Sign in, send, sign in again (a restart), send: then give up.
MAX_TRIES = 4


async def live_updates(http: httpx.AsyncClient, view: str) -> AsyncGenerator[str, None]:
    """The HTML of each `update` event of a live view (`/events?view=...`) of a signed-in client."""
    async with http.stream("GET", "/events", params={"view": view}, timeout=None) as response:
        response.raise_for_status()
        event, data = "", []
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line == "" and event:
                if event == "update":
                    yield "\n".join(data)
                event, data = "", []


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


async def has_store_data(http: httpx.AsyncClient, base_url: str = "") -> bool:
    """True once the panel's edge has the cloud's data (and so its staff): signing in can work."""
    health: dict[str, Any] = (await http.get(f"{base_url}/healthz")).json()
    return bool(health.get("store_data"))


class PanelClient:
    """A JSON client of one panel that signs in as needed: again after a restart (sessions live in memory).

    Concurrent requests share one session; a request refused because another re-signed in meanwhile
    is sent again rather than signing in once more.
    """

    def __init__(self, base_url: str, username: str, password: str, *, timeout: float = 5.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._username = username
        self._password = password
        self._lock = asyncio.Lock()
        self._generation = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _sign_in(self, seen: int) -> None:
        async with self._lock:
            if self._generation == seen:
                await sign_in(self._http, self._username, self._password)
                self._generation += 1

    async def request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """Send a request with the session, signing in first or again when the panel asks for it."""
        response: httpx.Response | None = None
        for _ in range(MAX_TRIES):
            generation = self._generation
            if generation == 0:
                await self._sign_in(0)
                continue
            response = await self._http.request(method, path, json=json)
            if response.status_code == 401 or (
                response.status_code == 403 and response.json().get("code") == "csrf_failed"
            ):
                await self._sign_in(generation)
                continue
            return response
        assert response is not None
        return response

    async def ready(self) -> bool:
        """True once the edge has its store data (staff included): before that, signing in would fail."""
        return await has_store_data(self._http)

    async def get(self, path: str) -> Any:
        """GET a JSON resource."""
        return (await self.request("GET", path)).json()

    async def post(self, path: str, body: Any = None) -> Any:
        """POST JSON and return the JSON answer."""
        return (await self.request("POST", path, json=body)).json()
