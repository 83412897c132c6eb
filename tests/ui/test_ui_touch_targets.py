"""Every touch target (the on-screen button, Retake, keypad and menu keys, the operator's corner) is at
least 9 mm on each side on the displays a Pi booth really has, measured at each display's own pixel
pitch (SDL's dummy driver, every screen ``booth screenshots`` draws)."""

from __future__ import annotations

import math

import pytest

from appliance.commands.screenshots import every_view
from appliance.config import BoothConfig
from appliance.ui.pygame_display import PygameDisplay
from appliance.ui.view import View

# A fingertip is ~10 mm wide; 9 mm is the smallest target the common touch guidelines accept
# (Microsoft's 9 mm, ISO 9241-9's 9.5 mm key recommendation rounded down).
MIN_TARGET_MM = 9.0


def _pitch(size: tuple[int, int], diagonal_inch: float) -> tuple[float, float]:
    """Pixels per mm across and down a panel of square pixels with this diagonal."""
    per_mm = math.hypot(*size) / (diagonal_inch * 25.4)
    return per_mm, per_mm


# (name, size, pixels per mm across, down). The official 7" Touch Display: 800x480 on an active
# area of 154.08 x 85.92 mm (Raspberry Pi's product brief). Touch Display 2: 7", 720x1280 (portrait,
# its native way) or turned 1280x720. 1024x600: the common 7" HDMI touch panels. 1920x1080 and
# 1080x1920: the smallest common full-HD touch panels, 10.1" (the largest pixels per mm).
DISPLAYS: tuple[tuple[str, tuple[int, int], tuple[float, float]], ...] = (
    ("Touch Display 7in", (800, 480), (800 / 154.08, 480 / 85.92)),
    ("Touch Display 7in portrait", (480, 800), (480 / 85.92, 800 / 154.08)),
    ("Touch Display 2 portrait", (720, 1280), _pitch((720, 1280), 7.0)),
    ("Touch Display 2 landscape", (1280, 720), _pitch((1280, 720), 7.0)),
    ("7in HDMI 1024x600", (1024, 600), _pitch((1024, 600), 7.0)),
    ("10.1in full HD", (1920, 1080), _pitch((1920, 1080), 10.1)),
    ("10.1in full HD portrait", (1080, 1920), _pitch((1080, 1920), 10.1)),
)


@pytest.fixture(scope="module")
def shots() -> list[tuple[str, View]]:
    return every_view(BoothConfig())


@pytest.mark.parametrize(("size", "per_mm"), [(size, per_mm) for _, size, per_mm in DISPLAYS],
                         ids=[name for name, _, _ in DISPLAYS])
def test_every_touch_target_is_at_least_9_mm(shots, size: tuple[int, int], per_mm: tuple[float, float]) -> None:
    across, down = per_mm
    display = PygameDisplay(size=size)
    try:
        for name, view in shots:
            display.show(view)
            targets = [("operator corner", display.operator_corner),
                       *[(f"key {key}", rect) for key, rect in display.key_rects],
                       *[(label, rect) for label, rect in (("button", display.button_rect),
                                                          ("retake", display.retake_rect)) if rect is not None]]
            for label, rect in targets:
                width_mm, height_mm = rect.width / across, rect.height / down
                assert min(width_mm, height_mm) >= MIN_TARGET_MM, (
                    f"{name}: {label} is {width_mm:.1f} x {height_mm:.1f} mm ({rect.width}x{rect.height} px)")
            corner = display.operator_corner
            assert not any(corner.colliderect(rect) for _, rect in targets[1:]), f"{name}: the corner covers a key"
    finally:
        display.close()
