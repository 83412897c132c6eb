"""A camera that films the simulated booth scene: the demo and the tests run without a sensor.

The demo says who sits in front of the booth and what goes wrong (``set_subject``); each frame is
the cached rendered scene plus fresh sensor noise, so consecutive frames differ like a real
camera's while the person stays put. Preview frames are rendered small directly (cheap per tick).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import cv2
import numpy as np

from appliance.hardware.camera import CameraNotStarted
from appliance.simulation.faults import check_faults
from appliance.simulation.scene import render_scene

# Tile of noise reused with a random offset per frame: drawing fresh Gaussian noise for a 12 MP
# frame would cost more than the rest of the frame. Repeated once per frame size (``_noise_field``).
_NOISE_TILE = 512


class SimulatedCamera:
    """The ``Camera`` protocol over ``render_scene``.

    ``resolution`` is the sensor's (width, height) for ``capture``; the preview keeps the aspect and
    has ``preview_long_side`` pixels on its longer side. ``frame_noise`` is the sensor noise's
    standard deviation in 8-bit steps (0 = identical frames).
    """

    def __init__(self, resolution: tuple[int, int] = (960, 1280), preview_long_side: int = 640,
                 frame_noise: float = 2.0, seed: int | None = None) -> None:
        width, height = int(resolution[0]), int(resolution[1])
        if width < 64 or height < 64:
            raise ValueError(f"resolution {resolution}: at least 64x64")
        if frame_noise < 0:
            raise ValueError(f"frame_noise {frame_noise}: must be >= 0")
        self.resolution = (width, height)
        scale = preview_long_side / max(width, height)
        self.preview_size = (max(64, round(width * scale)), max(64, round(height * scale)))
        self.frame_noise = float(frame_noise)
        self._rng = np.random.default_rng(seed)
        self._noise = np.round(self._rng.normal(0, self.frame_noise, (_NOISE_TILE, _NOISE_TILE, 3))
                               ).astype(np.int16)
        self._lock = threading.Lock()
        self._fields: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._subject = 0
        self._faults: frozenset[str] = frozenset()
        self._started = False

    def start(self) -> None:
        self._started = True

    def close(self) -> None:
        self._started = False

    def set_subject(self, subject: int, faults: Iterable[str] = frozenset()) -> None:
        """Who is in front of the booth now, and which faults the scene shows (validated)."""
        chosen = check_faults(faults)
        with self._lock:
            self._subject = int(subject)
            self._faults = chosen

    @property
    def subject(self) -> tuple[int, frozenset[str]]:
        with self._lock:
            return self._subject, self._faults

    def preview_frame(self) -> np.ndarray:
        return self._frame(self.preview_size)

    def capture(self) -> np.ndarray:
        return self._frame(self.resolution)

    def _frame(self, size: tuple[int, int]) -> np.ndarray:
        if not self._started:
            raise CameraNotStarted("the simulated camera is not started")
        subject, faults = self.subject
        frame = render_scene(subject, faults, size)
        if self.frame_noise == 0:
            return frame
        return self._add_noise(frame)

    def _add_noise(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` plus the noise tile at a random offset, clipped to 0-255: two saturating uint8
        passes (OpenCV) over a field made once per frame size, so no int16 copy of the frame is made."""
        height, width = frame.shape[:2]
        plus, minus = self._noise_field(height, width)
        with self._lock:
            dy, dx = (int(v) for v in self._rng.integers(0, _NOISE_TILE, 2))
        window = (slice(dy, dy + height), slice(dx, dx + width))
        return cv2.subtract(cv2.add(frame, plus[window]), minus[window])

    def _noise_field(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """The tile repeated over (height + tile) x (width + tile), split into its positive and its
        negative part as uint8 (at each pixel one of them is 0, so adding one and subtracting the
        other, each saturating, is the clipped sum)."""
        with self._lock:
            field = self._fields.get((height, width))
            if field is None:
                reps = (height // _NOISE_TILE + 2, width // _NOISE_TILE + 2, 1)
                noise = np.tile(self._noise, reps)[:height + _NOISE_TILE, :width + _NOISE_TILE]
                field = (np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8))
                self._fields[(height, width)] = field
            return field
