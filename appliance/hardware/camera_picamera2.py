"""The Raspberry Pi camera through picamera2 (Debian's python3-picamera2; imported only here).

One configuration serves both needs: the ``main`` stream at the sensor's full resolution for the
still the checks and the crop use, and a small ``lores`` stream for the live preview, so the
countdown never reconfigures the camera. picamera2's "BGR888" format is laid out R, G, B in memory
(libcamera names formats by their little-endian word order), which is the RGB array the booth wants.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from appliance.hardware.camera import CameraNotStarted

PREVIEW_SIZE = (640, 480)  # lores stream: the Pi 4 ISP delivers it as YUV420 only


class Picamera2Camera:
    """``Camera`` over a libcamera sensor (Camera Module 3: 4608x2592); lores YUV420 is I420 (U before V)."""

    def __init__(self, camera_num: int = 0, preview_size: tuple[int, int] = PREVIEW_SIZE) -> None:
        self.camera_num = camera_num
        self.preview_size = preview_size
        self._camera: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        from picamera2 import Picamera2  # hardware-only: apt's python3-picamera2

        camera = Picamera2(self.camera_num)
        config = camera.create_still_configuration(
            main={"size": tuple(camera.sensor_resolution), "format": "BGR888"},
            lores={"size": self.preview_size, "format": "YUV420"}, display=None, buffer_count=2)
        camera.configure(config)
        camera.start()
        self._camera = camera

    def _running(self) -> Any:
        if self._camera is None:
            raise CameraNotStarted("the camera is not started")
        return self._camera

    def preview_frame(self) -> np.ndarray:
        with self._lock:
            yuv = self._running().capture_array("lores")
        return cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)

    def capture(self) -> np.ndarray:
        with self._lock:
            frame = self._running().capture_array("main")
        return np.ascontiguousarray(frame[:, :, :3])

    def close(self) -> None:
        with self._lock:
            camera, self._camera = self._camera, None
        if camera is not None:
            camera.stop()
            camera.close()
