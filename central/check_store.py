"""``booth-central check-store``: every stored photo's bytes against the sha256 its row recorded.

A photo row is committed only after its capture file is fsynced, and a capture file is never
rewritten (``central.photos``), so a mismatch found here is damage (a disk error, a file edited or
deleted by hand, a restore that left files out), never a photo in flight. Each file is read once,
streamed (``hashlib.file_digest``). Lines name the photo id and the masked ID number only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from boothcore.privacy import mask_id
from central.paths import UnsafePathError, inside
from central.photos import PhotoArchive
from central.store import PhotoRecord, Store


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in blocks (OSError when it cannot be read)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class PhotoFault:
    """One stored photo whose bytes are not what its row says."""

    record: PhotoRecord
    problem: str  # what is wrong ("; " between several), in words an operator acts on; never the ID number

    def line(self) -> str:
        record = self.record
        return (f"BAD {record.photo_id} {mask_id(record.id_number)} {record.college}/{record.class_name}:"
                f" {self.problem}")


@dataclass
class StoreCheck:
    """What ``check_store`` found: counts and one fault per damaged photo, in the store's photo order."""

    checked: int = 0
    current: int = 0
    faults: list[PhotoFault] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults

    def summary(self) -> str:
        verdict = ("all intact" if self.ok
                   else f"{len(self.faults)} photo(s) damaged or missing: restore them from a backup")
        return f"checked {self.checked} photo(s) ({self.current} current): {verdict}"


def capture_fault(archive: PhotoArchive, record: PhotoRecord) -> str | None:
    """Why the capture file of ``record`` is not its stored bytes, or None when it is."""
    capture = archive.capture_path(record.photo_id)
    try:
        size = capture.stat().st_size
        if size != record.size:
            return f"captures/{capture.name} is {size} bytes, its row says {record.size}"
        if file_sha256(capture) != record.sha256:
            return f"captures/{capture.name}: bytes do not match the stored sha256"
    except FileNotFoundError:
        return f"captures/{capture.name} is missing"
    except OSError as error:
        return f"captures/{capture.name} cannot be read ({error.strerror})"
    return None


def _current_fault(archive: PhotoArchive, record: PhotoRecord) -> str | None:
    """Why the person's current photo file (a hard link to the capture) is not this capture."""
    try:
        current = inside(archive.root, archive.root / record.path)
        current_stat = current.stat()
        with contextlib.suppress(FileNotFoundError):  # a missing capture is its own fault
            if os.path.samestat(current_stat, archive.capture_path(record.photo_id).stat()):
                return None
        if file_sha256(current) != record.sha256:
            return "the person's current photo file is not this capture's bytes"
    except UnsafePathError:
        return "its stored path leaves the photos folder"
    except FileNotFoundError:
        return "the person's current photo file is missing"
    except OSError as error:
        return f"the person's current photo file cannot be read ({error.strerror})"
    return None


def check_store(store: Store, archive: PhotoArchive) -> StoreCheck:
    """Check every photo row of ``store`` (current or not) against its files in ``archive``."""
    check = StoreCheck()
    records = store.photos(current_only=False)
    current_count = Counter(record.id_number for record in records if record.is_current)
    for record in records:
        check.checked += 1
        problems = [capture_fault(archive, record)]
        if record.is_current:
            check.current += 1
            problems.append(_current_fault(archive, record))
            if current_count[record.id_number] > 1:
                problems.append("another photo of this person is also marked current")
        found = [problem for problem in problems if problem is not None]
        if found:
            check.faults.append(PhotoFault(record, "; ".join(found)))
    return check
