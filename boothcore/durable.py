"""Atomic, durable file writes: a reader sees the old file or the whole new one, never a part.

temp file in the same folder -> write -> fsync -> os.replace -> fsync the folder. Stale temp files
from a crash are removed by ``remove_stale_temps`` at start.
"""

from __future__ import annotations

import contextlib
import errno
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


def why_unwritable(path: Path, error: OSError) -> str:
    """Why ``path`` (a file or folder the user named, to be created) cannot be written, as the words of
    an error line: a file where a folder should be, no permission, a read-only file system, a folder
    that takes no new files (/proc), else the system's reason. ``error`` is what creating it (or a
    temporary file beside it) raised."""
    blocker = next((parent for parent in path.parents if parent.exists()), None)
    if blocker is not None and not blocker.is_dir():
        return f"{blocker} is a file, not a folder"
    folder = blocker or path.parent
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"this user may not write in {folder}"
    if error.errno == errno.EROFS:
        return f"{folder} is on a read-only file system"
    if error.errno == errno.ENOENT and folder == path.parent:  # the folder is there and still refuses
        return f"{folder} takes no new files (a system folder)"
    return error.strerror or str(error)


def write_atomic(path: str | Path, data: bytes, mode: int = 0o640, *, sync_dir: bool = True,
                 overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically and durably; return the final path.

    ``sync_dir=False``: the caller fsyncs the folder itself, once for several files, before it
    counts on any of them (the file's bytes are fsynced here either way). ``overwrite=False``:
    FileExistsError when ``path`` exists, also one made meanwhile by another process (the whole
    file is linked into place, which fails on an existing name, instead of renamed over it). An
    OSError creating the folder or the temp file names ``path``, the file asked for, not the temp file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as error:
        raise type(error)(error.errno, error.strerror, str(path)) from None
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
