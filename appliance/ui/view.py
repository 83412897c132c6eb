"""The view model the booth flow hands to a display: what to show, never how.

Text is always a zh/en pair (Chinese first, ``boothcore.text.Text``). A display backend (pygame window, headless log)
renders a ``View``; the flow never imports pygame.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from boothcore.text import Text


class Screen(enum.StrEnum):
    CLOSED = "closed"  # outside service hours
    NO_SESSION = "no_session"  # open hours, waiting for an operator to open a class / make-up
    IDLE = "idle"  # swipe your card
    CONFIRM = "confirm"  # operator must confirm (typed number, retake allowed, other class)
    REFUSED = "refused"  # card refused, reason shown
    READY = "ready"  # name shown, press the button
    COUNTDOWN = "countdown"  # live preview with seconds left and guidance
    REVIEW = "review"  # photo with verdict: accept / retake (failed checks listed)
    SAVED = "saved"  # done, next student
    SUMMARY = "summary"  # class closed: count, missing students, fee, payment QR
    ERROR = "error"  # something failed; back to idle by itself
    BLOCKED = "blocked"  # the camera or the card reader is missing: call staff (what, whom, booth id)
    KEYPAD = "keypad"  # the operator types the PIN (digits, delete, OK)
    MENU = "menu"  # the operator menu: its pages (actions, college, class, health)


class Tone(enum.StrEnum):
    INFO = "info"
    OK = "ok"
    WARN = "warn"
    BAD = "bad"


@dataclass(frozen=True)
class Key:
    """A touch key of the keypad or the operator menu; a tap on it is reported with its ``id``."""

    id: str
    label: Text
    enabled: bool = True  # drawn greyed and not reported when False (a locked keypad's digits)
    primary: bool = False  # drawn filled: the key that does the page's main thing (OK)


@dataclass(frozen=True)
class View:
    screen: Screen
    title: Text
    lines: tuple[Text, ...] = ()
    tone: Tone = Tone.INFO
    # Live preview or the captured photo (RGB uint8).
    image: np.ndarray | None = field(default=None, compare=False, repr=False)
    # Whole seconds left in a countdown.
    countdown: int | None = None
    # Payment QR text (SUMMARY, make-up payment).
    qr_text: str | None = None
    # Header facts: booth id, session, class progress ("23/30").
    status: str = ""
    # What the big button does on this screen, if anything.
    button: Text | None = None
    # Touch keys (keypad, operator menu), laid out left to right, top to bottom, ``key_columns`` a row.
    keys: tuple[Key, ...] = ()
    key_columns: int = 2


class Display(Protocol):
    def show(self, view: View) -> None:
        """Render ``view`` now (called from the booth loop, at preview rate during countdown)."""
        ...

    def close(self) -> None: ...
