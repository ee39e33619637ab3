"""`gatehouse demo`: run the demo chain until Ctrl-C, and tell the user where everything is."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gatehouse.chain import DemoChain, StorePorts, port_or_free

DEMO_FILE = "demo.json"
# Preferred ports; any that is taken is replaced by a free one (demo.json has the real ones).
HTTP_PORT, GRPC_PORT, ENROLL_PORT = 8080, 50051, 50052
# Days of past bookings the demo seeds (once per store and day) for the admin dashboards.
HISTORY_DAYS = 7
STORE_PORTS = (StorePorts(mqtt=18831, panel=8081), StorePorts(mqtt=18832, panel=8082))


def _previous(state_dir: Path) -> tuple[str | None, str | None]:
    """The API token and demo password of the last run, so reruns keep the same credentials."""
    try:
        info = json.loads((state_dir / DEMO_FILE).read_text())
        token, password = info.get("api_token"), info["logins"][0]["password"]
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None, None
    return (token if isinstance(token, str) else None), (password if isinstance(password, str) else None)


def write_demo_file(state_dir: Path, info: dict[str, Any]) -> Path:
    """Write demo.json (mode 0600: it holds the demo API token)."""
    path = state_dir / DEMO_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(info, out, indent=2)
    return path


ADMIN_ROLES = ("hq_admin", "region_manager", "store_manager", "finance")


def _logins(info: dict[str, Any], roles: tuple[str, ...]) -> str:
    return ", ".join(x["login"] for x in info["logins"] if x["role"] in roles)


# Below this many columns (a narrow terminal, or output to a file) the tables become lists.
WIDE = 140


def _app_rows(info: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(who, app, URL, sign in as) of every app of the demo."""
    rows = [("customers", "booking pages", info["booking_pages"], "no sign-in (book, pay, get the code)")]
    if info["stores"] and info["stores"][0]["rooms"]:
        first = info["stores"][0]
        room = first["rooms"][0]
        url = info["room_page"].replace("<store id>", first["id"]).replace("<room id>", room["id"])
        rows.append(
            ("guests in a room", f"room QR page ({room['name']})", url, "no sign-in (call the front desk)")
        )
    for store in info["stores"]:
        rows.append(
            ("store staff", f"panel of {store['name']}", store["panel_url"], store.get("panel_login") or "")
        )
    rows.append(("HQ and managers", "admin", info["admin"], _logins(info, ADMIN_ROLES)))
    rows.append(("maintainers", "work orders", info["maint"], _logins(info, ("maintainer",))))
    return rows


def show(console: Console, info: dict[str, Any], path: Path) -> None:
    """Print the apps with their URLs and demo logins, then the services and the stores.

    Tables on a wide terminal; on a narrow one (or into a file) lists, so no URL or login is cut.
    """
    console.print(f"[bold green]Gatehouse demo chain is running[/] (written to {path})")
    password = info["logins"][0]["password"] if info["logins"] else ""
    wide = console.width >= WIDE
    title = f"Apps (every demo login's password: {password})"
    if wide:
        apps = Table(title=title, title_justify="left")
        for column in ("who", "app", "URL", "sign in as"):
            apps.add_column(column, no_wrap=column == "URL")
        for row in _app_rows(info):
            apps.add_row(*row)
        console.print(apps)
    else:
        console.print(f"[bold]{title}[/]")
        for who, app, url, login in _app_rows(info):
            console.print(f"  {who}: {app}", highlight=False)
            console.print(f"    {url}", soft_wrap=True)
            sign_in = login if login.startswith("no sign-in") else f"sign in as: {login}"
            console.print(f"    {sign_in}", soft_wrap=True, highlight=False)
    cloud = info["cloud"]
    for line in (
        f"  cloud API   {cloud['url']}   (OpenAPI docs: {cloud['docs']}; metrics: /metrics)",
        f"  edge link   {cloud['grpc_target']} (mutual TLS), enrolment {cloud['enroll_target']}",
        f"  payments    {info['payment_provider']}   (simulated WeChat-Pay-like provider)",
        f"  API token   {info['api_token']}",
    ):
        console.print(line, soft_wrap=True)
    logins = ", ".join(f"{x['login']} ({x['role']})" for x in info["logins"])
    if logins:
        console.print(f"  all logins  {logins}")
    if wide:
        table = Table(title="Stores", title_justify="left")
        for column in ("store", "id", "edge panel", "MQTT port", "rooms"):
            table.add_column(column, no_wrap=True)
        for store in info["stores"]:
            rooms = ", ".join(r["name"] for r in store["rooms"])
            table.add_row(store["name"], store["id"], store["panel_url"], str(store["mqtt_port"]), rooms)
        console.print(table)
    else:
        console.print("[bold]Stores[/]")
        for store in info["stores"]:
            console.print(f"  {store['name']} ({store['id']})", soft_wrap=True, highlight=False)
            console.print(f"    panel {store['panel_url']}, MQTT port {store['mqtt_port']}", soft_wrap=True)
            console.print(f"    rooms: {', '.join(r['name'] for r in store['rooms'])}", highlight=False)
    console.print("Try it: [bold].venv/bin/gatehouse demo --journey[/]   Stop: Ctrl-C")


async def run_demo(state_dir: Path) -> None:
    """Start the chain, write demo.json, and run until Ctrl-C or SIGTERM."""
    console = Console()
    await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    token, password = _previous(state_dir)
    with console.status("starting the cloud, two stores and their devices..."):
        chain = DemoChain(
            state_dir,
            http_port=port_or_free(HTTP_PORT),
            grpc_port=port_or_free(GRPC_PORT),
            enroll_port=port_or_free(ENROLL_PORT),
            store_ports=STORE_PORTS,
            api_token=token,
            password=password,
            history_days=HISTORY_DAYS,
        )
        await chain.__aenter__()
    try:
        info = chain.info()
        show(console, info, write_demo_file(state_dir, info))
        await stop.wait()
        console.print("stopping...")
    finally:
        await chain.aclose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    console.print("demo stopped")
