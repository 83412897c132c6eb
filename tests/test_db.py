"""boothcore.db: connections opened at the same moment on one new file all get it (WAL switch races)."""

from __future__ import annotations

import threading
from pathlib import Path

from boothcore import db


def test_connections_opening_one_new_file_together_all_succeed(tmp_path: Path) -> None:
    """Two ingest workers starting together open the same new central.db: SQLite answers the WAL
    switch with "database is locked" without waiting, so connect must wait and try again."""
    errors: list[BaseException] = []

    def opener(path: Path, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            conn = db.connect(path)
            db.apply_schema(conn, "CREATE TABLE IF NOT EXISTS t (a INTEGER)")
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            conn.close()
        except BaseException as error:  # collected: an error in a thread would pass silently
            errors.append(error)

    for round_ in range(20):
        path, barrier = tmp_path / f"round-{round_}" / "store.db", threading.Barrier(6)
        threads = [threading.Thread(target=opener, args=(path, barrier)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
