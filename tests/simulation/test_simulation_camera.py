"""The simulated camera: the Camera protocol over the scene, with per-frame sensor noise."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.hardware.camera import Camera, CameraNotStarted
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.simulation import render_scene


def test_it_is_a_camera_and_refuses_frames_before_start_and_after_close():
    camera: Camera = SimulatedCamera(resolution=(480, 640))
    with pytest.raises(CameraNotStarted):
        camera.preview_frame()
    camera.start()
    assert camera.capture().shape == (640, 480, 3)
    camera.close()
    with pytest.raises(CameraNotStarted):
        camera.capture()


def test_preview_keeps_the_sensor_aspect_and_capture_has_the_sensor_size():
    camera = SimulatedCamera(resolution=(960, 1280), preview_long_side=640)
    camera.start()
    preview, still = camera.preview_frame(), camera.capture()
    assert preview.shape == (640, 480, 3) and preview.dtype == np.uint8
    assert still.shape == (1280, 960, 3) and still.dtype == np.uint8
    landscape = SimulatedCamera(resolution=(1600, 900))
    landscape.start()
    assert landscape.preview_frame().shape == (360, 640, 3)


def test_frames_differ_by_noise_only():
    camera = SimulatedCamera(resolution=(480, 640), frame_noise=2.0, seed=1)
    camera.start()
    camera.set_subject(2, {"dark_glasses"})
    first, second = camera.capture().astype(np.int16), camera.capture().astype(np.int16)
    scene = render_scene(2, {"dark_glasses"}, (480, 640)).astype(np.int16)
    assert not np.array_equal(first, second)
    assert np.abs(first - second).mean() < 4
    assert abs(float((first - scene).mean())) < 0.5
    assert 1.0 < float((first - scene).std()) < 3.0


def test_without_noise_the_frame_is_the_scene():
    camera = SimulatedCamera(resolution=(480, 640), frame_noise=0)
    camera.start()
    camera.set_subject(5, frozenset({"blur"}))
    assert camera.subject == (5, frozenset({"blur"}))
    assert np.array_equal(camera.capture(), render_scene(5, {"blur"}, (480, 640)))


def test_bad_settings_and_unknown_faults_are_refused():
    with pytest.raises(ValueError):
        SimulatedCamera(resolution=(10, 10))
    with pytest.raises(ValueError):
        SimulatedCamera(frame_noise=-1)
    camera = SimulatedCamera()
    with pytest.raises(ValueError, match="unknown fault"):
        camera.set_subject(1, {"wig"})
    assert camera.subject == (0, frozenset())
