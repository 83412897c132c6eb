"""Atomic, durable file writes: a reader sees the old file or the whole new one, never a part.

temp file in the same folder -> write -> fsync -> os.replace -> fsync the folder. Stale temp files
from a crash are removed by ``remove_stale_temps`` at start.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | Path, data: bytes, mode: int = 0o640, *, sync_dir: bool = True,
                 overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically and durably; return the final path.

    ``sync_dir=False``: the caller fsyncs the folder itself, once for several files, before it
    counts on any of them (the file's bytes are fsynced here either way). ``overwrite=False``:
    FileExistsError when ``path`` exists, also one made meanwhile by another process (the whole
    file is linked into place, which fails on an existing name, instead of renamed over it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        if overwrite:
            os.replace(tmp_name, path)
        else:
            os.link(tmp_name, path)
            os.unlink(tmp_name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if sync_dir:
        fsync_dir(path.parent)
    return path


def remove_stale_temps(folder: str | Path, *, min_age_s: float = 0.0) -> list[Path]:
    """Delete temp files a crash left behind (recursively); return what was removed.

    ``min_age_s``: leave younger ones, where another process sharing the folder may be writing
    right now (central's ingest workers; a temp file lives for one write and rename)."""
    removed: list[Path] = []
    root = Path(folder)
    if not root.exists():
        return removed
    cutoff = time.time() - min_age_s
    for tmp in root.rglob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            if min_age_s and tmp.stat().st_mtime > cutoff:
                continue
            tmp.unlink()
            removed.append(tmp)
    return removed
