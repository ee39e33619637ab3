"""The `gatehouse` command: composes cloud, edge, simulators and tools into processes."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from gatehouse.logs import configure_logging

app = typer.Typer(
    help="Gatehouse: run the cloud core, a store's edge daemon, or the demo chain.", no_args_is_help=True
)
cloud_app = typer.Typer(help="The cloud core: HTTP API, web apps and the edge link.", no_args_is_help=True)
edge_app = typer.Typer(help="The per-store edge daemon.", no_args_is_help=True)
app.add_typer(cloud_app, name="cloud")
app.add_typer(edge_app, name="edge")

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
    host: Annotated[str, typer.Option(help="Address to bind both servers to.")] = "127.0.0.1",
    demo: Annotated[bool, typer.Option(help="Demo mode: generate missing secrets.")] = False,
    log_level: LogLevel = "INFO",
    log_json: LogJson = False,
) -> None:
    """Serve the HTTP API and the gRPC edge link in one process."""
    from cloud.bootstrap import serve
    from cloud.settings import CloudSettings

    configure_logging(log_level, json_lines=log_json)
    overrides: dict[str, object] = {
        "data_dir": data_dir,
        "http_host": host,
        "http_port": http_port,
        "grpc_host": host,
        "grpc_port": grpc_port,
        "demo": demo,
    }
    if db:
        overrides["db_url"] = db
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
) -> None:
    """Run the benchmarks and write their figures to .gatehouse/bench.json."""
    from gatehouse.bench import run_benchmarks

    configure_logging("WARNING")
    asyncio.run(run_benchmarks(out, only=only or [], scans=scans))
