"""``booth-central backup`` and ``restore``: the database and every stored photo's bytes in one file.

The file is an uncompressed tar (JPEGs do not compress) holding
  ``central.db``               SQLite: a snapshot of the store by SQLite's online backup API; or
  ``central.pgdump``           PostgreSQL: ``pg_dump --format=custom`` of the store's database;
  ``captures/<photo_id>.jpg``  the bytes of every photo row in that snapshot, each checked against
                               its row's sha256 before it goes in (a damaged one is left out, named);
  ``backup.json``              what the file is: format, engine, when, counts, the photos left out.

Consistency without stopping the ingest: the database is snapshotted first, and the capture files
of exactly the snapshot's rows are copied after it (SQLite: read from the snapshot file;
PostgreSQL: read in the transaction whose snapshot ``pg_dump --snapshot`` dumps). Central fsyncs a
capture file before it commits its row and never rewrites or removes one (``central.photos``), so
every file the snapshot names is on disk and final; photos stored after the snapshot are in neither
the rows nor the files. The ``photos/<college>/<class>/<id_number>.jpg`` tree is not copied: it is
hard links to the current captures, and the live tree may already have moved past the snapshot;
restore rebuilds it from the restored current rows.

The backup is written to a temporary file beside ``--out``, fsynced and renamed: a failed backup
leaves no file. Restore goes into an empty store only: it unpacks into a temporary folder, moves the
captures into place, loads the database (a failed load takes the captures back out), links the
current photos and then checks the result as ``check-store`` does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from boothcore.cli import CommandError
from boothcore.durable import TEMP_SUFFIX, fsync_dir
from central.check_store import PhotoFault, StoreCheck, capture_fault, check_store
from central.config import CentralConfig
from central.paths import UnsafePathError
from central.photos import PhotoArchive
from central.sql import PostgresConnection, safe_url
from central.store import PhotoRecord, PostgresStore, SqliteStore, open_office_store, sqlite_path

FORMAT = "booth-central-backup"
VERSION = 1
MANIFEST = "backup.json"
DATABASE_MEMBER = {"sqlite": "central.db", "postgresql": "central.pgdump"}
_CAPTURE = re.compile(r"^captures/([0-9a-f]{32})\.jpg$")


class BackupError(CommandError):
    """A backup or restore that cannot be done; its text is the one line for the operator."""


def engine_of(url: str) -> str:
    """``postgresql`` or ``sqlite``: the engine of a ``storage.db_url`` (checked by the config)."""
    return "postgresql" if url.startswith(("postgresql://", "postgres://")) else "sqlite"


@dataclass
class BackupReport:
    """What went into a backup file."""

    out: Path
    rows: int = 0
    files: int = 0
    left_out: list[PhotoFault] = field(default_factory=list)  # damaged in the store: row kept, no bytes

    def summary(self) -> str:
        missing = (f"; {len(self.left_out)} photo(s) left out, damaged in the store (see check-store)"
                   if self.left_out else "")
        return f"backup {self.out}: database and {self.files} of {self.rows} photo file(s){missing}"


def _new_file(out: Path) -> None:
    """Refuse an ``--out`` that would overwrite something or cannot be written (BackupError)."""
    if out.exists():
        raise BackupError(f"--out {out}: already exists: name a new file (a backup is never overwritten)")
    if not out.parent.is_dir():
        raise BackupError(f"--out {out}: the folder {out.parent} does not exist: create it or name another")


@contextlib.contextmanager
def _atomic_output(out: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside ``out``, renamed to it (fsynced) only when the block ends cleanly."""
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=TEMP_SUFFIX, dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    fsync_dir(out.parent)


