"""What `make demo` prints: every app's URL and login whole, in a narrow terminal or a wide one."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gatehouse.demo import show

BASE = "http://127.0.0.1:8080"
INFO: dict[str, Any] = {
    "booking_pages": f"{BASE}/book/",
    "admin": f"{BASE}/admin/",
    "maint": f"{BASE}/maint/",
    "room_page": f"{BASE}/order/<store id>/<room id>",
    "payment_provider": "http://127.0.0.1:45421",
    "cloud": {
        "url": BASE,
        "docs": f"{BASE}/docs",
        "grpc_target": "127.0.0.1:50051",
        "enroll_target": "127.0.0.1:50052",
    },
    "api_token": "gh_token_that_is_rather_long_0123456789abcdefghijkl",
    "logins": [
        {"login": "hq@demo", "role": "hq_admin", "password": "demo-secret-password"},
        {"login": "region@demo", "role": "region_manager", "password": "demo-secret-password"},
        {"login": "maintainer@demo", "role": "maintainer", "password": "demo-secret-password"},
    ],
    "stores": [
        {
            "id": "s-vsjbik2tabcd",
            "name": "Demo Store A",
            "panel_url": "http://127.0.0.1:8081",
            "panel_login": "staff@demo",
            "mqtt_port": 18831,
            "rooms": [{"id": "rm-5xpd2n6dwxyz", "name": "Mahjong 1"}, {"id": "rm-2", "name": "KTV 1"}],
        }
    ],
}


@pytest.mark.parametrize("width", [60, 80, 200])
def test_every_url_and_login_is_printed_whole(width: int) -> None:
    out = io.StringIO()
    show(Console(file=out, width=width, color_system=None), INFO, Path(".gatehouse/demo.json"))
    text = out.getvalue()
    lines = text.splitlines()
    wanted = [
        INFO["booking_pages"],
        f"{BASE}/order/s-vsjbik2tabcd/rm-5xpd2n6dwxyz",
        "http://127.0.0.1:8081",
        INFO["admin"],
        INFO["maint"],
        INFO["api_token"],
        "staff@demo",
        "hq@demo, region@demo",
        "maintainer@demo",
        "demo-secret-password",
    ]
    for piece in wanted:
        assert any(piece in line for line in lines), f"{piece!r} is cut or missing at width {width}"
    assert "…" not in text
