"""The review shows the CHSI crop as it will be saved; the preview is a mirror, the saved photo never."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.app import ChsiPhotoOutput
from appliance.config import BoothConfig, parse_config
from appliance.flow import views
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.quality.checker import PhotoChecker
from appliance.quality.crop import CROWN_BAND, EYE_BAND
from appliance.quality.settings import QualitySettings
from appliance.simulation.roster_gen import generate_roster
from appliance.ui.pygame_display import PygameDisplay
from appliance.ui.review import review_image
from appliance.ui.view import Screen, View
from boothcore.chsi import OUT_H, OUT_W
from boothcore.config import ConfigError
from boothcore.text import Text


@pytest.fixture(scope="module")
def checker() -> PhotoChecker:
    return PhotoChecker(QualitySettings())


@pytest.fixture(scope="module")
def marked_capture(checker):
    """A compliant simulated capture with a red patch at the camera's left edge, and its report."""
    camera = SimulatedCamera()
    camera.start()
    camera.set_subject(2)
    frame = camera.capture()
    report = checker.check(frame)
    assert report.plan is not None and report.plan.inside
    plan = report.plan
    sw, sh = plan.source_size
    # Inside the crop window: left fifth, a little below the top (backdrop, away from the face).
    x0, y0 = int(plan.x0 + sw * 0.03), int(plan.y0 + sh * 0.03)
    frame[y0:y0 + int(sh * 0.05), x0:x0 + int(sw * 0.1)] = (230, 0, 0)
    return frame, checker.check(frame)


def _red_centre_x(rgb: np.ndarray) -> float:
    red = (rgb[:, :, 0] > 180) & (rgb[:, :, 1] < 60) & (rgb[:, :, 2] < 60)
    assert red.sum() > 20
    return float(np.nonzero(red)[1].mean())


def test_saved_photo_is_the_reviewed_crop_and_never_mirrored(marked_capture, tmp_path) -> None:
    frame, report = marked_capture
    shown = review_image(frame, report)
    assert shown is report.window and shown.shape == (OUT_H, OUT_W, 3)
    id_number = generate_roster(1, graduation_year=2027)[0].id_number
    saved = ChsiPhotoOutput(BoothConfig().output)(frame, report, id_number, tmp_path)
    jpeg = cv2.cvtColor(cv2.imread(str(saved.path)), cv2.COLOR_BGR2RGB)
    assert jpeg.shape == shown.shape
    assert np.abs(jpeg.astype(int) - shown.astype(int)).mean() < 6, "the file is the crop the student saw"
    assert _red_centre_x(jpeg) < OUT_W / 4, "the camera's left stays on the left: never mirrored"


def test_review_screen_draws_the_crop_unmirrored(marked_capture) -> None:
    frame, report = marked_capture
    view = views.review(review_image(frame, report), report.accepted, [], True, "booth-01")
    display = PygameDisplay(size=(1024, 600))
    try:
        display.show(view)
        rect = display.image_rect
        assert abs(rect.width / rect.height - OUT_W / OUT_H) < 0.01
        import pygame

        shot = pygame.surfarray.array3d(display.surface).transpose(1, 0, 2)
        drawn = shot[rect.top:rect.bottom, rect.left:rect.right]
        expected = cv2.resize(report.window, rect.size, interpolation=cv2.INTER_AREA)
        assert np.array_equal(drawn, expected)
    finally:
        display.close()


def _preview_red_side(mirror: bool, frame: np.ndarray) -> float:
    display = PygameDisplay(size=(1024, 600), mirror_preview=mirror)
    try:
        display.show(View(Screen.COUNTDOWN, Text("请保持不动", "Hold still"), image=frame, countdown=3))
        rect = display.image_rect
        import pygame

        shot = pygame.surfarray.array3d(display.surface).transpose(1, 0, 2)
        return _red_centre_x(shot[rect.top:rect.bottom, rect.left:rect.right]) / rect.width
    finally:
        display.close()


def test_preview_is_a_mirror_by_default_and_not_when_configured_off(marked_capture) -> None:
    frame, _ = marked_capture
    preview = cv2.resize(frame, (480, 640), interpolation=cv2.INTER_AREA)
    assert BoothConfig().hardware.preview_mirror is True
    assert _preview_red_side(True, preview) > 0.5
    assert _preview_red_side(False, preview) < 0.5


def test_preview_guide_marks_the_crops_crown_and_eye_bands() -> None:
    grey = np.full((640, 480, 3), 60, np.uint8)
    display = PygameDisplay(size=(1024, 600), mirror_preview=True)
    try:
        display.show(View(Screen.COUNTDOWN, Text("请保持不动", "Hold still"), image=grey, countdown=3))
        rect = display.image_rect
        import pygame

        shot = pygame.surfarray.array3d(display.surface).transpose(1, 0, 2)
        column = shot[rect.top:rect.bottom, rect.left + 3, 1].astype(int)  # at the window's edge
        scale = rect.height / OUT_H
        for low, high in (CROWN_BAND, EYE_BAND):
            inside = column[round(low * scale) + 2:round(high * scale) - 2]
            assert inside.min() > 90, "the band is lit"
            assert column[round(low * scale) - 4] == 60 and column[round(high * scale) + 4] == 60
    finally:
        display.close()


def test_screen_size_and_mirror_come_from_hardware_config() -> None:
    hardware = parse_config({"hardware": {"screen_size": "1080x1920", "preview_mirror": False}}).hardware
    assert hardware.screen_pixels == (1080, 1920) and hardware.preview_mirror is False
    assert BoothConfig().hardware.screen_pixels is None
    with pytest.raises(ConfigError, match=r"hardware.screen_size = 'big': must be auto or WIDTHxHEIGHT"):
        parse_config({"hardware": {"screen_size": "big"}})
