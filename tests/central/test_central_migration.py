"""Schema migrations on both engines: a central.db made by an earlier build is upgraded in place
(rows kept, new columns added once), an empty store gets every step, PostgreSQL is migrated only
when asked, and a store migrated by a newer build is refused with one line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from appliance.simulation.roster_gen import generate_roster
from boothcore import db
from central.store import (
    LATEST,
    MIGRATIONS,
    SCHEMA,
    BoothStatus,
    PhotoRecord,
    SchemaError,
    SqliteStore,
    StatusOutcome,
    open_store,
)
from central.users import Users
from tests.central.conftest import REPO, id_number
from tests.postgres_server import PostgresServer


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


def config_file(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\ndb_url = "{db_url}"\n', encoding="utf-8")
    return path


def booth_central(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def empty_url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A store no build has touched: a new SQLite file, or a new PostgreSQL database."""
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'central.db'}"
    return str(request.getfixturevalue("postgres").create_database())


def test_an_empty_store_is_migrated_by_the_command_once(empty_url: str, engine: str, tmp_path: Path) -> None:
    config = config_file(tmp_path, empty_url)
    if engine == "postgresql":  # workers never migrate PostgreSQL by themselves
        with pytest.raises(SchemaError, match=r"schema version 0, this build needs .*booth-central migrate"):
            open_store(empty_url)
    done = booth_central("migrate", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert f"migrated from schema version 0 to {LATEST}" in done.stdout
    again = booth_central("migrate", "--config", str(config))
    assert again.returncode == 0 and f"already at schema version {LATEST}" in again.stdout
    store = open_store(empty_url)
    try:
        assert store.import_roster(generate_roster(3, graduation_year=2027)) == 3
        assert store.add_photo(photo_record(store.roster()[0].id_number))
        assert [p.college for p in store.class_progress()] == [store.roster()[0].college]
        Users(store.conn).add("admin", "admin", "correct horse 1")
        assert [entry.action for entry in Users(store.conn).audit_log()] == ["user_added"]
    finally:
        store.close()


def photo_record(person: str) -> PhotoRecord:
    return PhotoRecord(photo_id=uuid.uuid4().hex, booth="booth-01", id_number=person, student_no="1",
                       college="c", class_name="k", session_id=None, attempt=1, captured_at="2027-06-01T08:00:00Z",
                       size=1, sha256="0" * 64, path="x.jpg")


def test_serve_migrates_only_when_asked(tmp_path: Path, postgres: PostgresServer) -> None:
    url = postgres.create_database()
    config = config_file(tmp_path, url)
    refused = booth_central("serve", "--config", str(config))
    assert refused.returncode == 2 and "booth-central migrate" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    # With --migrate the store is brought up to this build before the workers start.
    serving = subprocess.Popen([sys.executable, "-m", "central.cli", "serve", "--config", str(config), "--migrate"],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                open_store(url).close()
                break
            except SchemaError:
                assert time.monotonic() < deadline and serving.poll() is None, "serve --migrate did not migrate"
                time.sleep(0.2)
    finally:
        serving.send_signal(signal.SIGTERM)
        serving.wait(timeout=60)


def test_a_store_newer_than_this_build_is_refused_with_one_line(empty_url: str, tmp_path: Path) -> None:
    config = config_file(tmp_path, empty_url)
    assert booth_central("migrate", "--config", str(config)).returncode == 0
    store = open_store(empty_url)
    store.conn.execute("UPDATE schema_versions SET version = ? WHERE component = 'central'", (LATEST + 1,))
    store.close()
    with pytest.raises(SchemaError, match=f"schema version {LATEST + 1}, this build knows up to {LATEST}"):
        open_store(empty_url, migrate=True)
    for command in (["migrate"], ["serve", "--migrate"], ["web"], ["booths"]):
        done = booth_central(*command, "--config", str(config))
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, (command, done.stderr)
        assert f"schema version {LATEST + 1}, this build knows up to {LATEST}" in lines[0]
    with pytest.raises(SchemaError):  # opening it, as the ingest and the dashboard do
        open_store(empty_url)


def test_booth_central_migrate_upgrades_todays_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "central.db"
    path.parent.mkdir()
    old_build_database(path)
    done = booth_central("migrate", "--config", str(config_file(tmp_path, f"sqlite:///{path}")))
    assert done.returncode == 0 and f"migrated from schema version 0 to {LATEST}" in done.stdout, done.stderr
    store = SqliteStore(path)
    try:
        assert store.photo("a" * 32) is not None and store.booths()[0].boot == 57
    finally:
        store.close()
