"""What a student or operator did at the booth: the big button, retake, quitting.

Displays with input (the pygame window) report these from ``pump()`` on the main thread, the only
thread pygame may read events on; the GPIO button reports the same ``BUTTON`` through its callback.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class InputKind(enum.StrEnum):
    BUTTON = "button"  # the big button: space, enter, a tap on the on-screen button, or GPIO
    RETAKE = "retake"  # the second control: the on-screen Retake area on a passed photo, or R
    QUIT = "quit"  # window closed or Escape (simulated booth / bench only)


@dataclass(frozen=True)
class UiInput:
    kind: InputKind


BUTTON = UiInput(InputKind.BUTTON)
QUIT = UiInput(InputKind.QUIT)
RETAKE = UiInput(InputKind.RETAKE)
