"""Where a stored photo lives: ``<data>/photos/<college>/<class>/<id_number>.jpg``, never elsewhere.

The protocol module already refuses names with separators; this is the second wall, applied to
whatever reaches the file system, so a bug upstream still cannot write outside the data folder.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_SEGMENT = 64
_ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")


class UnsafePathError(ValueError):
    """A name that cannot become a folder name, or a path that would leave the data folder."""


def safe_segment(name: str) -> str:
    """One folder name from a college/class name: no separators, no dot names, no control chars."""
    text = unicodedata.normalize("NFC", str(name)).strip()
    if not text or len(text) > MAX_SEGMENT:
        raise UnsafePathError(f"name must have 1-{MAX_SEGMENT} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in text):  # NUL and every control char
        raise UnsafePathError("name contains control characters")
    if "/" in text or "\\" in text:
        raise UnsafePathError("name contains a path separator")
    if text.startswith("."):
        raise UnsafePathError("name starts with a dot")
    return text


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, or UnsafePathError when it is not below ``root`` (symlinks followed)."""
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved == resolved_root or not resolved.is_relative_to(resolved_root):
        raise UnsafePathError("path leaves the data folder")
    return resolved


def photo_path(photos_root: Path, college: str, class_name: str, id_number: str) -> Path:
    """The file of the latest accepted photo of ``id_number``, checked to stay in ``photos_root``."""
    if not _ID_NUMBER.match(id_number):
        raise UnsafePathError("ID number is not 17 digits and a digit or X")
    candidate = photos_root / safe_segment(college) / safe_segment(class_name) / f"{id_number}.jpg"
    return inside(photos_root, candidate)
