"""Chunk staging on disk, shared by every ingest worker (any worker may get any chunk or the fin).

``<data>/staging/<booth>/<photo_id>/init.json``, ``<index>`` (raw chunk bytes) and ``fin``.
Each file appears by ``os.replace`` of a complete temp file, so a reader never sees half a chunk.
``fin`` marks a fin waiting for its answer: whoever removes it (``claim_fin``) sends that answer.
Staging is a cache, not a record: the booth keeps the photo until central acks "stored", and
the whole file is verified by sha256 before it is stored, so staged files are not fsynced (a
power cut at most costs a re-send). Folders untouched for the TTL are removed, and each booth's
staging is bounded (``make_room``): the oldest unfinished photos of that booth go first.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import threading
import time
from pathlib import Path

from boothcore.protocol import BOOTH_ID_PATTERN

_BOOTH = re.compile(BOOTH_ID_PATTERN)
_PHOTO = re.compile(r"^[0-9a-f]{32}$")
INIT_NAME, FIN_NAME = "init.json", "fin"
_TEMP_SEQ = itertools.count()


class Staging:
    """The staging area below ``root`` (``<data>/staging``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = str(self.root)

    def folder(self, booth: str, photo_id: str) -> Path:
        return Path(self._folder(booth, photo_id))

    def _folder(self, booth: str, photo_id: str) -> str:
        """The folder as text (every message touches it a few times; pathlib is not free)."""
        if not _BOOTH.match(booth) or not _PHOTO.match(photo_id):
            raise ValueError("bad booth or photo id for staging")
        return f"{self._root}/{booth}/{photo_id}"

    def _put(self, booth: str, photo_id: str, name: str, data: bytes) -> None:
        folder = self._folder(booth, photo_id)
        # A temp name unique to this process and thread (no random names, no retries: every
        # worker, in any process, writes its own), created exclusively, then renamed into place.
        tmp = f"{folder}/.{name}.{os.getpid()}-{threading.get_ident()}-{next(_TEMP_SEQ)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, f"{folder}/{name}")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def put_init(self, booth: str, photo_id: str, raw_json: bytes) -> None:
        self._put(booth, photo_id, INIT_NAME, raw_json)

    def put_chunk(self, booth: str, photo_id: str, index: int, data: bytes) -> None:
        self._put(booth, photo_id, str(int(index)), data)

    def put_fin(self, booth: str, photo_id: str) -> None:
        """An empty marker: it exists or not, so it needs no temp file."""
        folder = self._folder(booth, photo_id)
        try:
            fd = os.open(f"{folder}/{FIN_NAME}", os.O_WRONLY | os.O_CREAT, 0o600)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(f"{folder}/{FIN_NAME}", os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)

    def init(self, booth: str, photo_id: str) -> bytes | None:
        try:
            with open(f"{self._folder(booth, photo_id)}/{INIT_NAME}", "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def has_fin(self, booth: str, photo_id: str) -> bool:
        return os.path.exists(f"{self._folder(booth, photo_id)}/{FIN_NAME}")

    def claim_fin(self, booth: str, photo_id: str) -> bool:
        """Remove the fin marker; True for the one caller, of any worker or process, that removed it.

        An unlink succeeds once: of two workers that both found the photo stored, only the one
        that claims the staged fin acks it.
        """
        try:
            os.unlink(f"{self._folder(booth, photo_id)}/{FIN_NAME}")
        except FileNotFoundError:
            return False
        return True

    def present(self, booth: str, photo_id: str) -> dict[int, int]:
        """Staged chunk index -> its byte length."""
        found: dict[int, int] = {}
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self._folder(booth, photo_id)):
                if entry.name.isdigit():
                    with contextlib.suppress(FileNotFoundError):
                        found[int(entry.name)] = entry.stat().st_size
        return found

    def read_chunk(self, booth: str, photo_id: str, index: int) -> bytes:
        with open(f"{self._folder(booth, photo_id)}/{int(index)}", "rb") as handle:
            return handle.read()

    def drop_chunk(self, booth: str, photo_id: str, index: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{self._folder(booth, photo_id)}/{int(index)}")

    def discard(self, booth: str, photo_id: str, *, keep_fin: bool = False) -> None:
        """Remove the photo's folder (flat: files only); another worker may be removing it too.

        ``keep_fin``: leave a fin marker (and so the folder) for the worker whose fin it is to claim.
        """
        folder = self._folder(booth, photo_id)
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if keep_fin and entry.name == FIN_NAME:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)  # never made by staging; still go
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
        with contextlib.suppress(FileNotFoundError, OSError):
            os.rmdir(folder)  # not empty when a late chunk landed meanwhile: the TTL clean removes it

    def booth_usage(self, booth: str) -> list[tuple[float, int, str]]:
        """The booth's staged photos as (newest mtime, bytes, photo_id), oldest first.

        One stat per staged file: called once per announced photo (an init), never per chunk.
        """
        if not _BOOTH.match(booth):
            raise ValueError("bad booth id for staging")
        usage = []
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for photo_dir in os.scandir(f"{self._root}/{booth}"):
                if not _PHOTO.match(photo_dir.name):
                    continue
                newest, total = 0.0, 0
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    for entry in os.scandir(photo_dir.path):
                        with contextlib.suppress(FileNotFoundError):
                            stat = entry.stat(follow_symlinks=False)
                            newest, total = max(newest, stat.st_mtime), total + stat.st_size
                usage.append((newest, total, photo_dir.name))
        return sorted(usage)

    def make_room(self, booth: str, photo_id: str, size: int, limit: int) -> list[str]:
        """Discard the booth's oldest other staged photos until ``size`` more bytes fit in ``limit``.

        Returns the photo ids discarded (their booth re-sends them whole when it asks again).
        Raises ValueError when ``size`` alone exceeds ``limit``.
        """
        if size > limit:
            raise ValueError(f"a photo of {size} bytes exceeds the booth's staging bound of {limit} bytes")
        usage = [item for item in self.booth_usage(booth) if item[2] != photo_id]
        used = sum(nbytes for _, nbytes, _ in usage)
        evicted = []
        for _, nbytes, old in usage:
            if used + size <= limit:
                break
            self.discard(booth, old)
            used -= nbytes
            evicted.append(old)
        return evicted

    def clean_stale(self, ttl_s: float, now: float | None = None) -> int:
        """Remove photo folders whose newest file is older than ``ttl_s``; return how many."""
        now = time.time() if now is None else now
        removed = 0
        for booth_dir in list(self.root.iterdir()) if self.root.exists() else []:
            if not booth_dir.is_dir():
                continue
            for photo_dir in list(booth_dir.iterdir()):
                try:
                    newest = max([photo_dir.stat().st_mtime,
                                  *(entry.stat().st_mtime for entry in os.scandir(photo_dir))])
                except (FileNotFoundError, NotADirectoryError):
                    continue
                if now - newest > ttl_s:
                    shutil.rmtree(photo_dir, ignore_errors=True)
                    removed += 1
            with contextlib.suppress(OSError):
                booth_dir.rmdir()  # only succeeds when empty
        return removed
