"""A logged-in Starlette TestClient on the dashboard, for the page tests."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
from starlette.testclient import TestClient

from central.config import CentralConfig
from central.local_broker import free_port
from central.web.app import create_app
from central.web.server import DashboardServer
from tests.web.conftest import PASSWORD, Office

# What Chromium sends when it follows a link (a page or a download).
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def login(client: Any, name: str, password: str = PASSWORD, *, csrf: str | None = None):
    page = client.get("/login")
    token = csrf if csrf is not None else re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf": token, "next": "/"},
                       follow_redirects=False)


def client_for(office: Office, name: str | None = None) -> TestClient:
    client = TestClient(create_app(office.config))
    if name:
        assert login(client, name).status_code == 303
    return client


def csrf_of(client: Any) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/progress").text).group(1)


def klass(college: str, class_name: str) -> str:
    return f"/classes/{quote(college)}/{quote(class_name)}"


@contextlib.contextmanager
def served(config: CentralConfig) -> Iterator[str]:
    """The dashboard on ``config``'s store, served by uvicorn on a free port: its base URL."""
    web = config.web.model_copy(update={"http": f"127.0.0.1:{free_port()}"})
    with DashboardServer(config.model_copy(update={"web": web})) as server:
        yield server.url.rstrip("/")


@contextlib.contextmanager
def browser_client(base: str, name: str) -> Iterator[httpx.Client]:
    """An HTTP client that sends what a browser sends (its Accept header), logged in as ``name``."""
    with httpx.Client(base_url=base, timeout=30, headers={"Accept": BROWSER_ACCEPT}) as client:
        assert login(client, name).status_code == 303
        yield client
