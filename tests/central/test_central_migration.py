"""A central.db made by an earlier build is upgraded in place: rows kept, new columns added once."""

from __future__ import annotations

import uuid
from pathlib import Path

from boothcore import db
from central.store import MIGRATIONS, SCHEMA, BoothStatus, SqliteStore, StatusOutcome
from tests.central.conftest import id_number


def old_build_database(path: Path) -> None:
    """What the build before migrations left on disk: SCHEMA only, a booth at boot 57, one photo."""
    conn = db.connect(path)
    db.apply_schema(conn, SCHEMA)
    conn.execute("INSERT INTO booths (booth, boot, online, state, status_ts, status_received_at)"
                 " VALUES ('booth-01', 57, 1, 'idle', '2027-06-01T08:00:00.000000Z', '2027-06-01T08:00:00.000000Z')")
    conn.execute("INSERT INTO photos (photo_id, booth, id_number, student_no, college, class_name, session_id,"
                 " attempt, captured_at, size, sha256, path, is_current, stored_at) VALUES"
                 " (?, 'booth-01', ?, '2023', '信息学院', '计科2301', 's-1', 1, '2027-06-01T08:00:00.000000Z',"
                 " 10, ?, 'x.jpg', 1, '2027-06-01T08:00:01.000000Z')", ("a" * 32, id_number(5), "b" * 64))
    conn.close()


def status(boot: int, install_id: str | None) -> BoothStatus:
    return BoothStatus(booth="booth-01", boot=boot, online=True, state="idle", ts="2027-06-02T08:00:00Z",
                       install_id=install_id)


def test_an_old_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "central.db"
    old_build_database(path)
    store = SqliteStore(path)
    try:
        (booth,) = store.booths()
        assert (booth.boot, booth.install_id, booth.resets) == (57, None, 0)
        assert store.photo("a" * 32) is not None
        version = store.conn.execute("SELECT version FROM schema_versions WHERE component = 'central'").fetchone()[0]
        assert version == MIGRATIONS[-1][0]
        first, second = uuid.uuid4().hex, uuid.uuid4().hex
        # The booth's first status with an install id (new firmware, same data): no reset.
        assert store.record_status(status(58, first)) is StatusOutcome.APPLIED
        # Its data reset: boot 1 under a new install id starts a new sequence.
        assert store.record_status(status(1, second)) is StatusOutcome.RESET
        assert store.record_status(status(59, first)) is StatusOutcome.RETIRED
        assert store.record_status(status(2, second)) is StatusOutcome.APPLIED
        (booth,) = store.booths()
        assert (booth.boot, booth.install_id, booth.resets) == (2, second, 1)
    finally:
        store.close()
    again = SqliteStore(path)  # a second open runs nothing again
    try:
        assert again.booths()[0].resets == 1
    finally:
        again.close()
