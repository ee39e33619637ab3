"""The `gatehouse` command: composes cloud, edge, simulators and tools into processes."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gatehouse.logs import configure_logging

if TYPE_CHECKING:
    from collections.abc import Callable

    from provisioning.connection import CloudTarget

app = typer.Typer(
    help="Gatehouse: run the cloud core, a store's edge daemon, or the demo chain.", no_args_is_help=True
)
cloud_app = typer.Typer(help="The cloud core: HTTP API, web apps and the edge link.", no_args_is_help=True)
edge_app = typer.Typer(help="The per-store edge daemon.", no_args_is_help=True)
app.add_typer(cloud_app, name="cloud")
app.add_typer(edge_app, name="edge")
provision_app = typer.Typer(
    help="Onboarding: apply store manifests, import devices, edge tokens, QR sheets.", no_args_is_help=True
)
app.add_typer(provision_app, name="provision")

LogLevel = Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")]
LogJson = Annotated[bool, typer.Option("--log-json", help="Log JSON lines instead of key=value text.")]


def _run(coro: object) -> None:
    """Run a coroutine until it ends or Ctrl-C; Ctrl-C cancels it so it can clean up."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)  # type: ignore[arg-type]


@cloud_app.command("serve")
def cloud_serve(
    db: Annotated[str | None, typer.Option(help="Database URL (default: SQLite in the data dir).")] = None,
    data_dir: Annotated[
        Path, typer.Option(help="Where the cloud keeps its CA, keys and SQLite file.")
    ] = Path(".gatehouse/cloud"),
    http_port: Annotated[int, typer.Option(help="HTTP port (0: any free port).")] = 8080,
    grpc_port: Annotated[int, typer.Option(help="Edge link gRPC port (0: any free port).")] = 50051,
    enroll_port: Annotated[int, typer.Option(help="Edge enrolment gRPC port (0: any free port).")] = 50052,
    host: Annotated[str, typer.Option(help="Address to bind both servers to.")] = "127.0.0.1",
    demo: Annotated[bool, typer.Option(help="Demo mode: generate missing secrets.")] = False,
    redis: Annotated[
        str | None,
        typer.Option(help="Redis URL shared by several workers (fan-out, command routing, rate limits)."),
    ] = None,
    log_level: LogLevel = "INFO",
    log_json: LogJson = False,
) -> None:
    """Serve the HTTP API and the gRPC edge link in one process (one of several with --redis)."""
    from cloud.bootstrap import serve
    from cloud.settings import CloudSettings

    configure_logging(log_level, json_lines=log_json)
    overrides: dict[str, object] = {
        "data_dir": data_dir,
        "http_host": host,
        "http_port": http_port,
        "grpc_host": host,
        "grpc_port": grpc_port,
        "enroll_port": enroll_port,
        "demo": demo,
    }
    if db:
        overrides["db_url"] = db
    if redis:
        overrides["redis_url"] = redis
    _run(serve(CloudSettings(**overrides)))  # type: ignore[arg-type]


@edge_app.command("run")
def edge_run(
    config: Annotated[Path, typer.Option("--config", "-c", help="The store's edge YAML file.")],
    log_level: LogLevel = "INFO",
    log_json: LogJson = False,
) -> None:
    """Run a store's edge daemon: broker, devices, redemption, link and panel."""
    from edge.bootstrap import run
    from edge.config import load_config

    configure_logging(log_level, json_lines=log_json)
    _run(run(load_config(config)))


@edge_app.command("verify-journal")
def edge_verify_journal(
    config: Annotated[Path, typer.Option("--config", "-c", help="The store's edge YAML file.")],
) -> None:
    """Verify the hash chain of the edge's local journal; report the first broken entry (exit 1)."""
    from edge.config import ConfigError, load_config
    from edge.identity import DB_FILE
    from edge.journal.services import JournalUnreadable, verify_file

    try:
        path = load_config(config).data_dir / DB_FILE
        verdict = verify_file(path)
    except (ConfigError, JournalUnreadable) as err:
        typer.echo(f"cannot verify the journal: {err}", err=True)
        raise typer.Exit(2) from err
    if verdict.ok:
        typer.echo(f"journal OK: {verdict.entries} entries, head {verdict.head}")
        return
    typer.echo(
        f"journal BROKEN at entry {verdict.broken_seq}: {verdict.reason} "
        f"({verdict.entries} entries before it verify)",
        err=True,
    )
    raise typer.Exit(1)


