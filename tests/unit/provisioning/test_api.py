"""The API client turns the cloud's problem answers and transport failures into our errors, once."""

from __future__ import annotations

import httpx
import pytest

from provisioning.api import CloudApi
from provisioning.errors import ApiError, CloudUnreachable, NotFoundError


def _cloud(request: httpx.Request) -> httpx.Response:
    """An in-memory cloud answering like the real one's problem handler."""
    if request.headers.get("Authorization") != "Bearer good":
        return httpx.Response(401, json={"code": "unauthenticated", "detail": "bad token", "field": None})
    if request.url.path == "/api/v1/stores":
        return httpx.Response(200, json=[{"id": "s-1", "name": "Store One"}])
    if request.url.path == "/api/v1/rooms" and request.method == "POST":
        return httpx.Response(409, json={"code": "room_exists", "detail": "room 'A' exists", "field": "name"})
    if request.url.path == "/api/v1/rooms/rm-1":
        return httpx.Response(204)
    return httpx.Response(502, text="<html>bad gateway</html>")


async def test_a_problem_answer_becomes_an_api_error_with_its_code_and_field() -> None:
    async with CloudApi("http://cloud", "good", transport=httpx.MockTransport(_cloud)) as api:
        with pytest.raises(ApiError) as caught:
            await api.create_room({"name": "A"})
        assert (caught.value.status, caught.value.code, caught.value.field) == (409, "room_exists", "name")
        assert caught.value.message == "POST /api/v1/rooms: 409 room_exists: room 'A' exists"
        assert await api.delete_room("rm-1") is None
        with pytest.raises(ApiError) as caught:
            await api.list_regions()
        assert (caught.value.status, caught.value.code) == (502, "http_error")


async def test_a_refused_token_says_so() -> None:
    async with CloudApi("http://cloud", "wrong", transport=httpx.MockTransport(_cloud)) as api:
        with pytest.raises(ApiError) as caught:
            await api.list_stores()
    assert caught.value.status == 401 and "refused the API token" in caught.value.detail


async def test_stores_are_found_by_id_or_name() -> None:
    async with CloudApi("http://cloud/", "good", transport=httpx.MockTransport(_cloud)) as api:
        assert (await api.find_store("s-1"))["name"] == "Store One"
        assert (await api.find_store("Store One"))["id"] == "s-1"
        with pytest.raises(NotFoundError) as caught:
            await api.find_store("Store Two")
    assert caught.value.message == "no store 'Store Two' (stores: Store One (s-1))"


async def test_an_unreachable_cloud_is_one_clear_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with CloudApi("http://127.0.0.1:9", "good", transport=httpx.MockTransport(refuse)) as api:
        with pytest.raises(CloudUnreachable) as caught:
            await api.list_stores()
    assert caught.value.message == "cannot reach the cloud at http://127.0.0.1:9: connection refused"
