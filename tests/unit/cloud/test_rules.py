"""Pure tenancy and device rules, bearer parsing, ids and the field cipher."""

from __future__ import annotations

import re

import pytest

from cloud.auth.model import bearer_token
from cloud.crypto import DecryptError, FieldCipher
from cloud.devices.model import DeviceInfo, check_device, check_device_id
from cloud.errors import Invalid
from cloud.ids import new_booking_ref, new_id, new_order_no, token_hash
from cloud.tenancy.model import check_early_grace, check_kind, check_timezone, clean_name
from protos import codes


def test_ids_are_short_slugs_usable_in_codes() -> None:
    store_id = new_id("s")
    assert re.fullmatch(r"s-[a-z2-7]{8}", store_id) and codes.valid_id(store_id)
    ref = new_booking_ref()
    assert re.fullmatch(r"B[A-Z2-7]{10}", ref) and codes.valid_id(ref)
    order_no = new_order_no()
    assert order_no.isdigit() and len(order_no) == 10 and order_no[0] != "0"
    assert len(token_hash("x")) == 64 and token_hash("x") == token_hash("x")


def test_tenancy_inputs_are_checked() -> None:
    assert clean_name("  Demo  ") == "Demo"
    assert check_timezone("Asia/Shanghai") == "Asia/Shanghai"
    assert check_early_grace(900) == 900
    assert check_kind("mahjong") == "mahjong"
    for call in (
        lambda: clean_name("   "),
        lambda: check_timezone("Nowhere/Land"),
        lambda: check_early_grace(-1),
        lambda: check_kind("Big Room"),
    ):
        with pytest.raises(Invalid):
            call()


def test_device_configs_need_their_protocol_keys() -> None:
    assert check_device("power", "modbus", {"host": "10.0.0.5", "port": "502", "unit": "2"})["unit"] == "2"
    assert check_device("lock", "mqtt", {}) == {}
    assert check_device("gate", "bacnet", {"anything": "goes"}) == {"anything": "goes"}
    with pytest.raises(Invalid) as missing:
        check_device("scanner", "tcp", {"host": "10.0.0.9"})
    assert missing.value.field == "config.port"
    with pytest.raises(Invalid):
        check_device("power", "modbus", {"host": "h", "port": "99999"})
    with pytest.raises(Invalid):
        check_device_id("bad id/with slash")


def test_a_store_wide_device_has_an_empty_room_in_its_payload() -> None:
    payload = DeviceInfo("sc-1", None, "scanner", "mqtt", {}).payload()
    assert payload["room_id"] == ""


def test_bearer_tokens_are_read_from_the_authorization_header() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


def test_field_encryption_is_bound_to_its_context() -> None:
    cipher = FieldCipher(bytes(32))
    blob = cipher.encrypt(b"13800001234", "phone:B1")
    assert cipher.decrypt(blob, "phone:B1") == b"13800001234"
    assert b"13800001234" not in blob
    with pytest.raises(DecryptError):
        cipher.decrypt(blob, "phone:B2")
    with pytest.raises(DecryptError):
        FieldCipher(bytes(range(32))).decrypt(blob, "phone:B1")
    with pytest.raises(ValueError):
        FieldCipher(b"short")
