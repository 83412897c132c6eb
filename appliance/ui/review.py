"""What the review screen shows: the 480x640 CHSI crop exactly as it will be saved, and what to fix."""

from __future__ import annotations

import numpy as np

from appliance.flow.outcomes import QualityReport, told_in_order
from boothcore.text import Text


def review_image(frame: np.ndarray | None, report: object) -> np.ndarray | None:
    """The crop the quality check rendered (``CheckReport.window``: the pixels ``crop_to_chsi``
    saves, before JPEG), or the camera frame when no face was found and there is no crop."""
    window = getattr(report, "window", None)
    return window if window is not None else frame


def review_fixes(report: QualityReport | None) -> list[Text]:
    """The instructions of the review (its root causes). In a rejected photo the faults that
    refuse it come first and each "confirm" one after them, marked a warning (as ``check-photo``
    marks it): a refused tongue-out photo listed "lower your chin" (a warning) above "close your
    lips" (the refusal), all alike. A warnings-only photo says so in its title instead."""
    if report is None:
        return []
    marked = report.verdict == "rejected"
    return [Text(f"{result.message.zh}(提醒)", f"{result.message.en} (warning)")
            if marked and result.severity == "confirm" else result.message for result in told_in_order(report)]
