"""A finished export folder as one zip, streamed: the dashboard's download of the registry package.

The zip is made while it is sent (the standard library's ``zipfile`` on a stream it cannot seek,
so each member carries a data descriptor after its bytes): one chunk of one file is in memory at a
time, however many photos the package holds. JPEGs (and a ``photos.zip``) are stored as they are;
they do not compress. The CSV files are deflated.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

CHUNK = 256 * 1024  # bytes read from a file at a time, and about the largest piece handed to the server
DEFLATED_SUFFIXES = (".csv",)


class _Sink(io.RawIOBase):
    """A write-only stream that keeps what was written until it is taken (``zipfile`` cannot seek it)."""

    def __init__(self) -> None:
        super().__init__()
        self._pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._pieces.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._pieces)
        self._pieces.clear()
        return data


def _files(folder: Path) -> Iterator[Path]:
    """Every regular file below ``folder``, in a stable order; symbolic links are not followed, so
    nothing outside the folder is sent."""
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


def zip_stream(folder: Path) -> Iterator[bytes]:
    """The zip of every file below ``folder`` (paths relative to it), piece by piece. OSError when a
    file cannot be read (the answer then breaks off: the client sees an incomplete download)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for path in _files(folder):
            info = zipfile.ZipInfo.from_file(path, path.relative_to(folder).as_posix())
            info.compress_type = (zipfile.ZIP_DEFLATED if path.suffix.lower() in DEFLATED_SUFFIXES
                                  else zipfile.ZIP_STORED)
            with path.open("rb") as source, archive.open(info, "w") as member:
                while chunk := source.read(CHUNK):
                    member.write(chunk)
                    if piece := sink.take():
                        yield piece
            if piece := sink.take():
                yield piece
    yield sink.take()
