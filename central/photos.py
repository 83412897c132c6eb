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
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from boothcore.durable import TEMP_SUFFIX, fsync_dir, write_atomic
from central.paths import photo_path
from central.store import PhotoRecord, Store

_LOCK_SLOTS = 256


@dataclass(frozen=True)
class StoreResult:
    record: PhotoRecord
    new: bool  # False: this photo_id was stored before (a re-send)


def store_batch(store: Store) -> contextlib.AbstractContextManager[None]:
    """The store's group-commit block, or a no-op for a backend that commits each call."""
    batch = getattr(store, "batch", None)
    return batch() if callable(batch) else contextlib.nullcontext()


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
    def install_current(capture: Path, current: Path) -> None:
        """Make ``current`` the same file as ``capture`` (a hard link, renamed into place, durable)."""
        current.parent.mkdir(parents=True, exist_ok=True)
        tmp = current.with_name(f".{current.name}.{capture.stem}{TEMP_SUFFIX}")
        tmp.unlink(missing_ok=True)
        os.link(capture, tmp)
        os.replace(tmp, current)
        fsync_dir(current.parent)

    def store_many(self, store: Store, items: Sequence[tuple[PhotoRecord, bytes]], *,
                   in_transaction: Callable[[], None] | None = None) -> list[StoreResult | Exception]:
        """Store several verified photos: files first (each fsynced), then every row in one commit.

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
            seen: set[str] = set()
            for index, placed in enumerate(records):
                if placed is None:
                    continue
                try:
                    existing = store.photo(placed.photo_id)
                    if existing is not None or placed.photo_id in seen:
                        results[index] = StoreResult(existing or placed, new=False)
                        continue
                    seen.add(placed.photo_id)
                    capture = write_atomic(self.capture_path(placed.photo_id), items[index][1])
                    self.install_current(capture, self.root_resolved / placed.path)
                    to_add.append((index, placed))
                except Exception as error:  # a full disk, say: this photo is not stored, not acked
                    results[index] = error
            with store_batch(store):  # a failed commit raises: nothing of this call is durable
                for index, placed in to_add:
                    try:
                        store.add_photo(placed)
                        results[index] = StoreResult(placed, new=True)
                    except Exception as error:
                        results[index] = error
                if in_transaction is not None:
                    in_transaction()
        final: list[StoreResult | Exception] = []
        for result in results:
            if isinstance(result, StoreResult) and result.new:
                stored = store.photo(result.record.photo_id)
                result = StoreResult(stored or result.record, new=True)
            assert result is not None
            final.append(result)
        return final

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
