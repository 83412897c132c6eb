"""Operations on the central store: ``check-store``, ``backup`` and ``restore``, run as an operator runs
them (real processes on a real store with real JPEGs), and the backup taken while photos keep coming;
on SQLite and on a real PostgreSQL (the ``engine`` fixture) where the engine makes a difference."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from boothcore.privacy import mask_id
from boothcore.roster import RosterEntry
from central.backup import BackupError, restore_backup, write_backup
from central.config import CentralConfig, parse_central_config
from central.photos import PhotoArchive
from central.store import PhotoRecord, SqlStore, open_store
from central.users import Users
from tests.central.conftest import id_number, jpeg_bytes, store_one
from tests.postgres_server import PostgresServer

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Office:
    config: CentralConfig
    toml: Path
    records: list[PhotoRecord]  # as stored, in order; the last of a person is current


def make_config(folder: Path, db_url: str = "sqlite:central.db") -> tuple[CentralConfig, Path]:
    folder.mkdir(parents=True)
    data_dir = folder / "data"
    toml = folder / "central.toml"
    toml.write_text(f'[storage]\ndata_dir = "{data_dir}"\ndb_url = "{db_url}"\n', encoding="utf-8")
    return parse_central_config({"storage": {"data_dir": str(data_dir), "db_url": db_url}}), toml


def open_of(config: CentralConfig) -> SqlStore:
    return open_store(config.storage.db_url, base=config.data_dir)


@pytest.fixture
def empty_url(engine: str, request: pytest.FixtureRequest) -> str:
    """Where a restore goes: a new SQLite file, or a new PostgreSQL database with no table at all."""
    if engine == "sqlite":
        return "sqlite:central.db"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


def store_photo(store: SqlStore, archive: PhotoArchive, seq: int, seed: int) -> PhotoRecord:
    data = jpeg_bytes(seed)
    record = PhotoRecord(photo_id=uuid.uuid4().hex, booth="booth-01", id_number=id_number(seq),
                         student_no=f"2023{seq:05d}", college="信息学院", class_name="计科2301", session_id="s-1",
                         attempt=1, captured_at="2027-06-01T09:00:00Z", size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), path="")
    return store_one(archive, store, record, data).record


def build_office(folder: Path, db_url: str) -> Office:
    """Three people photographed, the second one twice (a retake: two rows, one current), a roster row
    and a dashboard user, so a restore has every kind of row to bring back."""
    config, toml = make_config(folder, db_url)
    config.data_dir.mkdir()
    store = open_of(config)
    archive = PhotoArchive(config.data_dir)
    records = [store_photo(store, archive, seq, seed) for seq, seed in ((1, 1), (2, 2), (2, 3), (3, 4))]
    store.import_roster([RosterEntry(id_number=id_number(1), name="张三", student_no="202300001",
                                     college="信息学院", class_name="计科2301", graduation_year=2027, level="本科",
                                     category="普通", captured_before=False)])
    Users(store.conn).add("admin", "admin", "a-long-password")
    store.close()
    return Office(config, toml, records)


@pytest.fixture
def office(tmp_path: Path) -> Office:
    """The office on SQLite (what these tests check does not depend on the engine)."""
    return build_office(tmp_path / "office", "sqlite:central.db")


@pytest.fixture
def office_on(engine: str, db_url: str, tmp_path: Path) -> Office:
    """The office on each engine."""
    return build_office(tmp_path / "office", db_url)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central.cli", *args], capture_output=True, text=True, cwd=REPO,
                          stdin=subprocess.DEVNULL, timeout=120)


def store_rows(config: CentralConfig) -> tuple[list[PhotoRecord], list[RosterEntry], list[str]]:
    store = open_of(config)
    try:
        return (store.photos(current_only=False), store.roster(),
                [row[0] for row in store.conn.execute("SELECT name FROM users ORDER BY name")])
    finally:
        store.close()


def test_check_store_passes_an_intact_store(office: Office) -> None:
    done = run("check-store", "--config", str(office.toml))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["checked 4 photo(s) (3 current): all intact"]


def test_check_store_names_each_damaged_photo_masked_and_exits_1(office: Office) -> None:
    data_dir = office.config.data_dir
    first, retake_old, _, last = office.records
    archive = PhotoArchive(data_dir)
    # A bit flipped in an older capture, a current capture deleted, a current file replaced by other bytes.
    damaged = bytearray(archive.capture_path(retake_old.photo_id).read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    archive.capture_path(retake_old.photo_id).write_bytes(bytes(damaged))
    archive.capture_path(first.photo_id).unlink()
    current = data_dir / "photos" / last.path
    current.unlink()
    current.write_bytes(jpeg_bytes(99))

    done = run("check-store", "--config", str(office.toml))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == ("checked 4 photo(s) (3 current): 3 photo(s) damaged or missing: restore them from a "
                         "backup")
    faults = {line.split()[1]: line for line in lines[:-1]}
    assert set(faults) == {first.photo_id, retake_old.photo_id, last.photo_id}
    assert f"captures/{first.photo_id}.jpg is missing" in faults[first.photo_id]
    assert "bytes do not match the stored sha256" in faults[retake_old.photo_id]
    assert "current photo file is not this capture's bytes" in faults[last.photo_id]
    for record in (first, retake_old, last):
        assert mask_id(record.id_number) in faults[record.photo_id]
    for record in office.records:
        assert record.id_number not in done.stdout


def test_backup_and_restore_bring_back_every_row_and_file(office_on: Office, empty_url: str, engine: str,
                                                           tmp_path: Path) -> None:
    office = office_on
    out = tmp_path / "backups" / "central-2027-06-01.tar"
    out.parent.mkdir()
    done = run("backup", "--out", str(out), "--config", str(office.toml))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"backup {out}: database and 4 of 4 photo file(s)"
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left beside it
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    database = "central.db" if engine == "sqlite" else "central.pgdump"
    assert names == {"backup.json", database, *(f"captures/{r.photo_id}.jpg" for r in office.records)}

    fresh, fresh_toml = make_config(tmp_path / "new-server", empty_url)
    done = run("restore", str(out), "--config", str(fresh_toml))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("restored the database and 4 photo file(s); checked 4 photo(s) (3 current): "
                                   "all intact")
    assert store_rows(fresh) == store_rows(office.config)
    restored = PhotoArchive(fresh.data_dir)
    for record in office.records:
        assert restored.capture_path(record.photo_id).read_bytes() == \
            PhotoArchive(office.config.data_dir).capture_path(record.photo_id).read_bytes()
    # The photos/ tree is rebuilt from the current rows: hard links to their captures.
    current = [r for r in store_rows(fresh)[0] if r.is_current]
    assert {r.photo_id for r in current} == {office.records[i].photo_id for i in (0, 2, 3)}
    for record in current:
        assert (fresh.data_dir / "photos" / record.path).samefile(restored.capture_path(record.photo_id))
    assert run("check-store", "--config", str(fresh_toml)).returncode == 0


def test_a_backup_taken_while_photos_are_stored_restores_intact(office_on: Office, empty_url: str,
                                                                 tmp_path: Path) -> None:
    """The snapshot-then-files rule: every row the snapshot holds has its file, whatever the ingest does."""
    office = office_on
    stop = threading.Event()
    stored: list[PhotoRecord] = []

    def ingest() -> None:
        store = open_of(office.config)
        archive = PhotoArchive(office.config.data_dir)
        seq = 100
        while not stop.is_set():
            seq += 1
            stored.append(store_photo(store, archive, seq % 7 + 10, seq))
        store.close()

    writer = threading.Thread(target=ingest)
    writer.start()
    try:
        while len(stored) < 5:
            threading.Event().wait(0.01)
        report = write_backup(office.config, tmp_path / "live.tar")
    finally:
        stop.set()
        writer.join()
    assert not report.left_out and report.files == report.rows > len(office.records)
    fresh, _ = make_config(tmp_path / "restored", empty_url)
    restored = restore_backup(fresh, tmp_path / "live.tar")
    assert restored.check.ok, [fault.line() for fault in restored.check.faults]
    assert restored.check.checked == report.rows
    rows = store_rows(fresh)[0]
    assert len({r.id_number for r in rows if r.is_current}) == len([r for r in rows if r.is_current])


def test_a_damaged_photo_is_left_out_of_the_backup_named_and_the_restore_says_so(office: Office,
                                                                                 tmp_path: Path) -> None:
    lost = office.records[3]
    PhotoArchive(office.config.data_dir).capture_path(lost.photo_id).write_bytes(b"not the photo")
    out = tmp_path / "backup.tar"
    done = run("backup", "--out", str(out), "--config", str(office.toml))
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"BAD {lost.photo_id} {mask_id(lost.id_number)} 信息学院/计科2301: captures/{lost.photo_id}.jpg is 13 "
        f"bytes, its row says {lost.size}",
        f"backup {out}: database and 3 of 4 photo file(s); 1 photo(s) left out, damaged in the store (see "
        "check-store)"]
    _, fresh_toml = make_config(tmp_path / "restored")
    done = run("restore", str(out), "--config", str(fresh_toml))
    assert done.returncode == 1, done.stderr
    assert f"BAD {lost.photo_id} {mask_id(lost.id_number)}" in done.stdout
    assert "missing" in done.stdout and lost.id_number not in done.stdout


def _one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


def test_backup_never_overwrites_and_needs_an_existing_folder(office: Office, tmp_path: Path) -> None:
    existing = tmp_path / "old-backup.tar"
    existing.write_bytes(b"yesterday's backup")
    _one_line(run("backup", "--out", str(existing), "--config", str(office.toml)), "already exists",
              "name a new file")
    assert existing.read_bytes() == b"yesterday's backup"
    nowhere = tmp_path / "no-such-folder" / "backup.tar"
    _one_line(run("backup", "--out", str(nowhere), "--config", str(office.toml)), "does not exist")
    assert not nowhere.parent.exists()


def test_a_failed_backup_leaves_no_file(office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    add = tarfile.TarFile.add

    def full_disk(self: tarfile.TarFile, *args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        add(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tarfile.TarFile, "add", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_backup(office.config, tmp_path / "backup.tar")
    assert list(tmp_path.iterdir()) == [tmp_path / "office"]


def test_restore_refuses_a_store_that_is_not_empty_and_changes_nothing(office_on: Office, engine: str,
                                                                        tmp_path: Path) -> None:
    office = office_on
    out = tmp_path / "backup.tar"
    write_backup(office.config, out)
    before = store_rows(office.config)
    files = sorted(office.config.data_dir.rglob("*"))
    expected = (("already holds a store", "restore into an empty data folder") if engine == "sqlite"
                else ("already holds tables", "restore into a new empty database"))
    _one_line(run("restore", str(out), "--config", str(office.toml)), *expected)
    assert store_rows(office.config) == before
    assert sorted(office.config.data_dir.rglob("*")) == files


def test_restore_refuses_another_engines_backup(office: Office, postgres: PostgresServer, tmp_path: Path) -> None:
    out = tmp_path / "backup.tar"
    write_backup(office.config, out)
    _, toml = make_config(tmp_path / "pg", postgres.create_database())
    _one_line(run("restore", str(out), "--config", str(toml)), "a sqlite backup, and storage.db_url is postgresql")


def test_restore_refuses_what_is_not_a_whole_backup_and_writes_nothing(office: Office, tmp_path: Path) -> None:
    out = tmp_path / "backup.tar"
    write_backup(office.config, out)
    fresh, fresh_toml = make_config(tmp_path / "restored")
    not_tar = tmp_path / "roster.csv"
    not_tar.write_text("id_number,name\n", encoding="utf-8")
    _one_line(run("restore", str(not_tar), "--config", str(fresh_toml)), "not a booth-central backup")
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    _one_line(run("restore", str(truncated), "--config", str(fresh_toml)), str(truncated))
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        tar.add(not_tar, arcname="roster.csv")
    with pytest.raises(BackupError, match="not a booth-central backup"):
        restore_backup(fresh, other)
    assert not (fresh.data_dir / "central.db").exists()
    assert not any(path.is_file() for path in fresh.data_dir.rglob("*"))


def test_a_failed_pg_restore_restores_nothing(postgres: PostgresServer, postgres_url: str, tmp_path: Path) -> None:
    out = tmp_path / "backup.tar"
    write_backup(build_office(tmp_path / "office", postgres_url).config, out)
    target_url = postgres.create_database()
    # No table, so the store counts as empty, but a sequence the dump creates too: pg_restore fails.
    with psycopg.connect(target_url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE audit_seq_seq")
    target, toml = make_config(tmp_path / "restored", target_url)
    _one_line(run("restore", str(out), "--config", str(toml)), "pg_restore failed", "nothing was restored")
    assert not any(path.is_file() for path in target.data_dir.rglob("*"))
    with psycopg.connect(target_url) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                            ).fetchone() == (0,)
