"""`gatehouse demo --journey`: one customer, scripted, against the running demo chain."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
from rich.console import Console

from gatehouse.chain import draw_code, wait_until
from gatehouse.demo import DEMO_FILE

STEP_TIMEOUT_S = 15.0
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class JourneyFailed(Exception):
    """A step of the journey did not happen."""


async def _book_a_free_room(
    api: httpx.AsyncClient, store: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    refusals = []
    for room in store["rooms"]:
        response = await api.post(
            "/api/v1/bookings",
            json={
                "room_id": room["id"],
                "starts_at": start.isoformat(),
                "ends_at": end.isoformat(),
                "customer_name": "Journey Customer",
                "phone": "13800138000",
            },
        )
        if response.status_code == 201:
            return room, response.json()
        refusals.append(f"{room['name']}: {response.json().get('code', response.status_code)}")
    raise JourneyFailed("no room of the store is free now: " + "; ".join(refusals))


async def _scan_and_watch(mqtt_port: int, room: dict[str, Any], code: str) -> float:
    """Publish the code as the door scanner does and wait for the lock to report unlocked."""
    lock_topic = f"gh/dev/{room['lock']}/state"
    async with aiomqtt.Client(
        "127.0.0.1", mqtt_port, identifier=f"journey-{time.time_ns()}", socket_options=NODELAY
    ) as mqtt:
        await mqtt.subscribe(lock_topic, qos=1)
        started = time.perf_counter()
        await mqtt.publish(f"gh/dev/{room['scanner']}/scan", code.encode(), qos=1)
        async with asyncio.timeout(STEP_TIMEOUT_S):
            async for message in mqtt.messages:
                if not message.topic.matches(lock_topic) or message.retain:
                    continue
                state = json.loads(bytes(message.payload)).get("state")
                if state == "unlocked":
                    return (time.perf_counter() - started) * 1000
    raise JourneyFailed("the lock never reported unlocked")


async def _wait_for_status(api: httpx.AsyncClient, ref: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        booking: dict[str, Any] = (await api.get(f"/api/v1/bookings/{ref}")).json()
        return booking if booking.get("status") == status else None

    return await wait_until(probe, timeout=STEP_TIMEOUT_S, what=f"booking {ref} to be {status}")


async def journey(state_dir: Path, console: Console) -> None:
    """Book, draw the code, scan it at the door, see the door open and the redemption in the cloud."""
    info = json.loads((state_dir / DEMO_FILE).read_text())
    store = info["stores"][0]
    headers = {"Authorization": f"Bearer {info['api_token']}"}
    async with httpx.AsyncClient(base_url=info["cloud"]["url"], headers=headers, timeout=10.0) as api:
        console.print(f"1. [bold]Book[/] a room at {store['name']} for the next hour")
        room, booking = await _book_a_free_room(api, store)
        console.print(f"   booked {room['name']}: order {booking['order_no']}, ref {booking['ref']}")

        console.print("2. [bold]Get the code[/]: the phone draws it from the booking key, no network needed")
        code = draw_code(booking, time.time())
        console.print(f"   {code}")

        console.print(f"3. [bold]Scan it at the door[/] of {room['name']} (MQTT scanner {room['scanner']})")
        elapsed = await _scan_and_watch(store["mqtt_port"], room, code)
        console.print(
            f"4. [bold green]The door opened[/]: lock {room['lock']} reported unlocked after {elapsed:.1f} ms"
        )

        redeemed = await _wait_for_status(api, booking["ref"], "redeemed")
        console.print(
            f"5. [bold]The cloud has the redemption[/]: booking {redeemed['ref']} is {redeemed['status']}"
        )
        redemptions = (await api.get(f"/api/v1/stores/{store['id']}/redemptions")).json()
        mine = [r for r in redemptions if r.get("booking_ref") == booking["ref"]]
        console.print(f"   redemptions recorded for this booking: {len(mine)}")

        console.print("6. [bold]Scan again[/] during the session: the door re-opens, no second redemption")
        elapsed = await _scan_and_watch(store["mqtt_port"], room, draw_code(booking, time.time()))
        console.print(f"   re-opened after {elapsed:.1f} ms")
        console.print(f"Panel of {store['name']}: {store['panel_url']}")


async def run_journey(state_dir: Path) -> int:
    """Run the journey; 0 when every step happened, 1 otherwise."""
    console = Console()
    try:
        await journey(state_dir, console)
    except FileNotFoundError:
        console.print(f"[red]No running demo found ({state_dir / DEMO_FILE}): start `make demo` first.[/]")
        return 1
    except (JourneyFailed, TimeoutError, httpx.HTTPError, aiomqtt.MqttError) as err:
        console.print(f"[red]The journey failed:[/] {err!r}")
        return 1
    console.print("[bold green]Journey complete.[/]")
    return 0
