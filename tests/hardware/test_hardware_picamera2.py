"""The picamera2 backend against a stand-in for the sensor (the true hardware edge).

The stand-in ``picamera2`` module answers as the library does on a Pi: ``capture_array("main")``
in the configured BGR888 format (RGB in memory, sometimes with a padding channel) and
``capture_array("lores")`` as planar YUV420 (height * 3/2 rows).
"""

from __future__ import annotations

import sys
import types
from typing import ClassVar

import cv2
import numpy as np
import pytest

from appliance.config import load_config
from appliance.hardware.camera import CameraNotStarted

SENSOR = (96, 64)  # (width, height), small for the test


class FakePicamera2:
    instances: ClassVar[list[FakePicamera2]] = []

    def __init__(self, camera_num: int = 0) -> None:
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

    def capture_array(self, stream: str) -> np.ndarray:
        assert self.running, "capture before start"
        if stream == "main":
            assert self.config["main"] == {"size": SENSOR, "format": "BGR888"}
            padded = np.zeros((*self.scene.shape[:2], 4), np.uint8)  # XBGR-style padding channel
            padded[..., :3] = self.scene
            return padded
        width, height = self.config["lores"]["size"]
        small = cv2.resize(self.scene, (width, height))
        return cv2.cvtColor(small, cv2.COLOR_RGB2YUV_I420)

    def stop(self) -> None:
        self.running = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_picamera2(monkeypatch):
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2
    monkeypatch.setitem(sys.modules, "picamera2", module)
    FakePicamera2.instances.clear()
    return FakePicamera2


def test_config_picks_the_picamera2_backend_and_frames_are_rgb(fake_picamera2):
    from appliance.app import open_camera

    camera = open_camera(load_config(None, {"hardware": {"camera": "picamera2"}}))
    with pytest.raises(CameraNotStarted):
        camera.capture()
    camera.start()
    still = camera.capture()
    assert still.shape == (SENSOR[1], SENSOR[0], 3) and still.flags.c_contiguous
    assert tuple(still[10, 10]) == (100, 197, 255)
    preview = camera.preview_frame()
    assert preview.shape == (480, 640, 3)
    assert np.abs(preview[240, 320].astype(int) - (100, 197, 255)).max() <= 6  # YUV round trip
    camera.close()
    (sensor,) = fake_picamera2.instances
    assert sensor.closed and not sensor.running
    with pytest.raises(CameraNotStarted):
        camera.preview_frame()


def test_simulated_config_never_imports_picamera2():
    from appliance.app import open_camera

    sys.modules.pop("picamera2", None)
    open_camera(load_config(None, {}))
    assert "picamera2" not in sys.modules
