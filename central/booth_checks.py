"""The booth's own checks of a photo as the office reads them (photo_init's ``booth_checks``,
``boothcore.protocol.BoothChecks``): one row per check with its measure and limit as text.

The booth measures the frame before it is cropped and saved (face, pose, light, background: the
CHSI standard); central re-checks only the stored file (``central.export.photo_checks``). Check
values are not personal data: they are shown to every role alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BoothCheckRow:
    check: str  # the booth's check id (appliance.quality.checks), e.g. "head_pose"
    passed: bool
    value: str  # what the booth measured, as text; "—" when it could not measure it
    limit: str


def figure_text(figure: Any) -> str:
    """A measure as text: 0.732, a band 75–215, named ones "yaw 0.8 · pitch 1", or "—"."""
    if figure is None:
        return "—"
    if isinstance(figure, dict):
        return " · ".join(f"{name} {figure_text(value)}" for name, value in figure.items())
    if isinstance(figure, list):
        return "–".join(figure_text(value) for value in figure)
    return f"{figure:g}" if isinstance(figure, float) else str(figure)


def booth_check_rows(booth_checks: dict[str, Any] | None) -> list[BoothCheckRow] | None:
    """The rows of a stored ``PhotoRecord.booth_checks`` in the booth's order; None when the booth
    sent none (a booth build before protocol v1's booth_checks, or a photo queued again from its
    ledger after a crash)."""
    if booth_checks is None:
        return None
    return [BoothCheckRow(check=check_id, passed=bool(found.get("passed")), value=figure_text(found.get("value")),
                          limit=figure_text(found.get("limit")))
            for check_id, found in booth_checks.get("checks", {}).items()]
