"""Choosing the display from ``hardware.screen``: auto | window | fullscreen | headless."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Protocol

from appliance.config import HardwareSection
from appliance.ui.headless_display import HeadlessDisplay
from appliance.ui.inputs import UiInput
from appliance.ui.view import View

log = logging.getLogger(__name__)

SCREEN_SETTINGS = ("auto", "window", "fullscreen", "headless")
_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")


class InteractiveDisplay(Protocol):
    """A ``Display`` that may also report input; ``pump`` is called from the main loop."""

    def show(self, view: View) -> None: ...

    def pump(self) -> list[UiInput]: ...

    def close(self) -> None: ...


def resolve_screen(setting: str, environ: Mapping[str, str] | None = None) -> str:
    """``auto`` becomes ``window`` when a display server or an SDL driver is named, else ``headless``."""
    if setting not in SCREEN_SETTINGS:
        raise ValueError(f"hardware.screen = {setting!r}: must be one of {', '.join(SCREEN_SETTINGS)}")
    if setting != "auto":
        return setting
    env = os.environ if environ is None else environ
    return "window" if any(env.get(name) for name in _DISPLAY_VARS) else "headless"


def open_display(setting: str, *, size: tuple[int, int] | None = None, mirror_preview: bool = True,
                 on_input: Callable[[UiInput], None] | None = None) -> InteractiveDisplay:
    """Open the display ``hardware.screen`` asks for, ``size`` pixels (None: 1024x600 in a window,
    the display's own size in fullscreen), the live preview mirrored when ``mirror_preview``.

    ``auto`` falls back to headless (with a warning) when the window cannot be opened; an explicit
    ``window`` or ``fullscreen`` raises ``DisplayError`` instead, since a kiosk without its screen
    must not look like it is working.
    """
    mode = resolve_screen(setting)
    if mode == "headless":
        return HeadlessDisplay()
    from appliance.ui.pygame_display import DisplayError, PygameDisplay  # pygame only when used

    try:
        return PygameDisplay(size=size, fullscreen=mode == "fullscreen", mirror_preview=mirror_preview,
                             on_input=on_input)
    except DisplayError as error:
        if setting != "auto":
            raise
        log.warning("display: %s; running headless", error)
        return HeadlessDisplay()


def display_for(hardware: HardwareSection) -> InteractiveDisplay:
    """The display ``[hardware]`` configures: ``screen``, ``screen_size`` and ``preview_mirror``."""
    return open_display(hardware.screen, size=hardware.screen_pixels, mirror_preview=hardware.preview_mirror)
