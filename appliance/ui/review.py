"""What the review screen shows: the 480x640 CHSI crop exactly as it will be saved."""

from __future__ import annotations

import numpy as np


def review_image(frame: np.ndarray | None, report: object) -> np.ndarray | None:
    """The crop the quality check rendered (``CheckReport.window``: the pixels ``crop_to_chsi``
    saves, before JPEG), or the camera frame when no face was found and there is no crop."""
    window = getattr(report, "window", None)
    return window if window is not None else frame
