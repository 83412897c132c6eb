"""Run the dashboard with uvicorn in a background thread (``booth-central web``, ``serve --http``)."""

from __future__ import annotations

import os
import socket
import threading
import time

import uvicorn

from boothcore.config import ConfigError
from central.config import CentralConfig
from central.web.app import create_app

_START_TIMEOUT_S = 10.0


class DashboardError(ConfigError):
    """The dashboard could not listen on web.http (address taken, not allowed): one line, exit 2."""


class DashboardServer:
    """``with DashboardServer(config) as server:`` serves until the block ends."""

    def __init__(self, config: CentralConfig) -> None:
        self.config = config
        self.app = create_app(config)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=config.web.host, port=config.web.port,
                                                    log_level="warning", access_log=False, lifespan="on",
                                                    timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)

    @property
    def url(self) -> str:
        host = self.config.web.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.config.web.port}/"

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def __enter__(self) -> DashboardServer:
        web = self.config.web
        try:  # uvicorn only logs a bind failure and exits its thread: ask the OS first for one clear line
            with socket.create_server((web.host, web.port), reuse_port=False):
                pass
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise DashboardError(f"web.http = '{web.http}': cannot listen there ({reason}): "
                                 "choose another HOST:PORT") from None
        self.thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise DashboardError(f"web.http = '{web.http}': the dashboard did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        board = self.app.state.dashboard
        for live in [board.fleet_live, *board.progress_live.values()]:
            live.closing = True  # open SSE streams end: a prompt shutdown
        self.server.should_exit = True
        self.thread.join(timeout=10)
