"""Events the booth loop feeds to the state machine. Hardware threads only ever enqueue these."""

from __future__ import annotations

import enum
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from appliance.cardreader.base import IdentityCard, ReaderError


@dataclass(frozen=True)
class CardPresented:
    card: IdentityCard


@dataclass(frozen=True)
class ReaderFault:
    error: ReaderError


@dataclass(frozen=True)
class ReaderBack:
    """The reader answers again after a ``ReaderFault`` (the reader's ``ReaderRecovery`` reopened it)."""


@dataclass(frozen=True)
class ButtonPressed:
    """The big button: start the countdown, keep a compliant photo, retake a failed one.

    ``at``: when the person pressed, on the booth's clock (seconds); the loop stamps it when the
    press is posted, None means "now" (when the booth handles it). A press is only taken for the
    screen it was made on (see ``CaptureSection.input_guard_s``).
    """

    at: float | None = None


@dataclass(frozen=True)
class RetakePressed:
    """The second control (touch area or key): retake although the photo passed. ``at`` as above."""

    at: float | None = None


@dataclass(frozen=True)
class OperatorCalled:
    """The operator asks for the menu: the operator button held ``hardware.operator_hold_s`` (3 s), or a
    tap on the screen's top-left corner. ``at`` as for ``ButtonPressed`` (when the hold was complete)."""

    at: float | None = None


@dataclass(frozen=True)
class KeyTapped:
    """A tap on a key of the keypad or the operator menu (``appliance.ui.view.Key.id``). ``at`` as above:
    a tap made before its page appeared (or just after) was meant for the page before and is ignored."""

    key: str
    at: float | None = None


@dataclass(frozen=True)
class Tick:
    """Time passes: timeouts, countdown and live preview are driven by it."""


@dataclass(frozen=True)
class OfficePhotographed:
    """Central said who of ``session_id``'s class it has photographed (in the ledger now): a summary
    of that session on the screen is counted again."""

    session_id: str


class OperatorAction(enum.StrEnum):
    OPEN_CLASS = "open_class"  # args: college, class_name
    OPEN_MAKEUP = "open_makeup"
    CLOSE_SESSION = "close_session"
    CONFIRM_PAYMENT = "confirm_payment"
    DEFER_PAYMENT = "defer_payment"  # the class pays later: its summary is put away, the fee stays unpaid
    ALLOW = "allow"  # let a refusal the operator may override through (CONFIRM screen)
    DENY = "deny"


@dataclass(frozen=True)
class OperatorCommand:
    action: OperatorAction
    pin: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    # Commands from the central office arrive authenticated by the broker (ACL), without a PIN.
    trusted: bool = False
    # Set to the outcome (a message) or the refusal (SessionError) once the booth handled it.
    reply: Future[str] | None = field(default=None, compare=False)
    # When the operator gave it, on the booth's clock (None: when handled). Commands that answer a
    # screen (allow, deny, payment) are refused if given before, or just after, that screen appeared.
    at: float | None = None


# Events a person makes in answer to what the screen shows: they carry the time they were made.
Stamped = ButtonPressed | RetakePressed | OperatorCalled | OperatorCommand | KeyTapped


Event = (CardPresented | ReaderFault | ReaderBack | ButtonPressed | RetakePressed | Tick | OperatorCommand
         | OperatorCalled | KeyTapped | OfficePhotographed)
