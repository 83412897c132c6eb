"""The pygame display, drawn for real with SDL's dummy driver and checked pixel by pixel."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pygame
import pytest

from appliance.ui.inputs import BUTTON, QUIT, RETAKE, UiInput
from appliance.ui.pygame_display import BACKGROUND, INK, TONE_COLOURS, PygameDisplay
from appliance.ui.view import Screen, Tone, View
from boothcore.fonts import find_cjk_font
from boothcore.text import Text

STATUS = "booth-01 · 软件2101 · 3/30"


def _view(screen: Screen, **extra: object) -> View:
    base: dict[str, object] = {
        "title": Text("请刷身份证", "Please swipe your ID card"),
        "lines": (Text("班长刷卡", "The class monitor swipes the card"),),
        "status": STATUS,
    }
    base.update(extra)
    return View(screen, **base)  # type: ignore[arg-type]


def _scene(colour: tuple[int, int, int] = (100, 197, 255)) -> np.ndarray:
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:] = colour
    return frame


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_chinese_glyphs_render_as_distinct_shapes_not_boxes() -> None:
    path = find_cjk_font()
    assert path is not None, "fonts-wqy-microhei (Makefile APT_PACKAGES) must be installed"
    pygame.font.init()
    font = pygame.font.Font(path, 48)

    def bitmap(char: str) -> bytes:
        return pygame.image.tobytes(font.render(char, False, (255, 255, 255), (0, 0, 0)), "RGB")

    zhong, guo, tofu = bitmap("中"), bitmap("国"), bitmap("\ue000")  # U+E000: private use, no glyph
    assert zhong != guo
    assert tofu not in (zhong, guo)
    assert any(zhong) and any(guo)


@pytest.mark.parametrize("screen", list(Screen))
def test_every_screen_draws_header_tone_title_and_status(display: PygameDisplay, grab, screen: Screen) -> None:
    tone = Tone.WARN
    extra: dict[str, object] = {"tone": tone}
    if screen in (Screen.COUNTDOWN, Screen.REVIEW):
        extra["image"] = _scene()
    if screen == Screen.COUNTDOWN:
        extra["countdown"] = 3
    if screen == Screen.SUMMARY:
        extra["qr_text"] = "https://qr.alipay.com/booth-fee-demo"
    display.show(_view(screen, **extra))
    shot = grab(display)
    header_h = round(46 * display._u)
    # The tone strip under the header spans the whole width.
    assert (shot[header_h + 2] == TONE_COLOURS[tone]).all()
    # The status text is drawn in the header (light pixels on the dark bar).
    assert (shot[:header_h, : display.size[0] // 2].min(axis=2) > 200).sum() > 200
    # The title is drawn in the tone colour (warn), plenty of solid glyph pixels in the body.
    body = shot[header_h + 10:]
    assert (body == TONE_COLOURS[tone]).all(axis=2).sum() > 300


def test_text_screen_is_centred_and_uses_ink(display: PygameDisplay, grab) -> None:
    display.show(_view(Screen.IDLE))
    shot = grab(display)
    ink = (shot == INK).all(axis=2)
    ink[: round(60 * display._u)] = False  # the header bar uses the same navy
    left, _, right, _ = _bbox(ink)
    centre = (left + right) / 2
    assert abs(centre - display.size[0] / 2) < 20
    assert display.button_rect is None


def test_countdown_number_changes_pixels_but_not_the_preview(display: PygameDisplay, grab) -> None:
    frame = _scene((90, 90, 90))
    display.show(_view(Screen.COUNTDOWN, image=frame, countdown=3))
    three = grab(display)
    display.show(_view(Screen.COUNTDOWN, image=frame, countdown=2))
    two = grab(display)
    changed = (three != two).any(axis=2)
    assert changed.sum() > 2000
    left, top, _, bottom = _bbox(changed)
    assert left > display.size[0] * 0.6, "only the number on the side panel changes"
    assert (bottom - top) > 100, "the countdown number is huge"


def test_preview_is_fitted_mirrored_and_carries_the_face_guide(display: PygameDisplay, grab) -> None:
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :320] = (200, 0, 0)  # camera's left half red
    frame[:, 320:] = (0, 0, 200)  # right half blue
    display.show(_view(Screen.COUNTDOWN, image=frame, countdown=3))
    shot = grab(display)
    red = (shot[:, :, 0] > 60) & (shot[:, :, 1] < 30) & (shot[:, :, 2] < 30)
    blue = (shot[:, :, 2] > 60) & (shot[:, :, 0] < 30) & (shot[:, :, 1] < 30)
    red_box, blue_box = _bbox(red), _bbox(blue)
    assert blue_box[0] < red_box[0], "the live preview is a mirror"
    width = red_box[2] - blue_box[0]
    height = red_box[3] - red_box[1]
    assert abs(width / height - 640 / 480) < 0.02, "scaled without distortion"
    # Outside the 3:4 portrait frame the preview is shaded; inside, the raw colour shows.
    assert (shot[:, :, 2] == 200).any() and (shot[:, :, 0] == 200).any()
    assert ((shot[:, :, 2] > 60) & (shot[:, :, 2] < 150) & (shot[:, :, 0] < 30)).any()
    # The head outline: near-white pixels inside the preview, on both halves.
    white = shot.min(axis=2) > 200
    white[:, red_box[2]:] = False
    white[:, : blue_box[0]] = False
    white[: red_box[1]] = False
    white[red_box[3]:] = False
    guide = _bbox(white)
    assert guide[0] < (blue_box[0] + red_box[2]) / 2 < guide[2]
    assert 0.25 < (guide[3] - guide[1]) / height < 0.8


def test_summary_qr_code_decodes_to_the_payment_text(display: PygameDisplay, grab) -> None:
    text = "https://qr.alipay.com/booth-fee-demo?class=2101&amount=560.00"
    display.show(_view(Screen.SUMMARY, qr_text=text, tone=Tone.OK,
                       button=Text("确认已付款", "Confirm payment")))
    shot = grab(display)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.cvtColor(shot, cv2.COLOR_RGB2BGR))
    assert decoded == text


def test_review_shows_the_whole_photo_beside_the_fixes(display: PygameDisplay, grab) -> None:
    photo = np.zeros((640, 480, 3), np.uint8)
    photo[:] = (255, 0, 255)
    fixes = (Text("头发遮挡眉毛", "Hair covers the eyebrows"), Text("请坐正", "Sit upright"))
    display.show(_view(Screen.REVIEW, image=photo, lines=fixes, tone=Tone.BAD, button=Text("重拍", "Retake")))
    shot = grab(display)
    magenta = (shot == (255, 0, 255)).all(axis=2)
    left, top, right, bottom = _bbox(magenta)
    assert magenta.sum() == (right - left) * (bottom - top), "one solid, unclipped rectangle"
    assert abs((right - left) / (bottom - top) - 0.75) < 0.01
    assert right < display.size[0] / 2
    bullets = (shot == TONE_COLOURS[Tone.BAD]).all(axis=2)
    bullets[:, : display.size[0] // 2] = False
    assert bullets.sum() > 500  # title, the two bullet dots and the button in the tone colour
    assert display.retake_rect is None


def test_bad_images_are_skipped_not_fatal(display: PygameDisplay, grab) -> None:
    for image in (np.zeros(10), np.zeros((4, 4, 7)), np.full((480, 640), 128, np.float64),
                  np.zeros((480, 640, 4), np.uint8), np.full((480, 640, 3), np.nan)):
        display.show(_view(Screen.COUNTDOWN, image=image, countdown=1))
    display.show(_view(Screen.REVIEW, image="not an image"))
    assert grab(display).shape == (600, 1024, 3)


def test_long_text_wraps_inside_the_screen(display: PygameDisplay, grab) -> None:
    long_en = " ".join(["photograph"] * 40)
    long_zh = "请" * 80
    display.show(_view(Screen.ERROR, lines=(Text(long_zh, long_en),), tone=Tone.BAD))
    fonts = display._fonts
    wrapped = fonts.wrap(long_en, 21, 400)
    assert len(wrapped) > 3
    assert all(fonts.width(line, 21) <= 400 for line in wrapped)
    assert " ".join(wrapped) == long_en
    assert "".join(fonts.wrap(long_zh, 32, 300)) == long_zh
    shot = grab(display)
    shot = shot[round(60 * display._u):]  # below the header
    assert (shot[:, :30] == BACKGROUND).all(), "nothing drawn into the left margin"
    assert (shot[:, -30:] == BACKGROUND).all(), "nothing drawn into the right margin"


def _post_key(key: int, unicode: str = "") -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=unicode, mod=0, scancode=0))


def test_keys_and_taps_become_booth_inputs() -> None:
    received: list[UiInput] = []
    display = PygameDisplay(on_input=received.append)
    try:
        display.show(_view(Screen.READY, button=Text("开始", "Start")))
        display.pump()
        received.clear()
        _post_key(pygame.K_SPACE, " ")
        _post_key(pygame.K_RETURN, "\r")
        _post_key(pygame.K_5, "5")
        _post_key(pygame.K_x, "x")
        _post_key(pygame.K_BACKSPACE, "\b")
        _post_key(pygame.K_F1)
        _post_key(pygame.K_ESCAPE, "\x1b")
        inside = display.button_rect.center
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=inside, button=1))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(5, 300), button=1))
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        inputs = display.pump()
        assert inputs == [BUTTON, BUTTON, QUIT, BUTTON, QUIT]  # typed characters and F1 mean nothing
        assert received == inputs
        assert display.pump() == []
    finally:
        display.close()


def test_passed_photo_offers_a_retake_area(display: PygameDisplay) -> None:
    photo = np.full((640, 480, 3), 120, np.uint8)
    display.show(_view(Screen.REVIEW, image=photo, tone=Tone.OK, button=Text("保存", "Keep")))
    display.pump()
    retake, keep = display.retake_rect, display.button_rect
    assert retake is not None and keep is not None and not retake.colliderect(keep)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=retake.center, button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=keep.center, button=1))
    _post_key(pygame.K_r, "r")
    assert display.pump() == [RETAKE, BUTTON, RETAKE]


def test_small_seven_inch_screen_keeps_the_layout() -> None:
    display = PygameDisplay(size=(800, 480))
    try:
        text = "https://qr.alipay.com/booth-fee-demo"
        display.show(_view(Screen.SUMMARY, qr_text=text, button=Text("确认", "Confirm")))
        shot = np.ascontiguousarray(pygame.surfarray.array3d(display.surface).transpose(1, 0, 2))
        assert shot.shape == (480, 800, 3)
        assert cv2.QRCodeDetector().detectAndDecode(cv2.cvtColor(shot, cv2.COLOR_RGB2BGR))[0] == text
        assert display.button_rect.bottom <= 480 and display.button_rect.right <= 800
    finally:
        display.close()


def test_a_bad_preview_is_reported_once_not_every_frame(display: PygameDisplay, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="appliance.ui.pygame_display")
    odd = np.zeros((480, 640, 5), np.uint8)
    for _ in range(10):
        display.show(_view(Screen.COUNTDOWN, image=odd, countdown=2))
    assert len([r for r in caplog.records if "5 channels" in r.getMessage()]) == 1
