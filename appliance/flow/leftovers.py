"""What a crash in the save path leaves in the photo folder, cleaned up at start.

A photo is written first (``photos/<photo_id>/<id_number>.jpg``, atomically) and then recorded
in the ledger; the student is told "saved" only after that commit. A kill in between leaves a
complete file (a face and a full ID number) that nothing refers to, a half-written temp file, or
an empty folder. None of them was ever reported as saved or queued for upload (the outbox is fed
after the ledger commit), so they are removed, not adopted: the student was never told the photo
was kept, and the monitor swipes the card again.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from appliance.ledger import Ledger
from boothcore.durable import remove_stale_temps
from boothcore.privacy import mask_id

log = logging.getLogger(__name__)


@dataclass
class Leftovers:
    """What ``remove_leftovers`` removed (paths inside the photo folder)."""

    temps: list[Path] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)  # complete files without a ledger row
    folders: list[Path] = field(default_factory=list)  # empty photo folders


def _masked(path: Path, photos: Path) -> str:
    """``<photo_id>/110105********002X.jpg``: the photo id is random, the ID number is masked
    (a temp file is named ``.<id_number>.jpg.<random>.tmp``)."""
    id_number = path.name.lstrip(".").split(".", 1)[0]
    return f"{path.parent.relative_to(photos).as_posix()}/{mask_id(id_number)}.jpg"


def remove_leftovers(photos: Path, ledger: Ledger) -> Leftovers:
    """Remove temp files, files with no accepted ledger row, then empty folders, under ``photos``.

    A file is kept only if it is ``<photo_id>/<id_number>.jpg`` of an accepted capture in the ledger
    (the file name is compared, not the stored path, so a moved data folder stays valid). Each
    removal is logged with the ID number masked. Returns what was removed.
    """
    found = Leftovers()
    if not photos.is_dir():
        return found
    found.temps = remove_stale_temps(photos)
    for path in found.temps:
        log.warning("booth: removed a half-written photo left by a crash: %s", _masked(path, photos))
    kept = {f"{photo_id}/{id_number}.jpg" for photo_id, id_number in ledger.accepted_files()}
    for path in sorted(photos.glob("*/*")):
        if path.is_file() and path.relative_to(photos).as_posix() not in kept:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                found.orphans.append(path)
                log.warning("booth: removed a photo a crash left without a ledger row (never reported saved):"
                            " %s", _masked(path, photos))
    for folder, _, _ in os.walk(photos, topdown=False):
        current = Path(folder)
        if current != photos and not any(current.iterdir()):
            current.rmdir()
            found.folders.append(current)
    if found.folders:
        log.warning("booth: removed %d empty photo folder(s) left by a crash", len(found.folders))
    return found
