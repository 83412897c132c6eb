"""Choosing the display from hardware.screen, and pygame staying unloaded when headless."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from appliance.ui.factory import open_display, resolve_screen
from appliance.ui.headless_display import HeadlessDisplay
from appliance.ui.pygame_display import DisplayError, PygameDisplay


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "headless"),
    ({"DISPLAY": ":0"}, "window"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "window"),
    ({"SDL_VIDEODRIVER": "kmsdrm"}, "window"),
    ({"DISPLAY": ""}, "headless"),
])
def test_auto_follows_the_environment(env: dict[str, str], expected: str) -> None:
    assert resolve_screen("auto", env) == expected
    assert resolve_screen("fullscreen", env) == "fullscreen"


def test_unknown_setting_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("hardware.screen = 'tv'")):
        resolve_screen("tv")


def test_window_opens_pygame_and_headless_does_not() -> None:
    window = open_display("window")
    try:
        assert isinstance(window, PygameDisplay)
    finally:
        window.close()
    assert isinstance(open_display("headless"), HeadlessDisplay)


def test_headless_booth_never_imports_pygame() -> None:
    code = ("import sys; from appliance.ui.factory import open_display; "
            "open_display('auto').close(); print('pygame' in sys.modules)")
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_a_broken_video_driver_falls_back_only_in_auto(monkeypatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "no-such-driver")
    assert isinstance(open_display("auto"), HeadlessDisplay)
    with pytest.raises(DisplayError, match="no-such-driver"):
        open_display("window")
