"""The central office on one machine: a local mosquitto plus the ingest, for the demo and benches.

Production runs the broker and ``booth-central serve`` as services (``config/mosquitto``,
``config/central.toml``); this module starts the same code on loopback for a simulated fleet.
"""

from __future__ import annotations

from pathlib import Path

from central.config import CentralConfig, load_central_config
from central.ingest import Ingest
from central.local_broker import LocalBroker
from central.store import Store, open_office_store


class EmbeddedCentral:
    """``with EmbeddedCentral(folder) as central:`` then point booths at ``central.url``."""

    def __init__(self, data_dir: Path, *, workers: int = 2) -> None:
        self.data_dir = Path(data_dir)
        self.broker = LocalBroker(self.data_dir / "broker")
        self.workers = workers
        self.ingest: Ingest | None = None
        self.config: CentralConfig | None = None

    @property
    def url(self) -> str:
        return self.broker.url

    def start(self) -> EmbeddedCentral:
        self.broker.start()
        self.config = load_central_config(None, {"broker": {"url": self.broker.url},
                                                 "storage": {"data_dir": str(self.data_dir / "central")},
                                                 "ingest": {"workers": self.workers}})
        self.ingest = Ingest(self.config).start()
        self.ingest.wait_connected()
        return self

    def open_store(self) -> Store:
        """A store connection for the calling thread."""
        assert self.config is not None, "start() first"
        return open_office_store(self.config)

    def stop(self) -> None:
        if self.ingest is not None:
            self.ingest.stop()
            self.ingest = None
        self.broker.stop()

    def __enter__(self) -> EmbeddedCentral:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
