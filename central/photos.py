"""Storing one verified photo: the file (atomic, fsynced) and then its row, once per photo_id.

The latest accepted capture of a person wins the file ``<college>/<class>/<id_number>.jpg``; an
older capture arriving late is recorded but does not overwrite it. A per-person file lock (flock,
so it works across worker processes) keeps "is it the newest?", the write and the row together.
"""

from __future__ import annotations

import fcntl
import hashlib
from dataclasses import dataclass
from pathlib import Path

from appliance.durable import write_atomic
from central.paths import photo_path
from central.store import PhotoRecord, Store, utc

_LOCK_SLOTS = 256


@dataclass(frozen=True)
class StoreResult:
    record: PhotoRecord
    new: bool  # False: this photo_id was stored before (a re-send)


class PhotoArchive:
    """Photo files below ``<data>/photos``; rows through a ``Store``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "photos"
        self.root.mkdir(parents=True, exist_ok=True)
        self.locks = self.data_dir / "locks"
        self.locks.mkdir(parents=True, exist_ok=True)

    def path_for(self, college: str, class_name: str, id_number: str) -> Path:
        return photo_path(self.root, college, class_name, id_number)

    def store(self, store: Store, record: PhotoRecord, data: bytes) -> StoreResult:
        """Write ``data`` (already verified against ``record.sha256``) and commit the row."""
        path = self.path_for(record.college, record.class_name, record.id_number)
        record = PhotoRecord(**{**record.__dict__, "path": str(path.relative_to(self.root.resolve()))})
        slot = int(hashlib.sha256(record.id_number.encode()).hexdigest()[:4], 16) % _LOCK_SLOTS
        with open(self.locks / f"{slot:03d}.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                existing = store.photo(record.photo_id)
                if existing is not None:
                    return StoreResult(existing, new=False)
                current = store.current_photo(record.id_number)
                if current is None or utc(record.captured_at) >= current.captured_at:
                    write_atomic(path, data)
                store.add_photo(record)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        stored = store.photo(record.photo_id)
        return StoreResult(stored or record, new=True)
