"""The Raspberry Pi camera through picamera2 (Debian's python3-picamera2; imported only here).

One configuration serves both needs: the ``main`` stream at the sensor's full resolution for the
still the checks and the crop use, and a small ``lores`` stream for the live preview, so the
countdown never reconfigures the camera. picamera2's "BGR888" format is laid out R, G, B in memory
(libcamera names formats by their little-endian word order), which is the RGB array the booth wants.

A sensor that is missing, busy, or stops delivering frames is ``CameraUnavailable`` (the booth shows
BLOCKED): at ``start()``, or when a frame does not come within ``FRAME_TIMEOUT_S``. The camera then
closes the sensor and opens it again when a frame is next asked for (at most every
``REOPEN_INTERVAL_S``), so a camera plugged back in, or one missing at start-up, is found again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from appliance.hardware.camera import CameraNotStarted, CameraUnavailable

PREVIEW_SIZE = (640, 480)  # lores stream: the Pi 4 ISP delivers it as YUV420 only
# A frame comes every 1/14 s at the Camera Module 3's full resolution (its fastest full-size mode,
# about 14 fps): 2 s without one is a stalled sensor, not a slow one.
FRAME_TIMEOUT_S = 2.0
# Opening a missing sensor fails at once, a wedged one can take FRAME_TIMEOUT_S: the booth loop asks
# for a frame every tick (0.25 s) while BLOCKED, the sensor is tried again no more often than this.
REOPEN_INTERVAL_S = 2.0


class Picamera2Camera:
    """``Camera`` over a libcamera sensor (Camera Module 3: 4608x2592); lores YUV420 is I420 (U before V)."""

    def __init__(self, camera_num: int = 0, preview_size: tuple[int, int] = PREVIEW_SIZE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.camera_num = camera_num
        self.preview_size = preview_size
        self._clock = clock
        self._camera: Any = None
        self._started = False  # between start() and close(): frames are wanted
        self._opened_at = -float("inf")
        self._lock = threading.Lock()

    def start(self) -> None:
        """Open the sensor; ``CameraUnavailable`` if it cannot (the camera keeps trying on each frame)."""
        with self._lock:
            self._started = True
            if self._camera is None:
                self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        from picamera2 import Picamera2  # hardware-only: apt's python3-picamera2

        camera = None
        try:
            camera = Picamera2(self.camera_num)
            config = camera.create_still_configuration(
                main={"size": tuple(camera.sensor_resolution), "format": "BGR888"},
                lores={"size": self.preview_size, "format": "YUV420"}, display=None, buffer_count=2)
            camera.configure(config)
            camera.start()
        except Exception as error:  # IndexError (no camera), RuntimeError (busy, did not start), OSError
            if camera is not None:
                _close_quietly(camera)
            raise CameraUnavailable(f"camera {self.camera_num} does not open ({type(error).__name__}: {error})"
                                    ) from error
        self._camera = camera

    def _frame(self, stream: str) -> np.ndarray:
        """The next frame of ``stream`` as picamera2 gives it; the lock is held."""
        if not self._started:
            raise CameraNotStarted("the camera is not started")
        if self._camera is None:
            if self._clock() - self._opened_at < REOPEN_INTERVAL_S:
                raise CameraUnavailable(f"camera {self.camera_num} is missing (tried again every "
                                        f"{REOPEN_INTERVAL_S:g} s)")
            self._open()
        try:
            job = self._camera.capture_array(stream, wait=False)
            return np.asarray(job.get_result(timeout=FRAME_TIMEOUT_S))
        except Exception as error:  # TimeoutError (no frame), RuntimeError from libcamera
            camera, self._camera = self._camera, None
            _close_quietly(camera)
            reason = f"no frame in {FRAME_TIMEOUT_S:g} s" if isinstance(error, TimeoutError) else \
                f"{type(error).__name__}: {error}"
            raise CameraUnavailable(f"camera {self.camera_num} stopped delivering ({reason})") from error

    def preview_frame(self) -> np.ndarray:
        with self._lock:
            yuv = self._frame("lores")
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)

    def capture(self) -> np.ndarray:
        with self._lock:
            frame = self._frame("main")
        return np.ascontiguousarray(frame[:, :, :3])

    def close(self) -> None:
        with self._lock:
            camera, self._camera, self._started = self._camera, None, False
        if camera is not None:
            camera.stop()
            camera.close()


def _close_quietly(camera: Any) -> None:
    """Release a sensor that failed; its own failure to stop is no news."""
    for step in (camera.stop, camera.close):
        with contextlib.suppress(Exception):
            step()