def _postgres_tool(name: str) -> str:
    """The path of ``pg_dump`` / ``pg_restore`` (Debian's postgresql-client), or BackupError."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install PostgreSQL's client tools (apt-get install "
                          "postgresql-client) or put them on PATH")
    return found


def _run_tool(command: list[str], outcome: str) -> None:
    """Run pg_dump / pg_restore; its last error line (it names no password) and ``outcome`` as BackupError."""
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise BackupError(f"{Path(command[0]).name} failed ({reason}): {outcome}")


def _sqlite_snapshot(config: CentralConfig, target: Path) -> list[PhotoRecord]:
    """The store's database as of one moment, copied by SQLite's online backup API (writers go on);
    the photo rows of that copy."""
    store = SqliteStore(sqlite_path(config.storage.db_url, config.data_dir))
    try:
        with contextlib.closing(sqlite3.connect(target)) as copy:
            store.conn.backup(copy)
    finally:
        store.close()
    snapshot = SqliteStore(target)
    try:
        return snapshot.photos(current_only=False)
    finally:
        snapshot.close()


def _postgres_snapshot(config: CentralConfig, target: Path) -> list[PhotoRecord]:
    """``pg_dump`` of the store's database in the snapshot of one REPEATABLE READ transaction, whose
    photo rows are read in that same transaction (``pg_export_snapshot``)."""
    pg_dump = _postgres_tool("pg_dump")
    store = PostgresStore(config.storage.db_url)
    try:
        with store.conn.transaction():
            store.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = store.conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            _run_tool([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                       f"--file={target}", f"--dbname={config.storage.db_url}"], "no backup was written")
            return store.photos(current_only=False)
    finally:
        store.close()


def write_backup(config: CentralConfig, out: Path) -> BackupReport:
    """Write the backup file ``out`` (new) of the store ``config`` names. BackupError: bad ``out``,
    or pg_dump missing or failing."""
    _new_file(out)
    report = BackupReport(out)
    engine = engine_of(config.storage.db_url)
    archive = PhotoArchive(config.data_dir)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=out.parent) as work:
        dump = Path(work) / DATABASE_MEMBER[engine]
        records = (_postgres_snapshot if engine == "postgresql" else _sqlite_snapshot)(config, dump)
        with _atomic_output(out) as handle, tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(dump, arcname=dump.name)
            for record in records:
                report.rows += 1
                problem = capture_fault(archive, record)
                if problem is not None:
                    report.left_out.append(PhotoFault(record, problem))
                    continue
                capture = archive.capture_path(record.photo_id)
                tar.add(capture, arcname=f"captures/{capture.name}")
                report.files += 1
            _add_bytes(tar, MANIFEST, json.dumps({
                "format": FORMAT, "version": VERSION, "engine": engine,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "rows": report.rows, "files": report.files,
                "left_out": [fault.record.photo_id for fault in report.left_out],
            }, indent=1).encode())
    return report


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    info.mode = 0o640
    tar.addfile(info, io.BytesIO(data))


@dataclass
class RestoreReport:
    """A restored store and its check."""

    files: int
    check: StoreCheck

    def summary(self) -> str:
        return f"restored the database and {self.files} photo file(s); {self.check.summary()}"


def _manifest(tar: tarfile.TarFile, source: Path) -> dict[str, Any]:
    not_ours = BackupError(f"{source}: not a booth-central backup (no {MANIFEST}): name a file made by "
                           "booth-central backup")
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        if handle is None:
            raise not_ours
        manifest = json.loads(handle.read())
    except (KeyError, ValueError):
        raise not_ours from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise not_ours
    if manifest.get("version") != VERSION:
        raise BackupError(f"{source}: backup format version {manifest.get('version')!r}, this build reads "
                          f"{VERSION}: restore it with the build that made it")
    return manifest


def _postgres_empty(url: str) -> bool:
    """True when the database has no table of its own (DatabaseUnreachable: one line)."""
    conn = PostgresConnection(url)
    try:
        return conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN"
                            " ('pg_catalog', 'information_schema')").fetchone()[0] == 0
    finally:
        conn.close()


def _check_empty(config: CentralConfig, engine: str) -> None:
    """BackupError unless the configured store holds nothing (no database content, no captures)."""
    url = config.storage.db_url
    occupied = [path for path in (config.data_dir / "captures", config.data_dir / "photos")
                if path.is_dir() and any(path.iterdir())]
    if engine == "postgresql" and not _postgres_empty(url):
        raise BackupError(f"storage.db_url {safe_url(url)} already holds tables: restore into a new empty "
                          "database (createdb -T template0 -E UTF8 --locale=C NAME)")
    if (engine == "sqlite" and sqlite_path(url, config.data_dir).exists()) or occupied:
        raise BackupError(f"storage.data_dir {config.data_dir} already holds a store: restore into an empty "
                          "data folder (move the old one aside, or point --config at a new one)")


def restore_backup(config: CentralConfig, source: Path) -> RestoreReport:
    """Restore the backup file ``source`` into the empty store of ``config``; check the result.

    BackupError: not a backup, another engine's, the store is not empty, or pg_restore failed (then
    nothing is restored). Photos the backup left out, or whose bytes are damaged in it, are faults of
    the returned check. A backup of an older build's schema is migrated to this build's.
    """
    if not tarfile.is_tarfile(source):
        raise BackupError(f"{source}: not a booth-central backup (not a tar file): name a file made by "
                          "booth-central backup")
    engine = engine_of(config.storage.db_url)
    try:
        with tarfile.open(source, mode="r:") as tar:
            manifest = _manifest(tar, source)
            if manifest.get("engine") != engine:
                raise BackupError(f"{source}: a {manifest.get('engine')} backup, and storage.db_url is {engine}: "
                                  "restore it into a store of the same engine")
            _check_empty(config, engine)
            config.data_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".restore-", dir=config.data_dir) as work:
                staged = Path(work)
                files = _unpack(tar, source, staged, DATABASE_MEMBER[engine])
                _load(config, engine, staged)
    except tarfile.TarError as error:
        raise BackupError(f"{source}: damaged or truncated ({error}): nothing was restored; use another "
                          "backup") from None
    store = open_office_store(config, migrate=True)
    try:
        archive = PhotoArchive(config.data_dir)
        _link_current(store.photos(current_only=True), archive)
        return RestoreReport(files, check_store(store, archive))
    finally:
        store.close()


def _unpack(tar: tarfile.TarFile, source: Path, staged: Path, database: str) -> int:
    """Write the backup's database and captures below ``staged`` (names checked: nothing escapes)."""
    (staged / "captures").mkdir()
    files = 0
    seen_database = False
    for member in tar:
        if member.name == MANIFEST:
            continue
        if not member.isfile() or not (member.name == database or _CAPTURE.match(member.name)):
            raise BackupError(f"{source}: unexpected entry {member.name!r}: not a booth-central backup, or "
                              "altered")
        handle = tar.extractfile(member)
        assert handle is not None  # a regular file
        with (staged / member.name).open("wb") as target:
            shutil.copyfileobj(handle, target)
            target.flush()
            os.fsync(target.fileno())
        seen_database |= member.name == database
        files += member.name != database
    if not seen_database:
        raise BackupError(f"{source}: has no {database}: the backup is incomplete")
    fsync_dir(staged / "captures")
    return files


