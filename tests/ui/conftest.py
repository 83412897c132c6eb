"""UI tests draw with SDL's dummy video driver: real pygame rendering, no screen needed."""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"  # before pygame is first imported
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from collections.abc import Iterator

import numpy as np
import pytest

from appliance.ui.pygame_display import PygameDisplay


@pytest.fixture
def display() -> Iterator[PygameDisplay]:
    shown = PygameDisplay(size=(1024, 600))
    yield shown
    shown.close()


def pixels(display: PygameDisplay) -> np.ndarray:
    """The screen as an HxWx3 RGB array (a copy)."""
    import pygame

    return np.ascontiguousarray(pygame.surfarray.array3d(display.surface).transpose(1, 0, 2))


@pytest.fixture
def grab():
    return pixels
