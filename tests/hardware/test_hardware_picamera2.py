"""The picamera2 backend against a stand-in for the sensor (the true hardware edge, ``fake_picamera2``)."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from appliance.config import load_config
from appliance.hardware import camera_picamera2
from appliance.hardware.camera import CameraNotStarted, CameraUnavailable
from appliance.hardware.camera_picamera2 import REOPEN_INTERVAL_S, Picamera2Camera
from tests.hardware.fake_picamera2 import SENSOR, install


@pytest.fixture
def fake_picamera2(monkeypatch):
    monkeypatch.setattr(camera_picamera2, "FRAME_TIMEOUT_S", 0.05)  # a stalled sensor is found at once
    return install(monkeypatch)


def test_config_picks_the_picamera2_backend_and_frames_are_rgb(fake_picamera2):
    from appliance.hardware.camera_choice import open_camera

    camera = open_camera(load_config(None, {"hardware": {"camera": "picamera2"}}).hardware)
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
    from appliance.hardware.camera_choice import open_camera

    sys.modules.pop("picamera2", None)
    open_camera(load_config(None, {}).hardware)
    assert "picamera2" not in sys.modules


def test_a_camera_missing_at_start_is_unavailable_and_found_when_plugged_in(fake_picamera2, clock):
    fake_picamera2.present = False
    camera = Picamera2Camera(clock=clock)
    with pytest.raises(CameraUnavailable, match=re.escape("camera 0 does not open (IndexError")):
        camera.start()
    with pytest.raises(CameraUnavailable, match="missing"):  # not tried again at every frame
        camera.preview_frame()
    fake_picamera2.present = True
    with pytest.raises(CameraUnavailable, match="missing"):
        camera.preview_frame()
    assert fake_picamera2.instances == []
    clock.now += REOPEN_INTERVAL_S
    assert camera.preview_frame().shape == (480, 640, 3)
    assert len(fake_picamera2.instances) == 1
    camera.close()
    assert fake_picamera2.instances[0].closed


def test_a_stalled_sensor_is_unavailable_closed_and_reopened_later(fake_picamera2, clock):
    camera = Picamera2Camera(clock=clock)
    camera.start()
    first = fake_picamera2.instances[0]
    fake_picamera2.stalled = True
    with pytest.raises(CameraUnavailable, match=re.escape("stopped delivering (no frame in 0.05 s)")):
        camera.preview_frame()
    assert first.closed  # released, so libcamera can give it to us again
    fake_picamera2.stalled = False
    clock.now += REOPEN_INTERVAL_S
    assert camera.capture().shape == (SENSOR[1], SENSOR[0], 3)
    assert len(fake_picamera2.instances) == 2 and not fake_picamera2.instances[1].closed
    camera.close()


def test_a_failing_capture_is_unavailable_not_an_error(fake_picamera2, clock):
    camera = Picamera2Camera(clock=clock)
    camera.start()
    fake_picamera2.broken = True
    with pytest.raises(CameraUnavailable, match=re.escape("stopped delivering (RuntimeError: Failed to queue buffer)")):
        camera.capture()
    fake_picamera2.broken = False
    with pytest.raises(CameraUnavailable):  # within the reopen interval
        camera.capture()
    clock.now += REOPEN_INTERVAL_S
    assert camera.capture().shape == (SENSOR[1], SENSOR[0], 3)
    camera.close()
