"""The panel's HTTP server: uvicorn in the daemon's own event loop, on a socket bound up front."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class _Server(uvicorn.Server):
    # The daemon owns signal handling; uvicorn must not replace its handlers.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class PanelServer:
    """Serves the panel app on host:port (0 picks a free port, known as `port` once bound)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self._sock.setblocking(False)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="off")
        self._server = _Server(config)

    async def serve(self) -> None:
        """Serve until `stop()` is called."""
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            self._sock.close()

    def stop(self) -> None:
        """Ask the server to finish (serve() returns once open requests are done)."""
        self._server.should_exit = True
