"""A stand-in for the ``picamera2`` module at the sensor edge: it answers as the library does on a Pi.

``capture_array("main")`` is the configured BGR888 format (RGB in memory, with a padding channel),
``capture_array("lores")`` planar YUV420 (height * 3/2 rows); with ``wait=False`` it returns a job
whose ``get_result(timeout)`` raises ``TimeoutError`` when no frame came (picamera2's ``Job`` over a
``concurrent.futures.Future``). The sensor can be missing (``Picamera2()`` raises IndexError, as
picamera2 does when libcamera lists no camera), stall (no frame ever comes) or fail a capture.
"""

from __future__ import annotations

import sys
import types
from concurrent.futures import Future
from typing import ClassVar

import cv2
import numpy as np

SENSOR = (96, 64)  # (width, height), small for the tests


class FakePicamera2:
    instances: ClassVar[list[FakePicamera2]] = []
    present: ClassVar[bool] = True  # the ribbon cable is in
    stalled: ClassVar[bool] = False  # frames stop coming
    broken: ClassVar[bool] = False  # captures fail (libcamera's RuntimeError)

    def __init__(self, camera_num: int = 0) -> None:
        if not FakePicamera2.present:
            raise IndexError("list index out of range")
        self.sensor_resolution = SENSOR
        self.config: dict | None = None
        self.running = False
        self.closed = False
        self.scene = np.zeros((SENSOR[1], SENSOR[0], 3), np.uint8)
        self.scene[..., 0], self.scene[..., 1], self.scene[..., 2] = 100, 197, 255  # CHSI blue, RGB
        FakePicamera2.instances.append(self)

    def create_still_configuration(self, main, lores, display, buffer_count):
        return {"main": main, "lores": lores}

    def configure(self, config) -> None:
        self.config = config

    def start(self) -> None:
        self.running = True

    def _array(self, stream: str) -> np.ndarray:
        assert self.running and not self.closed, "capture before start or after close"
        if FakePicamera2.broken:
            raise RuntimeError("Failed to queue buffer")
        if stream == "main":
            assert self.config["main"] == {"size": SENSOR, "format": "BGR888"}
            padded = np.zeros((*self.scene.shape[:2], 4), np.uint8)  # XBGR-style padding channel
            padded[..., :3] = self.scene
            return padded
        width, height = self.config["lores"]["size"]
        small = cv2.resize(self.scene, (width, height))
        return cv2.cvtColor(small, cv2.COLOR_RGB2YUV_I420)

    def capture_array(self, stream: str = "main", wait=None):
        job = FakeJob()
        if not FakePicamera2.stalled:
            try:
                job.future.set_result(self._array(stream))
            except Exception as error:
                job.future.set_exception(error)
        return job.get_result() if wait in (None, True) else job

    def stop(self) -> None:
        self.running = False

    def close(self) -> None:
        self.closed = True


class FakeJob:
    def __init__(self) -> None:
        self.future: Future[np.ndarray] = Future()

    def get_result(self, timeout: float | None = None) -> np.ndarray:
        return self.future.result(timeout=timeout)


def install(monkeypatch) -> type[FakePicamera2]:
    """Put the stand-in where ``from picamera2 import Picamera2`` finds it, with a sensor that works."""
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    FakePicamera2.instances.clear()
    monkeypatch.setattr(FakePicamera2, "present", True)
    monkeypatch.setattr(FakePicamera2, "stalled", False)
    monkeypatch.setattr(FakePicamera2, "broken", False)
    return FakePicamera2