@app.command("demo")
def demo(
    journey: Annotated[
        bool, typer.Option("--journey", help="Run a scripted customer journey against a running demo.")
    ] = False,
    state_dir: Annotated[Path, typer.Option(help="Where the demo keeps its data and demo.json.")] = Path(
        ".gatehouse"
    ),
    log_level: LogLevel = "WARNING",
) -> None:
    """Start a demo chain (cloud, two stores of six rooms, simulated devices) or run its journey."""
    configure_logging(log_level)
    if journey:
        from gatehouse.journey import run_journey

        raise typer.Exit(asyncio.run(run_journey(state_dir)))
    from gatehouse.demo import run_demo

    _run(run_demo(state_dir))


@app.command("bench")
def bench(
    only: Annotated[list[str] | None, typer.Option(help="Run only these benchmarks.")] = None,
    out: Annotated[Path, typer.Option(help="Where to write the figures.")] = Path(".gatehouse/bench.json"),
    scans: Annotated[int, typer.Option(help="Scans for scan_to_unlock.")] = 1000,
    samples: Annotated[int, typer.Option(help="Commands per protocol for device_commands.")] = 500,
) -> None:
    """Run the benchmarks and write their figures to .gatehouse/bench.json."""
    from gatehouse.bench import BenchOptions, run_benchmarks

    configure_logging("WARNING")
    asyncio.run(run_benchmarks(out, only=only or [], options=BenchOptions(scans=scans, samples=samples)))


# ---- provision: the cloud is reached only through its HTTP API (see provisioning/README.md)

CloudUrl = Annotated[
    str | None, typer.Option("--cloud", envvar="GATEHOUSE_CLOUD_URL", help="The cloud's HTTP base URL.")
]
ApiToken = Annotated[
    str | None,
    typer.Option("--token", envvar="GATEHOUSE_API_TOKEN", help="An API bearer token of the tenant."),
]
UseDemo = Annotated[
    bool, typer.Option("--demo", help="Use the running demo's cloud URL and token (from --demo-file).")
]
DemoFile = Annotated[Path, typer.Option("--demo-file", help="The demo's state file.")]
DEFAULT_DEMO_FILE = Path(".gatehouse/demo.json")


def _cloud(cloud: str | None, token: str | None, demo: bool, demo_file: Path) -> Callable[[], CloudTarget]:
    """Resolve the cloud lazily, so that an invalid input file is reported before anything else."""
    from provisioning.connection import resolve_target

    return lambda: resolve_target(cloud, token, demo=demo, demo_file=demo_file)


@provision_app.command("apply")
def provision_apply(
    manifest: Annotated[Path, typer.Argument(help="The store manifest (YAML).")],
    cloud: CloudUrl = None,
    token: ApiToken = None,
    demo: UseDemo = False,
    demo_file: DemoFile = DEFAULT_DEMO_FILE,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff only.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete rooms and devices not in the manifest.")
    ] = False,
    log_level: LogLevel = "WARNING",
) -> None:
    """Make the cloud match a store manifest: validate, show the diff, confirm, apply (idempotent)."""
    from rich.console import Console

    from gatehouse.provision import run_apply

    configure_logging(log_level)
    code = asyncio.run(
        run_apply(
            Console(),
            manifest,
            _cloud(cloud, token, demo, demo_file),
            yes=yes,
            dry_run=dry_run,
            prune=prune,
            confirm=lambda question: typer.confirm(question, default=False),
        )
    )
    raise typer.Exit(code)


@provision_app.command("import-devices")
def provision_import_devices(
    store: Annotated[str, typer.Argument(help="The store's id or name.")],
    csv_file: Annotated[
        Path, typer.Argument(help="Columns: room, kind, protocol, [name], [id], [config], ...")
    ],
    cloud: CloudUrl = None,
    token: ApiToken = None,
    demo: UseDemo = False,
    demo_file: DemoFile = DEFAULT_DEMO_FILE,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Import the good rows, skip the bad.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show the plan only.")] = False,
    log_level: LogLevel = "WARNING",
) -> None:
    """Import devices from CSV: every bad row is reported by line; nothing is applied if one is bad."""
    from rich.console import Console

    from gatehouse.provision import run_import

    configure_logging(log_level)
    target = _cloud(cloud, token, demo, demo_file)
    code = asyncio.run(run_import(Console(), store, csv_file, target, skip_bad=skip_bad, dry_run=dry_run))
    raise typer.Exit(code)


