"""``booth-central backup`` and ``restore``: the database and every stored photo's bytes in one file.

The file is an uncompressed tar (JPEGs do not compress) holding
  ``central.db``               a snapshot of the SQLite store by the online backup API;
  ``captures/<photo_id>.jpg``  the bytes of every photo row in that snapshot, each checked against
                               its row's sha256 before it goes in (a damaged one is left out, named);
  ``backup.json``              what the file is: format, engine, when, counts, the photos left out.

Consistency without stopping the ingest: the database is snapshotted first, then the capture files
of the snapshot's rows are copied. Central fsyncs a capture file before it commits its row and
never rewrites or removes one (``central.photos``), so every file the snapshot names is on disk and
final; photos stored after the snapshot are in neither the rows nor the files. The
``photos/<college>/<class>/<id_number>.jpg`` tree is not copied: it is hard links to the current
captures, and the live tree may already have moved past the snapshot; restore rebuilds it from the
snapshot's current rows.

The backup is written to a temporary file beside ``--out``, fsynced and renamed: a failed backup
leaves no file. Restore goes into an empty store only; it unpacks into a temporary folder, links the
current photos, moves the result into place and then checks it as ``check-store`` does.
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
from central.store import SqliteStore, sqlite_path

FORMAT = "booth-central-backup"
VERSION = 1
MANIFEST = "backup.json"
SQLITE_MEMBER = "central.db"
_CAPTURE = re.compile(r"^captures/([0-9a-f]{32})\.jpg$")


class BackupError(CommandError):
    """A backup or restore that cannot be done; its text is the one line for the operator."""


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


def _sqlite_snapshot(config: CentralConfig, target: Path) -> None:
    """The store's database as of one moment, copied by SQLite's online backup API (writers go on)."""
    store = SqliteStore(sqlite_path(config.storage.db_url, config.data_dir))
    try:
        with contextlib.closing(sqlite3.connect(target)) as copy:
            store.conn.backup(copy)
    finally:
        store.close()


def write_backup(config: CentralConfig, out: Path) -> BackupReport:
    """Write the backup file ``out`` (new) of the store ``config`` names. BackupError: bad ``out``."""
    _new_file(out)
    report = BackupReport(out)
    archive = PhotoArchive(config.data_dir)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=out.parent) as work:
        snapshot = Path(work) / SQLITE_MEMBER
        _sqlite_snapshot(config, snapshot)
        copy = SqliteStore(snapshot)
        try:
            records = copy.photos(current_only=False)
        finally:
            copy.close()
        with _atomic_output(out) as handle, tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(snapshot, arcname=SQLITE_MEMBER)
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
                "format": FORMAT, "version": VERSION, "engine": "sqlite",
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


def _empty_target(config: CentralConfig) -> Path:
    """The database path, when the configured store is empty (BackupError otherwise)."""
    database = sqlite_path(config.storage.db_url, config.data_dir)
    occupied = [path for path in (config.data_dir / "captures", config.data_dir / "photos")
                if path.is_dir() and any(path.iterdir())]
    if database.exists() or occupied:
        raise BackupError(f"storage.data_dir {config.data_dir} already holds a store: restore into an empty "
                          "data folder (move the old one aside, or point --config at a new one)")
    return database


def restore_backup(config: CentralConfig, source: Path) -> RestoreReport:
    """Restore the backup file ``source`` into the empty store of ``config``; check the result.

    BackupError: not a backup, another engine's, or the store is not empty. Photos the backup
    left out, or whose bytes are damaged in it, are faults of the returned check.
    """
    if not tarfile.is_tarfile(source):
        raise BackupError(f"{source}: not a booth-central backup (not a tar file): name a file made by "
                          "booth-central backup")
    try:
        with tarfile.open(source, mode="r:") as tar:
            manifest = _manifest(tar, source)
            if manifest.get("engine") != "sqlite":
                raise BackupError(f"{source}: a {manifest.get('engine')} backup; storage.db_url is SQLite: "
                                  "restore it into a store of the same engine")
            database = _empty_target(config)
            config.data_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".restore-", dir=config.data_dir) as work:
                staged = Path(work)
                files = _unpack(tar, source, staged)
                _link_current(staged)
                _move_into_place(staged, config.data_dir, database)
    except tarfile.TarError as error:
        raise BackupError(f"{source}: damaged or truncated ({error}): nothing was restored; use another "
                          "backup") from None
    store = SqliteStore(database)
    try:
        return RestoreReport(files, check_store(store, PhotoArchive(config.data_dir)))
    finally:
        store.close()


def _unpack(tar: tarfile.TarFile, source: Path, staged: Path) -> int:
    """Write the backup's database and captures below ``staged`` (names checked: nothing escapes)."""
    (staged / "captures").mkdir()
    files = 0
    seen_database = False
    for member in tar:
        if member.name == MANIFEST:
            continue
        if not member.isfile() or not (member.name == SQLITE_MEMBER or _CAPTURE.match(member.name)):
            raise BackupError(f"{source}: unexpected entry {member.name!r}: not a booth-central backup, or "
                              "altered")
        handle = tar.extractfile(member)
        assert handle is not None  # a regular file
        with (staged / member.name).open("wb") as target:
            shutil.copyfileobj(handle, target)
            target.flush()
            os.fsync(target.fileno())
        seen_database |= member.name == SQLITE_MEMBER
        files += member.name != SQLITE_MEMBER
    if not seen_database:
        raise BackupError(f"{source}: has no {SQLITE_MEMBER}: the backup is incomplete")
    fsync_dir(staged / "captures")
    return files


def _link_current(staged: Path) -> None:
    """Rebuild ``photos/`` from the restored rows: each current row's capture, hard-linked."""
    archive = PhotoArchive(staged)
    store = SqliteStore(staged / SQLITE_MEMBER)
    try:
        for record in store.photos(current_only=True):
            capture = archive.capture_path(record.photo_id)
            with contextlib.suppress(UnsafePathError):  # check-store names such a row
                current = archive.path_for(record.college, record.class_name, record.id_number)
                if capture.exists():  # a photo left out of the backup has no file to link
                    PhotoArchive.install_current(capture, current)
    finally:
        store.close()


def _move_into_place(staged: Path, data_dir: Path, database: Path) -> None:
    """Move the restored folders into ``data_dir``, the database last (it is what makes a store)."""
    for name in ("captures", "photos"):
        target = data_dir / name
        if target.is_dir():
            target.rmdir()  # empty (checked): the restored one replaces it
        os.replace(staged / name, target)
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staged / SQLITE_MEMBER, database)  # a rename unless the database is on another disk
    fsync_dir(data_dir)
    fsync_dir(database.parent)
