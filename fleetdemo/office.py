"""The demo's central office: the embedded broker and ingest, the dashboard, its config and admin.

It leaves ``<data>/central.toml`` behind, so every ``booth-central`` command works on the demo's
store afterwards (``booth-central web --config <data>/central.toml``, ``export chsi``). There is
no default password: each demo run gives the ``admin`` user a new random one and prints it once.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import tomli_w

from boothcore.durable import write_atomic
from central.config import CentralConfig
from central.embedded import EmbeddedCentral
from central.local_broker import free_port
from central.store import Store
from central.users import Users
from central.web.server import DashboardServer
from fleetdemo.demo import FLEET_COLLEGES, DemoClass

ADMIN = "admin"


class DemoOffice:
    """``with DemoOffice(folder) as office:`` booths connect to ``office.broker_url``; the
    dashboard is at ``office.dashboard_url``; log in as ``admin`` with ``office.admin_password``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.central = EmbeddedCentral(data_dir)
        self.dashboard: DashboardServer | None = None
        self.admin_password = ""

    @property
    def broker_url(self) -> str:
        return self.central.url

    @property
    def dashboard_url(self) -> str:
        assert self.dashboard is not None, "enter the office first"
        return self.dashboard.url

    @property
    def config_file(self) -> Path:
        return self.data_dir / "central.toml"

    def open_store(self) -> Store:
        """A store connection for the calling thread."""
        return self.central.open_store()

    def next_run(self) -> int:
        """Which demo run this is on the data folder: one more than the classes of booth 1's college
        that central's roster already holds (each run photographs new classes)."""
        store = self.open_store()
        try:
            return 1 + len({entry.class_name for entry in store.roster(college=FLEET_COLLEGES[0][0])})
        finally:
            store.close()

    def import_roster(self, classes: list[DemoClass]) -> None:
        store = self.open_store()
        try:
            store.import_roster([entry for demo_class in classes for entry in demo_class.entries()])
        finally:
            store.close()

    def __enter__(self) -> DemoOffice:
        self.central.start()
        try:
            assert self.central.config is not None
            config = self.central.config.model_copy(update={"web": self.central.config.web.model_copy(
                update={"http": f"127.0.0.1:{free_port()}"})})
            self._write_config(config)
            self.admin_password = self._new_admin_password()
            self.dashboard = DashboardServer(config).__enter__()
        except BaseException:
            self.central.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.dashboard is not None:
            self.dashboard.__exit__(*exc)
            self.dashboard = None
        self.central.stop()

    def _write_config(self, config: CentralConfig) -> None:
        """central.toml for later ``booth-central`` commands on this store (the broker is the demo's
        own and is gone after it; the web address is this run's)."""
        text = ("# Written by `booth demo`: the demo's central office. The broker URL is only valid while the\n"
                "# demo runs; `booth-central web --config THIS` and `export` work on its store afterwards.\n")
        text += tomli_w.dumps({"broker": {"url": config.broker.url},
                               "storage": {"data_dir": str(config.data_dir)},
                               "web": {"http": config.web.http}})
        write_atomic(self.config_file, text.encode())

    def _new_admin_password(self) -> str:
        password = secrets.token_urlsafe(12)
        store = self.open_store()
        users = Users(store.conn)  # type: ignore[attr-defined]  # users live in the SQLite store's connection
        try:
            if users.user(ADMIN) is None:
                users.add(ADMIN, "admin", password, actor="booth demo")
            else:  # an earlier run on this folder made it: a new password, its old logins ended
                users.set_password(ADMIN, password, actor="booth demo")
        finally:
            store.close()
        return password
