"""The camera interface: RGB frames as numpy arrays, never a JPEG round trip.

``preview_frame`` is small and fast (live preview, guidance); ``capture`` is the full-resolution
still the checks and the crop work on.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class CameraNotStarted(RuntimeError):
    """A frame was asked for before ``start()`` or after ``close()``."""


class CameraUnavailable(RuntimeError):
    """The sensor is missing or stopped delivering frames: the booth shows BLOCKED until it delivers again."""


class Camera(Protocol):
    def start(self) -> None:
        """Open the sensor. ``CameraUnavailable`` when it cannot; the frames asked for later then try
        it again (a camera missing at start-up is found when it is plugged in)."""
        ...

    def preview_frame(self) -> np.ndarray:
        """An HxWx3 uint8 RGB frame for the live preview (about 640x480); ``CameraUnavailable`` when
        the sensor gives none, ``CameraNotStarted`` before ``start()`` or after ``close()``."""
        ...

    def capture(self) -> np.ndarray:
        """A full-resolution HxWx3 uint8 RGB still."""
        ...

    def close(self) -> None: ...

