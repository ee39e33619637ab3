"""The cloud's HTTP API as the provisioning tools use it (httpx, bearer token); the only way they reach it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from provisioning.errors import ApiError, CloudUnreachable, NotFoundError

logger = logging.getLogger(__name__)

API = "/api/v1"
DEFAULT_TIMEOUT_S = 30.0
Json = dict[str, Any]


class CloudApi:
    """`async with CloudApi(url, token) as api:`; every error becomes ApiError or CloudUnreachable, once."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        """One API call; the decoded JSON answer (None for 204)."""
        try:
            response = await self._client.request(method, API + path, json=json, params=params)
        except httpx.TimeoutException as err:
            raise CloudUnreachable(f"{method} {self.base_url}{API}{path}: no answer in time") from err
        except httpx.HTTPError as err:
            raise CloudUnreachable(f"cannot reach the cloud at {self.base_url}: {err}") from err
        logger.debug("api call", extra={"method": method, "path": path, "status": response.status_code})
        if response.status_code >= 400:
            raise _api_error(response, method, path)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as err:
            raise ApiError(
                response.status_code, "bad_response", "the answer is not JSON", method=method, path=path
            ) from err

    # ---- tenancy

    async def list_regions(self) -> list[Json]:
        """The tenant's regions."""
        result: list[Json] = await self.request("GET", "/regions")
        return result

    async def create_region(self, name: str) -> Json:
        """Create a region."""
        result: Json = await self.request("POST", "/regions", json={"name": name})
        return result

    async def list_stores(self) -> list[Json]:
        """The tenant's stores."""
        result: list[Json] = await self.request("GET", "/stores")
        return result

    async def create_store(self, body: Mapping[str, Any]) -> Json:
        """Create a store."""
        result: Json = await self.request("POST", "/stores", json=dict(body))
        return result

    async def update_store(self, store_id: str, body: Mapping[str, Any]) -> Json:
        """Change a store's fields."""
        result: Json = await self.request("PATCH", f"/stores/{store_id}", json=dict(body))
        return result

    async def find_store(self, ref: str) -> Json:
        """A store by id or by name (NotFoundError naming the stores there are)."""
        stores = await self.list_stores()
        for store in stores:
            if ref in (store["id"], store["name"]):
                return store
        names = ", ".join(f"{s['name']} ({s['id']})" for s in stores) or "none"
        raise NotFoundError(f"no store {ref!r} (stores: {names})")

    async def list_rooms(self, store_id: str) -> list[Json]:
        """A store's rooms."""
        result: list[Json] = await self.request("GET", "/rooms", params={"store_id": store_id})
        return result

    async def room_codes(self, store_id: str) -> list[Json]:
        """A store's room QRs as the cloud seals them: [{room_id, name, code, key_version}]."""
        result: list[Json] = await self.request("GET", f"/stores/{store_id}/room-codes")
        return result

    async def create_room(self, body: Mapping[str, Any]) -> Json:
        """Create a room."""
        result: Json = await self.request("POST", "/rooms", json=dict(body))
        return result

    async def update_room(self, room_id: str, body: Mapping[str, Any]) -> Json:
        """Change a room's fields."""
        result: Json = await self.request("PATCH", f"/rooms/{room_id}", json=dict(body))
        return result

    async def delete_room(self, room_id: str) -> None:
        """Delete a room (and its devices)."""
        await self.request("DELETE", f"/rooms/{room_id}")

    # ---- devices

    async def list_devices(self, store_id: str) -> list[Json]:
        """A store's devices."""
        result: list[Json] = await self.request("GET", "/devices", params={"store_id": store_id})
        return result

    async def create_device(self, body: Mapping[str, Any]) -> Json:
        """Register a device."""
        result: Json = await self.request("POST", "/devices", json=dict(body))
        return result

    async def update_device(self, device_id: str, body: Mapping[str, Any]) -> Json:
        """Change a device in place (room_id, kind, protocol, config, zone)."""
        result: Json = await self.request("PATCH", f"/devices/{device_id}", json=dict(body))
        return result

    async def delete_device(self, device_id: str) -> None:
        """Remove a device."""
        await self.request("DELETE", f"/devices/{device_id}")

    # ---- booking settings

    async def store_settings(self, store_id: str) -> Json:
        """What a store's booking settings override."""
        result: Json = await self.request("GET", f"/booking-settings/stores/{store_id}")
        return result

    async def put_store_settings(self, store_id: str, values: Mapping[str, Any]) -> Json:
        """Replace what a store's booking settings override."""
        result: Json = await self.request(
            "PUT", f"/booking-settings/stores/{store_id}", json={"values": dict(values)}
        )
        return result

    async def setting_keys(self) -> frozenset[str]:
        """The names of every booking setting the cloud knows."""
        result: Json = await self.request("GET", "/booking-settings/effective")
        return frozenset(result.get("settings", {}))

    # ---- edges

    async def create_edge(self, store_id: str) -> Json:
        """Register an edge for a store: its one-time bootstrap token and the CA to trust."""
        result: Json = await self.request("POST", f"/stores/{store_id}/edges")
        return result

    async def list_edges(self, store_id: str) -> list[Json]:
        """A store's edges."""
        result: list[Json] = await self.request("GET", f"/stores/{store_id}/edges")
        return result

    async def revoke_edge(self, edge_id: str) -> Json:
        """Revoke an edge (its live link is closed at once)."""
        result: Json = await self.request("POST", f"/edges/{edge_id}/revoke")
        return result


def _api_error(response: httpx.Response, method: str, path: str) -> ApiError:
    """The cloud's problem+json answer as an ApiError."""
    code, detail, field = "http_error", response.text[:300], None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("code") or code)
        detail = str(body.get("detail") or body.get("title") or detail)
        raw_field = body.get("field")
        field = str(raw_field) if raw_field else None
    if response.status_code == 401:
        detail = f"the cloud refused the API token ({detail})"
    return ApiError(response.status_code, code, detail, field=field, method=method, path=API + path)
