"""The operator menu's own state: the PIN keypad's lock, the page shown, what was picked.

The booth flow (``appliance.flow.booth``) owns one ``PinGuard`` for its life (a cancelled keypad
does not reset the count of wrong PINs) and one ``MenuState`` while the keypad or the menu is on
the screen; ``appliance.flow.menu_views`` draws them. Key ids are what a tap reports
(``appliance.ui.view.Key.id``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from appliance.flow.health import HealthItem
from appliance.flow.states import State
from boothcore.text import Text

# Issue 14: wrong PINs are counted and the keypad is locked for a minute after five.
PIN_ATTEMPTS = 5
PIN_LOCK_S = 60.0
PIN_MAX_DIGITS = 8  # operator.pin is 4-8 digits
# A keypad or menu left alone this long goes back to the screen it was opened over, so a booth
# never stays on the operator's pages after the operator walked away.
MENU_IDLE_S = 60.0
# Colleges or classes listed per page (two columns of three, with "more" and "back" below).
LIST_PAGE = 6

DIGIT_KEYS = tuple("1234567890")
DELETE, OK, CANCEL = "del", "ok", "cancel"
HEALTH, LEAVE, BACK, MORE = "health", "leave", "back", "more"
PICK = "pick:"  # PICK + index into the page's list


class Page(enum.StrEnum):
    KEYPAD = "keypad"
    MAIN = "main"
    COLLEGES = "colleges"
    CLASSES = "classes"
    HEALTH = "health"


@dataclass(frozen=True)
class ClassChoice:
    college: str
    class_name: str
    done: int  # class members due this year with an accepted photo
    size: int  # class members due this year (not excluded by the notice)


@dataclass
class MenuState:
    """The keypad or the menu over ``origin``, the screen the operator opened it from."""

    origin: State
    page: Page = Page.KEYPAD
    digits: str = ""
    message: Text | None = None  # the last refusal (wrong PIN, a session already open, ...)
    offset: int = 0  # first item of the list shown (colleges, classes)
    colleges: tuple[str, ...] = ()
    classes: tuple[ClassChoice, ...] = ()
    health: tuple[HealthItem, ...] = field(default=())
    lock_shown: int = 0  # the keypad lock's seconds left as last drawn

    def listed(self) -> int:
        """How many items the list page holds (colleges or classes)."""
        return len(self.colleges) if self.page is Page.COLLEGES else len(self.classes)


class PinGuard:
    """Counts wrong PINs; after ``attempts`` in a row the keypad is locked for ``lock_s`` seconds.

    Times are the booth's clock (seconds). A right PIN resets the count; the lock's end does too.
    """

    def __init__(self, attempts: int = PIN_ATTEMPTS, lock_s: float = PIN_LOCK_S) -> None:
        self.attempts = attempts
        self.lock_s = lock_s
        self.wrong = 0
        self.locked_until: float | None = None

    def locked_for(self, now: float) -> float:
        """Seconds the keypad stays locked (0: it takes PINs)."""
        if self.locked_until is None:
            return 0.0
        if now >= self.locked_until:
            self.locked_until = None
            return 0.0
        return self.locked_until - now

    def failed(self, now: float) -> bool:
        """Count a wrong PIN; True when it locks the keypad."""
        self.wrong += 1
        if self.wrong < self.attempts:
            return False
        self.wrong = 0
        self.locked_until = now + self.lock_s
        return True

    def passed(self) -> None:
        self.wrong = 0