@provision_app.command("edge-token")
def provision_edge_token(
    store: Annotated[str, typer.Argument(help="The store's id or name.")],
    cloud: CloudUrl = None,
    token: ApiToken = None,
    demo: UseDemo = False,
    demo_file: DemoFile = DEFAULT_DEMO_FILE,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where to write edge.yaml and ca.pem.")] = Path(
        "edge"
    ),
    edge_root: Annotated[
        Path | None,
        typer.Option(
            "--edge-root", help="Where those files will be on the edge machine (default: --out-dir)."
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="The cloud's link host:port as the edge sees it.")
    ] = None,
    enroll_target: Annotated[
        str | None,
        typer.Option("--enroll-target", help="The cloud's enrolment host:port as the edge sees it."),
    ] = None,
    mqtt_host: Annotated[str, typer.Option(help="Bind address of the edge's MQTT broker.")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(help="Port of the edge's MQTT broker.")] = 1883,
    panel_host: Annotated[str, typer.Option(help="Bind address of the staff panel.")] = "127.0.0.1",
    panel_port: Annotated[int, typer.Option(help="Port of the staff panel.")] = 8081,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing edge.yaml.")] = False,
    log_level: LogLevel = "WARNING",
) -> None:
    """Register a new edge: a one-time bootstrap token, written as a ready edge config (0600) with the CA."""
    from rich.console import Console

    from gatehouse.provision import run_edge_token
    from provisioning.edges import Listen

    configure_logging(log_level)
    code = asyncio.run(
        run_edge_token(
            Console(),
            store,
            _cloud(cloud, token, demo, demo_file),
            out_dir=out_dir,
            edge_root=edge_root,
            link_target=target,
            enroll_target=enroll_target,
            mqtt=Listen(mqtt_host, mqtt_port),
            panel=Listen(panel_host, panel_port),
            force=force,
        )
    )
    raise typer.Exit(code)


@provision_app.command("revoke-edge")
def provision_revoke_edge(
    edge_id: Annotated[str, typer.Argument(help="The edge's id (from edge-token or the API).")],
    cloud: CloudUrl = None,
    token: ApiToken = None,
    demo: UseDemo = False,
    demo_file: DemoFile = DEFAULT_DEMO_FILE,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Revoke without asking.")] = False,
    log_level: LogLevel = "WARNING",
) -> None:
    """Revoke an edge: the cloud refuses it from now on and closes its live link at once."""
    from rich.console import Console

    from gatehouse.provision import run_revoke

    configure_logging(log_level)
    if not yes and not typer.confirm(f"Revoke edge {edge_id}? It will be cut off at once.", default=False):
        raise typer.Exit(1)
    raise typer.Exit(asyncio.run(run_revoke(Console(), edge_id, _cloud(cloud, token, demo, demo_file))))


@provision_app.command("qr-sheet")
def provision_qr_sheet(
    store: Annotated[str, typer.Argument(help="The store's id or name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="sheet.pdf or sheet.png (one PNG per page).")],
    cloud: CloudUrl = None,
    token: ApiToken = None,
    demo: UseDemo = False,
    demo_file: DemoFile = DEFAULT_DEMO_FILE,
    codes: Annotated[
        str, typer.Option(help="Which codes: all, scan (rooms, for staff) or order (tables).")
    ] = "all",
    order_base: Annotated[
        str | None, typer.Option(help="Base URL of the ordering pages (default: the cloud URL).")
    ] = None,
    log_level: LogLevel = "WARNING",
) -> None:
    """A printable sheet with each room's scan code and its ordering code, labelled with the room name."""
    from rich.console import Console

    from gatehouse.provision import EXIT_INVALID, run_qr_sheet
    from provisioning.qrsheet import CodeKind

    configure_logging(log_level)
    choices = {"all": [CodeKind.SCAN, CodeKind.ORDER], "scan": [CodeKind.SCAN], "order": [CodeKind.ORDER]}
    if codes not in choices:
        Console().print(f"--codes must be one of: {', '.join(choices)}")
        raise typer.Exit(EXIT_INVALID)
    target = _cloud(cloud, token, demo, demo_file)
    code = asyncio.run(
        run_qr_sheet(Console(), store, target, out=out, kinds=choices[codes], order_base=order_base)
    )
    raise typer.Exit(code)
