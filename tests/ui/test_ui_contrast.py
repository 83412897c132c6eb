"""The words on the kiosk's filled buttons (the student's big button, the keypad's OK, the menu's
Leave) read at WCAG 2's 4.5:1 contrast, the English line below the Chinese too: measured on the
drawn pixels (SDL's dummy driver), the ink's strongest pixel against the button's own colour."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.commands.screenshots import every_view
from appliance.config import BoothConfig
from appliance.ui.pygame_display import PygameDisplay
from appliance.ui.view import View

# WCAG 2.1 1.4.3: 4.5:1 for text under 24 px (the English line is 16-38 px, wqy-microhei thin strokes).
MIN_CONTRAST = 4.5


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB pixels (..., 3) uint8."""
    c = rgb.astype(float) / 255.0
    linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


@pytest.fixture(scope="module")
def shots() -> list[tuple[str, View]]:
    return every_view(BoothConfig())


def test_the_words_on_every_filled_button_have_4_5_to_1_contrast(shots, grab) -> None:
    display = PygameDisplay(size=(800, 480))  # the smallest screen: the thinnest English line
    try:
        seen = 0
        for name, view in shots:
            if view.button is None:
                continue
            display.show(view)
            rect = display.button_rect
            screen = grab(display)
            fill = luminance(screen[rect.top + 3, rect.centerx])
            lower = screen[rect.centery + 2:rect.bottom - 3, rect.left + rect.height // 2:rect.right - rect.height // 2]
            upper = screen[rect.top + 3:rect.centery - 2, rect.left + rect.height // 2:rect.right - rect.height // 2]
            for part, pixels in (("Chinese", upper), ("English", lower)):
                ink = luminance(pixels.reshape(-1, 3))
                strongest = ink[np.argmax(np.abs(ink - fill))]
                ratio = contrast(float(strongest), float(fill))
                assert ratio >= MIN_CONTRAST, f"{name}: the {part} label on the button reads at {ratio:.2f}:1"
            seen += 1
        assert seen >= 4  # ready (twice) and the reviews with Retake
    finally:
        display.close()
