"""Photo retention on the booth: a file goes only after central acknowledged it and the retention passed.

Central acknowledges a photo once it stored the whole file and verified its sha256 (the outbox row
turns ``acked``); until then the booth's copy is the only one, so nothing else is ever deleted.
The outbox row and the ledger row stay: they are the record that the photo was taken and delivered.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from appliance.uplink.outbox import Outbox
from boothcore.durable import fsync_dir
from boothcore.privacy import mask_ids_in

log = logging.getLogger(__name__)

DAY_S = 86400.0


@dataclass
class RetentionReport:
    deleted: list[str] = field(default_factory=list)  # photo ids whose file was deleted now
    freed_bytes: int = 0
    already_gone: int = 0  # acked photos whose file an earlier run deleted
    refused: list[str] = field(default_factory=list)  # outbox paths outside the photo folder (ID masked): never deleted

    def to_json(self) -> dict[str, object]:
        return {"deleted": len(self.deleted), "freed_bytes": self.freed_bytes, "already_gone": self.already_gone,
                "refused": self.refused}


def purge_acked_photos(outbox: Outbox, photo_root: Path, retention_days: float, *, now: float | None = None,
                       dry_run: bool = False) -> RetentionReport:
    """Delete the files of photos acked more than ``retention_days`` ago, inside ``photo_root`` only."""
    cutoff = (time.time() if now is None else now) - retention_days * DAY_S
    root = photo_root.resolve()
    report = RetentionReport()
    for photo_id, path in outbox.acked_photos(before=cutoff):
        target = path.resolve()
        if not target.is_relative_to(root) or target == root:
            log.error("retention: photo %s points outside %s (%s); not deleted", photo_id, root, path)
            report.refused.append(mask_ids_in(str(path)))  # printed to the journal: the file name is an ID number
            continue
        try:
            size = target.stat().st_size
        except FileNotFoundError:
            report.already_gone += 1
            continue
        if not dry_run:
            target.unlink()
            fsync_dir(target.parent)
            _remove_empty_folders(target.parent, root)
        report.deleted.append(photo_id)
        report.freed_bytes += size
    return report


def _remove_empty_folders(folder: Path, root: Path) -> None:
    """The per-photo folders (``photos/<photo_id>/``) once empty, never ``root`` itself."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:  # not empty (or already gone): stop here
            return
        fsync_dir(folder.parent)
        folder = folder.parent
