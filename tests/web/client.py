"""A logged-in Starlette TestClient on the dashboard, for the page tests."""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.testclient import TestClient

from central.web.app import create_app
from tests.web.conftest import PASSWORD, Office


def login(client: TestClient, name: str, password: str = PASSWORD, *, csrf: str | None = None):
    page = client.get("/login")
    token = csrf if csrf is not None else re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf": token, "next": "/"},
                       follow_redirects=False)


def client_for(office: Office, name: str | None = None) -> TestClient:
    client = TestClient(create_app(office.config))
    if name:
        assert login(client, name).status_code == 303
    return client


def csrf_of(client: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/progress").text).group(1)


def klass(college: str, class_name: str) -> str:
    return f"/classes/{quote(college)}/{quote(class_name)}"
