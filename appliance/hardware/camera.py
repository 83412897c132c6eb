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
    """The sensor is missing or stopped delivering frames: the booth shows BLOCKED until it delivers again.

    ``Picamera2Camera`` does not yet translate libcamera's errors into it (they land in ERROR).
    """


class Camera(Protocol):
    def start(self) -> None: ...

    def preview_frame(self) -> np.ndarray:
        """An HxWx3 uint8 RGB frame for the live preview (about 640x480)."""
        ...

    def capture(self) -> np.ndarray:
        """A full-resolution HxWx3 uint8 RGB still."""
        ...

    def close(self) -> None: ...
