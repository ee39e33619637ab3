"""`gatehouse provision ...`: the console side of the provisioning tools (tables, prompts, progress bars)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from provisioning.api import CloudApi
from provisioning.connection import CloudTarget
from provisioning.devices_csv import parse_devices_csv
from provisioning.edges import (
    Listen,
    check_writable,
    create_edge_token,
    edge_config,
    revoke_edge,
    write_edge_files,
)
from provisioning.errors import ProvisionError
from provisioning.importer import ImportInvalid, plan_import
from provisioning.manifest.apply import Applied, ApplyFailed, PlanBlocked, execute_plan, plan_manifest
from provisioning.manifest.diff import Action, Change, Op, Plan, Target
from provisioning.manifest.model import ManifestInvalid, parse_manifest
from provisioning.qrsheet import CodeKind, SheetRoom, layout_pages, render_pdf, render_png, sheet_items

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
Confirm = Callable[[str], bool]

OP_STYLE = {
    Op.CREATE: ("+", "green"),
    Op.UPDATE: ("~", "yellow"),
    Op.DELETE: ("-", "red"),
}


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def plan_text(plan: dict[str, Any]) -> str:
    """A price plan in one line: bands per day type, then peak and off-peak windows."""
    parts = []
    for day in ("weekday", "holiday"):
        bands = plan.get(day) or []
        if day == "holiday" and bands == plan.get("weekday"):
            continue
        parts.append(day + " " + ", ".join(f"{b['from']}-{b['to']} {_yuan(b['per_hour'])}/h" for b in bands))
    for kind, sign in (("peak", "+"), ("off_peak", "-")):
        for w in plan.get(kind) or []:
            days = "" if len(w.get("days") or []) != 1 else f" ({w['days'][0]}s)"
            parts.append(f"{sign}{w['pct']}% {w['from']}-{w['to']}{days}")
    return "; ".join(parts)


def hours_text(hours: dict[str, list[str]]) -> str:
    """Opening hours with runs of equal days merged: "mon-thu 10:00-02:00; fri 10:00-04:00"."""
    days = list(hours)
    parts: list[str] = []
    start = 0
    for index in range(1, len(days) + 1):
        if index == len(days) or hours[days[index]] != hours[days[start]]:
            run = days[start] if index - 1 == start else f"{days[start]}-{days[index - 1]}"
            parts.append(f"{run} {', '.join(hours[days[start]]) or 'closed'}")
            start = index
    return "; ".join(parts)


def short(value: Any, limit: int = 160, field: str = "") -> str:
    """A value for a table cell: price plans and opening hours in words, other structures as JSON."""
    if field == "config" and isinstance(value, dict):
        text = " ".join(f"{k}={v}" for k, v in value.items()) or "(none)"
    elif field == "price_plan" and isinstance(value, dict):
        text = plan_text(value)
    elif field == "opening_hours" and isinstance(value, dict):
        text = hours_text(value)
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _change_text(action: Action, change: Change) -> str:
    before, after_value = change.before, change.after
    if change.field == "config" and isinstance(before, dict) and isinstance(after_value, dict):
        keys = sorted(set(before) | set(after_value))
        moves = [
            f"{k} {before.get(k, '(unset)')} → {after_value.get(k, '(unset)')}"
            for k in keys
            if before.get(k) != after_value.get(k)
        ]
        return "config: " + ", ".join(moves)
    after = short(change.after, field=change.field)
    if action.op is Op.CREATE:
        return f"{change.field}: {after}"
    return f"{change.field}: {short(change.before, field=change.field)} → {after}"


def plan_table(plan: Plan, title: str) -> Table:
    """The plan as a table: one row per action with its field changes."""
    table = Table(title=title, show_lines=False, title_justify="left")
    table.add_column("", no_wrap=True)
    table.add_column("what", no_wrap=True)
    table.add_column("name")
    table.add_column("changes")
    for action in plan.actions:
        sign, style = OP_STYLE[action.op]
        if action.target is Target.DEVICE and action.op is Op.CREATE:
            config = action.body.get("config") or {}
            settings = f" {short(config, field='config')}" if config else ""
            lines = [f"{action.body['kind']}/{action.body['protocol']}{settings}"]
        else:
            lines = [_change_text(action, c) for c in action.changes]
        if action.note:
            lines.append(f"[dim]{escape(action.note)}[/]")
        name = action.label + (f" [dim]({action.id})[/]" if action.id and action.op is not Op.CREATE else "")
        table.add_row(
            f"[{style}]{sign}[/]",
            f"[{style}]{action.op.value} {action.target.value}[/]",
            name,
            "\n".join(escape(line) if not line.startswith("[dim]") else line for line in lines),
        )
    return table


def show_plan(console: Console, plan: Plan, title: str) -> None:
    """Print the plan, what the cloud has beyond it, and anything blocking it."""
    if not plan.empty:
        console.print(plan_table(plan, title))
    if plan.unmanaged:
        console.print(
            f"[dim]Not in the manifest, kept (give --prune to delete): {escape(', '.join(plan.unmanaged))}[/]"
        )
    for conflict in plan.conflicts:
        console.print(f"[red]conflict:[/] {escape(conflict)}")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def _execute(console: Console, api: CloudApi, plan: Plan, what: str) -> Applied:
    with _progress(console) as progress:
        task = progress.add_task(what, total=len(plan.actions))

        def step(done: int, total: int, action: Action) -> None:
            progress.update(
                task, completed=done, description=f"{what}: {action.op.value} {action.target.value}"
            )

        applied = await execute_plan(api, plan, on_step=step)
        progress.update(task, description=what)
    return applied


def _error(console: Console, err: ProvisionError) -> int:
    console.print(f"[red]error[/] [dim]({err.code})[/]: {escape(err.message)}")
    return EXIT_INVALID if isinstance(err, ManifestInvalid | ImportInvalid | PlanBlocked) else EXIT_FAILED


# ---------------------------------------------------------------- apply


async def run_apply(
    console: Console,
    manifest_path: Path,
    target: Callable[[], CloudTarget],
    *,
    yes: bool,
    dry_run: bool,
    prune: bool,
    confirm: Confirm,
) -> int:
    """Validate (no API call if invalid), show the diff, confirm, apply with a progress bar."""
    try:
        text = await asyncio.to_thread(manifest_path.read_text, encoding="utf-8")
    except OSError as err:
        console.print(f"[red]error[/]: cannot read {manifest_path}: {err}")
        return EXIT_INVALID
    try:
        manifest = parse_manifest(text, str(manifest_path))
        cloud = target()
    except ProvisionError as err:
        return _error(console, err)
    try:
        async with CloudApi(cloud.url, cloud.token) as api:
            plan = await plan_manifest(api, manifest, prune=prune)
            show_plan(console, plan, f"{manifest_path} → {cloud.url}: {plan.summary()}")
            if plan.conflicts:
                console.print("Nothing was changed: resolve the conflict(s) above.")
                return EXIT_INVALID
            if plan.empty:
                console.print(
                    f"[green]No changes:[/] the cloud already matches {escape(str(manifest_path))}."
                )
                return EXIT_OK
            if dry_run:
                console.print(f"Dry run: {plan.summary()}; nothing was changed.")
                return EXIT_OK
            if not yes and not confirm(f"Apply these {len(plan.actions)} change(s)?"):
                console.print("Nothing was changed.")
                return EXIT_FAILED
            applied = await _execute(console, api, plan, "applying")
    except ApplyFailed as err:
        console.print(f"[red]error[/] [dim]({err.cause.code})[/]: {escape(err.message)}")
        return EXIT_FAILED
    except ProvisionError as err:
        return _error(console, err)
    console.print(
        f"[green]Applied[/] {plan.summary()}: store {escape(manifest.store.name)} ({applied.store_id})."
    )
    return EXIT_OK


# ---------------------------------------------------------------- import-devices


async def run_import(
    console: Console,
    store: str,
    csv_path: Path,
    target: Callable[[], CloudTarget],
    *,
    skip_bad: bool,
    dry_run: bool,
) -> int:
    """Check every row (nothing applied if one is bad, unless skip_bad), then create the devices."""
    try:
        text = await asyncio.to_thread(csv_path.read_text, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        console.print(f"[red]error[/]: cannot read {csv_path}: {err}")
        return EXIT_INVALID
    parsed = parse_devices_csv(text)
    try:
        cloud = target()
        async with CloudApi(cloud.url, cloud.token) as api:
            planned = await plan_import(api, store, parsed, source=str(csv_path), skip_bad=skip_bad)
            for error in planned.skipped:
                console.print(f"[yellow]skipped[/] {escape(error.render(str(csv_path)))}")
            plan = planned.plan
            title = f"{csv_path} → {planned.store['name']}: {planned.rows} row(s), {plan.summary()}"
            show_plan(console, plan, title)
            if plan.empty:
                console.print("[green]No changes:[/] every device is already there as described.")
                return EXIT_OK
            if dry_run:
                console.print(f"Dry run: {plan.summary()}; nothing was changed.")
                return EXIT_OK
            await _execute(console, api, plan, "importing")
    except ApplyFailed as err:
        console.print(f"[red]error[/] [dim]({err.cause.code})[/]: {escape(err.message)}")
        return EXIT_FAILED
    except ProvisionError as err:
        return _error(console, err)
    skipped = f" ({len(planned.skipped)} bad row(s) skipped)" if planned.skipped else ""
    console.print(f"[green]Imported[/] {plan.summary()}{skipped}.")
    return EXIT_OK


# ---------------------------------------------------------------- edges


async def run_edge_token(
    console: Console,
    store: str,
    target: Callable[[], CloudTarget],
    *,
    out_dir: Path,
    edge_root: Path | None,
    link_target: str | None,
    enroll_target: str | None,
    mqtt: Listen,
    panel: Listen,
    force: bool,
) -> int:
    """Create a one-time bootstrap token and write edge.yaml (0600) and ca.pem into out_dir."""
    try:
        await asyncio.to_thread(check_writable, out_dir, force=force)
        root = edge_root if edge_root is not None else await asyncio.to_thread(out_dir.resolve)
        cloud = target()
        async with CloudApi(cloud.url, cloud.token) as api:
            token = await create_edge_token(api, store)
        config = edge_config(
            token, root=root, target=link_target, enroll_target=enroll_target, mqtt=mqtt, panel=panel
        )
        files = await asyncio.to_thread(write_edge_files, out_dir, token, config, force=force)
    except ProvisionError as err:
        return _error(console, err)
    console.print(
        f"[green]Edge {token.edge_id}[/] registered for {escape(token.store_name)} ({token.store_id})."
    )
    console.print(
        f"  config  {files.config}  (mode 0600: it holds the one-time token, valid until {token.expires_at})"
    )
    console.print(f"  CA      {files.ca}")
    console.print(f"Start it with: [bold]gatehouse edge run --config {files.config}[/]")
    return EXIT_OK


async def run_revoke(console: Console, edge_id: str, target: Callable[[], CloudTarget]) -> int:
    """Revoke an edge: refused from now on, its live link closed."""
    try:
        cloud = target()
        async with CloudApi(cloud.url, cloud.token) as api:
            edge = await revoke_edge(api, edge_id)
    except ProvisionError as err:
        return _error(console, err)
    console.print(
        f"[green]Revoked[/] edge {edge['id']} of store {edge['store_id']} at {edge.get('revoked_at')};"
        " its link is closed and it cannot reconnect."
    )
    return EXIT_OK


# ---------------------------------------------------------------- QR sheet


async def run_qr_sheet(
    console: Console,
    store: str,
    target: Callable[[], CloudTarget],
    *,
    out: Path,
    kinds: Sequence[CodeKind],
    order_base: str | None,
) -> int:
    """Draw the store's room scan codes and ordering codes into a PDF or PNG sheet."""
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".png"):
        console.print(f"[red]error[/]: --out must end in .pdf or .png, not {escape(out.name)}")
        return EXIT_INVALID
    try:
        cloud = target()
        async with CloudApi(cloud.url, cloud.token) as api:
            found = await api.find_store(store)
            # The scan codes are sealed with the store key: only the cloud can make them.
            rooms = [SheetRoom(r["room_id"], r["name"], r["code"]) for r in await api.room_codes(found["id"])]
    except ProvisionError as err:
        return _error(console, err)
    if not rooms:
        console.print(f"[yellow]Store {escape(found['name'])} has no rooms: no sheet written.[/]")
        return EXIT_FAILED
    items = sheet_items(found["id"], rooms, base_url=order_base or cloud.url, kinds=kinds)
    pages = layout_pages(items, store_name=found["name"])
    await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
    if suffix == ".pdf":
        files = [await asyncio.to_thread(render_pdf, pages, out, title=f"{found['name']} QR codes")]
    else:
        files = await asyncio.to_thread(render_png, pages, out)
    console.print(
        f"[green]Wrote[/] {len(items)} code(s) for {len(rooms)} room(s) of {escape(found['name'])} on"
        f" {len(pages)} page(s): {', '.join(str(f) for f in files)}"
    )
    return EXIT_OK
