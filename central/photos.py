"""Storing verified photos: the file (atomic, fsynced) and then its row, once per photo_id.

Every capture is kept as ``<data>/captures/<photo_id>.jpg``; the one of a person central receives
last is also (a hard link, no second copy) ``<data>/photos/<college>/<class>/<id_number>.jpg`` and
its row is current; every capture keeps its row. The booth's ``captured_at`` orders nothing (a Pi
without an RTC may run ahead before NTP). A per-person lock keeps the write and the row together,
so the last file written is the current row: the store's own (``people_locked``: PostgreSQL
advisory locks, shared by workers on every machine), else a file lock (flock: SQLite's workers
are processes of one host).
``store_many`` is the group commit of the ingest: every file of a batch is written and fsynced,
then all rows are committed in one transaction (when the store offers ``batch()``), so a batch
costs one database sync instead of one per photo.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from boothcore.durable import TEMP_SUFFIX, fsync_dir, write_atomic
from central.paths import photo_path
from central.sql import RETRYABLE
from central.store import PhotoRecord, Store

_LOCK_SLOTS = 256
# A batch aborted by a deadlock runs again at once against the same other transaction, which by
# then holds its locks or has committed: the second attempt normally succeeds. Five attempts with
# pauses of up to 50, 100, ... ms ride out a burst of conflicts without holding a batch for long.
COMMIT_ATTEMPTS = 5
RETRY_PAUSE_S = 0.05
log = logging.getLogger("central.ingest")  # the ingest's logger (its filter masks ID numbers)


@dataclass(frozen=True)
class StoreResult:
    record: PhotoRecord
    new: bool  # False: this photo_id was stored before (a re-send)


def store_batch(store: Store) -> contextlib.AbstractContextManager[None]:
    """The store's group-commit block, or a no-op for a backend that commits each call."""
    batch = getattr(store, "batch", None)
    return batch() if callable(batch) else contextlib.nullcontext()


