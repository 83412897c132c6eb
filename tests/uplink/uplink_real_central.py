"""The real central ingest (central.ingest) wrapped for the booth-side tests."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from central.config import parse_central_config
from central.ingest import Ingest
from central.local_broker import LocalBroker
from central.store import PhotoRecord, SqliteStore


class RealCentral:
    """``booth-central``'s ingest with two workers on the shared subscription."""

    def __init__(self, broker: LocalBroker, data_dir: Path, workers: int = 2) -> None:
        self.data_dir = data_dir
        self.writes: Counter[str] = Counter()  # photo_id -> times a new file+row was stored
        self._lock = threading.Lock()
        config = parse_central_config({
            "broker": {"url": broker.url},
            "storage": {"data_dir": str(data_dir), "db_url": "sqlite:central.db"},
            "ingest": {"missing_grace_s": 0.2, "workers": workers}})
        self.ingest = Ingest(config, on_stored=self._stored)

    def _stored(self, record: PhotoRecord) -> None:
        with self._lock:
            self.writes[record.photo_id] += 1

    def start(self) -> RealCentral:
        self.ingest.start()
        if not self.ingest.wait_connected():
            raise RuntimeError("central ingest did not connect")
        return self

    def stop(self) -> None:
        self.ingest.stop()

    def photo_file(self, photo_id: str) -> bytes | None:
        """The stored bytes of a photo (via its row's path), None if central has no row."""
        store = SqliteStore(self.data_dir / "central.db")
        try:
            record = store.photo(photo_id)
        finally:
            store.close()
        if record is None:
            return None
        return (self.data_dir / "photos" / record.path).read_bytes()

    def event_ids(self) -> set[str]:
        store = SqliteStore(self.data_dir / "central.db")
        try:
            return {event.event_id for event in store.events(limit=1_000_000)}
        finally:
            store.close()
