"""Every screen the booth shows, at every size issue 14 names: no text leaves the screen, none is
cut, no two texts overlap, and the buttons stay on the screen (SDL's dummy driver, real fonts)."""

from __future__ import annotations

import itertools

import pytest

from appliance.commands.screenshots import SIZES, every_view
from appliance.config import BoothConfig
from appliance.ui.blocked import CAMERA_MISSING, blocked
from appliance.ui.pygame_display import MIN_TEXT_PX, PygameDisplay
from appliance.ui.view import Screen, Tone, View
from boothcore.text import Text


@pytest.fixture(scope="module")
def shots() -> list[tuple[str, View]]:
    return every_view(BoothConfig())


def _check_layout(display: PygameDisplay, name: str) -> None:
    screen = display.surface.get_rect()
    texts = display.text_rects
    assert texts, name
    assert display.cut_texts == [], f"{name}: cut {display.cut_texts}"
    for text, rect in texts:
        assert screen.contains(rect), f"{name}: {text!r} at {rect} leaves the {screen.size} screen"
    for (text_a, a), (text_b, b) in itertools.combinations(texts, 2):
        assert not a.colliderect(b), f"{name}: {text_a!r} {a} overlaps {text_b!r} {b}"
    for control in (display.button_rect, display.retake_rect):
        assert control is None or screen.contains(control), name
    keys = [rect for _, rect in display.key_rects]
    for rect in keys:
        assert screen.contains(rect), f"{name}: a key at {rect} leaves the {screen.size} screen"
    for a, b in itertools.combinations(keys, 2):
        assert not a.colliderect(b), f"{name}: keys {a} and {b} overlap"


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_screen_fits_every_size(shots, size: tuple[int, int]) -> None:
    names = [name for name, _ in shots]
    assert {"closed", "idle", "confirm", "ready", "countdown", "review-passed", "review-warnings", "review-failed",
            "saved", "summary",
            "blocked", "keypad", "keypad-locked", "menu", "menu-confirm", "menu-colleges", "menu-classes",
            "menu-health"} <= set(names)
    assert sum(name.startswith("refused-") for name in names) == 9  # each refusal reason
    display = PygameDisplay(size=size)
    try:
        assert display.size == size
        for name, view in shots:
            display.show(view)
            _check_layout(display, name)
            if view.screen == Screen.COUNTDOWN:
                assert any(text == "countdown" for text, _ in display.text_rects)
            if view.keys:  # every enabled key is on the screen, with its label drawn
                assert [key for key, _ in display.key_rects] == [key.id for key in view.keys if key.enabled], name
                drawn = {text for text, _ in display.text_rects}
                assert all(key.label.zh in drawn or len(key.label.zh) > 8 for key in view.keys), name
    finally:
        display.close()


def test_the_failed_review_lists_its_instructions(shots) -> None:
    review = dict(shots)["review-failed"]
    assert review.tone == Tone.BAD and len(review.lines) >= 2
    assert review.image is not None and review.image.shape == (640, 480, 3)


def test_the_reviews_are_the_real_verdicts_and_a_warnings_only_photo_says_the_operator_may_keep_it(shots) -> None:
    """The screenshots' "passed" review was the simulated student's warnings-only photo drawn red as a
    rejection ("Please adjust and retake"), with nothing saying the operator may keep it."""
    views = dict(shots)
    assert views["review-passed"].tone == Tone.OK and views["review-passed"].button.en == "Keep"
    warned = views["review-warnings"]
    assert warned.tone == Tone.WARN and warned.title.en == "Warnings only: the operator may keep this photo"
    assert [line.en for line in warned.lines] == ["Tuck your hair behind your ears so both ears show"]
    assert views["review-failed"].tone == Tone.BAD


def test_a_line_the_same_in_both_languages_is_drawn_once(shots) -> None:
    """The confirm screen printed the student's name and masked ID number twice (zh, then the same
    as "en" in small type), the ready screen the name and class twice: personal data doubled for
    the queue to read, and clutter above what the operator must judge."""
    views = dict(shots)
    display = PygameDisplay(size=(800, 480))
    try:
        for name in ("confirm", "ready"):
            display.show(views[name])
            drawn = [text for text, _ in display.text_rects]
            same = [line.zh for line in views[name].lines if line.zh == line.en]
            assert same and all(drawn.count(text) == 1 for text in same), (name, drawn)
    finally:
        display.close()


def test_text_too_long_for_its_place_shrinks_to_fit_and_only_then_is_reported() -> None:
    many = tuple(Text("请" * 30 + str(i), f"line {i} " + "word " * 12) for i in range(9))
    display = PygameDisplay(size=(800, 480))
    try:
        display.show(View(Screen.ERROR, Text("出错了", "Error"), many[:6], Tone.BAD, status="booth-01"))
        _check_layout(display, "six long lines")
        heights = [rect.height for text, rect in display.text_rects if text.startswith("请")]
        assert max(heights) < 32 * display._u, "shrunk below the designed size to fit"
        flood = tuple(Text("请" * 200, "word " * 80) for _ in range(30))
        display.show(View(Screen.ERROR, Text("出错了", "Error"), flood, Tone.BAD))
        assert display.cut_texts, "what cannot fit even at the minimum size is reported, not drawn off screen"
        screen = display.surface.get_rect()
        assert all(screen.contains(rect) for _, rect in display.text_rects)
        assert min(rect.height for _, rect in display.text_rects) >= MIN_TEXT_PX // 2
    finally:
        display.close()


def test_long_status_shrinks_in_the_header_instead_of_being_cut() -> None:
    status = "booth-01 · 计算机科学与技术学院 · 计算机科学与技术2023级卓越工程师实验班 · 23/30"
    display = PygameDisplay(size=(800, 480))
    try:
        display.show(View(Screen.IDLE, Text("请刷身份证", "Please swipe the ID card"), status=status))
        _check_layout(display, "long status")
        assert "".join(text for text, _ in display.text_rects).count("23/30") == 1
    finally:
        display.close()


def test_blocked_screen_says_what_is_wrong_whom_to_call_and_the_booth() -> None:
    view = blocked([CAMERA_MISSING], "booth-07", "教务处 王老师 6275-0000")
    assert view.screen == Screen.BLOCKED and view.tone == Tone.BAD
    assert view.lines[0] == CAMERA_MISSING
    assert any("教务处 王老师 6275-0000" in line.zh and "6275-0000" in line.en for line in view.lines)
    assert any("booth-07" in line.zh and "booth-07" in line.en for line in view.lines)
    default = blocked([CAMERA_MISSING], "booth-07")
    assert any("teaching secretary" in line.en for line in default.lines)


def test_a_wrapped_line_never_starts_with_closing_punctuation() -> None:
    display = PygameDisplay(size=(800, 480))
    try:
        text = "未拍 12 人:" + "、".join(["郑一勇", "林一", "任红浩", "谢兰", "丁萱强"] * 3) + "。照片不合格,请调整"
        for width in range(60, 420, 7):
            lines = display._fonts.wrap(text, 24, width)
            assert "".join(lines).replace(" ", "") == text.replace(" ", "")
            assert not any(line[0] in "、。,:" for line in lines), (width, lines)
    finally:
        display.close()