def commit_retried(store: Store, body: Callable[[], None]) -> None:
    """Run ``body`` in the store's group-commit block, and again when PostgreSQL aborted the
    transaction to break a deadlock or a serialization conflict (``RETRYABLE``), up to
    ``COMMIT_ATTEMPTS`` times after a short random pause. Nothing of an aborted attempt is durable,
    so ``body`` must only collect what it earned (acks, results) afresh each run: then each row is
    stored, and each ack sent, once. Raises the last error when every attempt failed."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            with store_batch(store):
                body()
            return
        except RETRYABLE as error:
            if attempt == COMMIT_ATTEMPTS:
                raise
            log.warning("a batch's transaction was aborted (%s, attempt %d of %d): running it again",
                        type(error).__name__, attempt, COMMIT_ATTEMPTS)
            time.sleep(random.uniform(0.0, RETRY_PAUSE_S * attempt))


class PhotoArchive:
    """Photo files below ``<data>/photos``; rows through a ``Store``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "photos"
        self.root.mkdir(parents=True, exist_ok=True)
        self.root_resolved = self.root.resolve()
        self.captures = self.data_dir / "captures"
        self.captures.mkdir(parents=True, exist_ok=True)
        self.locks = self.data_dir / "locks"
        self.locks.mkdir(parents=True, exist_ok=True)

    def path_for(self, college: str, class_name: str, id_number: str) -> Path:
        return photo_path(self.root, college, class_name, id_number)

    def capture_path(self, photo_id: str) -> Path:
        """Where every capture's bytes stay, current or not (photo ids are uuid4 hex: a safe name)."""
        return self.captures / f"{photo_id}.jpg"

    @staticmethod
    def install_current(capture: Path, current: Path, *, sync_dir: bool = True) -> None:
        """Make ``current`` the same file as ``capture`` (a hard link, renamed into place, durable;
        ``sync_dir=False``: the caller fsyncs ``current``'s folder, once for several photos)."""
        current.parent.mkdir(parents=True, exist_ok=True)
        tmp = current.with_name(f".{current.name}.{capture.stem}{TEMP_SUFFIX}")
        tmp.unlink(missing_ok=True)
        os.link(capture, tmp)
        os.replace(tmp, current)
        if sync_dir:
            fsync_dir(current.parent)

    def store_many(self, store: Store, items: Sequence[tuple[PhotoRecord, bytes]], *,
                   in_transaction: Callable[[], None] | None = None) -> list[StoreResult | Exception]:
        """Store several verified photos: files first (each fsynced, and each folder once after
        them), then every row in one commit.

        Returns, per item, its result or the exception that kept it from being stored (the others
        go on). ``in_transaction`` runs inside the same commit (the ingest's other row writes).
        Nothing is durable, and nothing may be acked, before this returns; when the commit itself
        fails it raises, and none of it may be acked.
        """
        results: list[StoreResult | Exception | None] = [None] * len(items)
        records: list[PhotoRecord | None] = [None] * len(items)
        for index, (record, _) in enumerate(items):
            try:
                path = self.path_for(record.college, record.class_name, record.id_number)
                records[index] = PhotoRecord(**{**record.__dict__,
                                                "path": str(path.relative_to(self.root_resolved))})
            except Exception as error:  # UnsafePathError: refused before any write
                results[index] = error
        to_add: list[tuple[int, PhotoRecord]] = []
        people = {r.id_number for r in records if r is not None}
        people_locked = getattr(store, "people_locked", None)
        locked = people_locked(people) if callable(people_locked) else \
            self._locked(sorted({self._slot(number) for number in people}))
        with locked:
            # Central's receive order, not the booth's clock: the photo completed last wins the file.
            existing = store.stored_photos(placed.photo_id for placed in records if placed is not None)
            seen: set[str] = set()
            folders: set[Path] = set()  # fsynced once each, after the batch's files
            for index, placed in enumerate(records):
                if placed is None:
                    continue
                try:
                    known = existing.get(placed.photo_id)
                    if known is not None or placed.photo_id in seen:
                        results[index] = StoreResult(known or placed, new=False)
                        continue
                    seen.add(placed.photo_id)
                    capture = write_atomic(self.capture_path(placed.photo_id), items[index][1], sync_dir=False)
                    current = self.root_resolved / placed.path
                    self.install_current(capture, current, sync_dir=False)
                    folders.update((capture.parent, current.parent))
                    to_add.append((index, placed))
                except Exception as error:  # a full disk, say: this photo is not stored, not acked
                    results[index] = error
            try:
                for folder in sorted(folders):  # the renames are durable before any row names them
                    fsync_dir(folder)
            except OSError as error:
                for index, _ in to_add:
                    results[index] = error
                to_add = []

            def rows() -> None:
                for index, result in self._add_rows(store, to_add).items():
                    results[index] = result
                if in_transaction is not None:
                    in_transaction()

            commit_retried(store, rows)  # a failed commit raises: nothing of this call is durable
        final = [result for result in results if result is not None]
        assert len(final) == len(results)
        return final

    @staticmethod
    def _add_rows(store: Store, to_add: list[tuple[int, PhotoRecord]]) -> dict[int, StoreResult | Exception]:
        """The rows of ``to_add`` (index, record) in one ``add_photos``; when that fails for a reason
        other than a retryable conflict, one by one, so a row the database refuses fails alone."""
        if not to_add:
            return {}
        try:
            stored = {record.photo_id: record for record in store.add_photos([placed for _, placed in to_add])}
        except RETRYABLE:
            raise
        except Exception:
            outcomes: dict[int, StoreResult | Exception] = {}
            for index, placed in to_add:
                try:
                    outcomes[index] = StoreResult(placed, new=store.add_photo(placed))
                except RETRYABLE:
                    raise
                except Exception as error:
                    outcomes[index] = error
            return outcomes
        return {index: StoreResult(stored.get(placed.photo_id, placed), new=placed.photo_id in stored)
                for index, placed in to_add}

    @staticmethod
    def _slot(id_number: str) -> int:
        return int(hashlib.sha256(id_number.encode()).hexdigest()[:4], 16) % _LOCK_SLOTS

    @contextlib.contextmanager
    def _locked(self, slots: list[int]) -> Iterator[None]:
        """Hold the per-person locks of ``slots`` (taken in ascending order: no deadlock)."""
        with contextlib.ExitStack() as stack:
            for slot in slots:
                handle: IO[bytes] = stack.enter_context(open(self.locks / f"{slot:03d}.lock", "a+b"))
                fcntl.flock(handle, fcntl.LOCK_EX)
                stack.callback(fcntl.flock, handle, fcntl.LOCK_UN)
            yield
