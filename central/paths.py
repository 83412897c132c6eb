"""Where a stored photo lives: ``<data>/photos/<college>/<class>/<id_number>.jpg``, never elsewhere.

The protocol module already refuses names with separators; this is the second wall, applied to
whatever reaches the file system, so a bug upstream still cannot write outside the data folder.
"""

from __future__ import annotations

from pathlib import Path

from boothcore.idnumber import IdNumberError, validate_canonical
from boothcore.names import BadName, check_name


class UnsafePathError(ValueError):
    """A name that cannot become a folder name, or a path that would leave the data folder."""


def safe_segment(name: str) -> str:
    """One folder name from a college/class name, by the shared name rule (``boothcore.names``)."""
    try:
        return check_name(str(name))
    except BadName as error:
        raise UnsafePathError(f"name {error.reason}") from None


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved, or UnsafePathError when it is not below ``root`` (symlinks followed)."""
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved == resolved_root or not resolved.is_relative_to(resolved_root):
        raise UnsafePathError("path leaves the data folder")
    return resolved


def photo_path(photos_root: Path, college: str, class_name: str, id_number: str) -> Path:
    """The file of the latest accepted photo of ``id_number``, checked to stay in ``photos_root``."""
    try:
        validate_canonical(id_number)
    except IdNumberError as error:
        raise UnsafePathError("ID number is not in canonical form" if error.code == "not_canonical"
                              else f"ID number is not valid: {error.code}") from None
    candidate = photos_root / safe_segment(college) / safe_segment(class_name) / f"{id_number}.jpg"
    return inside(photos_root, candidate)