def _load(config: CentralConfig, engine: str, staged: Path) -> None:
    """Move the staged captures into place, then the database (the step that makes a store); when
    loading the database fails, the captures go back out and the error is raised."""
    captures = config.data_dir / "captures"
    if captures.is_dir():
        captures.rmdir()  # empty (checked): the restored one replaces it
    os.replace(staged / "captures", captures)
    fsync_dir(config.data_dir)
    try:
        if engine == "postgresql":
            _run_tool([_postgres_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                       "--single-transaction", f"--dbname={config.storage.db_url}",
                       str(staged / DATABASE_MEMBER[engine])], "nothing was restored")
        else:
            database = sqlite_path(config.storage.db_url, config.data_dir)
            database.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged / DATABASE_MEMBER[engine], database)  # a rename unless on another disk
            fsync_dir(database.parent)
    except BaseException:
        os.replace(captures, staged / "captures")
        raise


def _link_current(records: list[PhotoRecord], archive: PhotoArchive) -> None:
    """Rebuild ``photos/`` from the restored current rows: each one's capture, hard-linked."""
    for record in records:
        capture = archive.capture_path(record.photo_id)
        with contextlib.suppress(UnsafePathError):  # check-store names such a row
            current = archive.path_for(record.college, record.class_name, record.id_number)
            if capture.exists():  # a photo left out of the backup has no file to link
                PhotoArchive.install_current(capture, current)
