"""What a student or operator did at the booth: the big button, retake, a tapped key, quitting.

Displays with input (the pygame window) report these from ``pump()`` on the main thread, the only
thread pygame may read events on; the GPIO button reports the same ``BUTTON`` through its callback,
the GPIO operator button (held) asks for the operator as the ``OPERATOR`` corner tap does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class InputKind(enum.StrEnum):
    BUTTON = "button"  # the big button: space, enter, a tap on the on-screen button, or GPIO
    RETAKE = "retake"  # the second control: the on-screen Retake area on a passed photo, or R
    QUIT = "quit"  # window closed or Escape (simulated booth / bench only)
    KEY = "key"  # a tap on a key of the keypad or the operator menu; ``key`` is the key's id
    OPERATOR = "operator"  # the operator asks for the menu: a tap on the screen's top-left corner


@dataclass(frozen=True)
class UiInput:
    kind: InputKind
    key: str = ""  # KEY: the tapped key's id (``appliance.ui.view.Key.id``)


BUTTON = UiInput(InputKind.BUTTON)
QUIT = UiInput(InputKind.QUIT)
RETAKE = UiInput(InputKind.RETAKE)
OPERATOR = UiInput(InputKind.OPERATOR)
