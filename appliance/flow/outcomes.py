"""What leaves the booth flow for the office: typed domain events, the saved photo, the quality report.

The flow hands these to its ``Office`` port (``appliance.flow.booth.Office``); the uplink bridge
(``appliance.uplink_bridge.UplinkOffice``) maps them to the wire protocol's event kinds and data
models (``boothcore.protocol.EVENT_DATA``), so the flow never spells a wire key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from boothcore.text import Text


class CheckOutcome(Protocol):
    """One check of a quality report, as the flow reads it."""

    @property
    def id(self) -> str: ...

    @property
    def message(self) -> Text: ...

    @property
    def severity(self) -> str:
        """reject | confirm (the operator may keep a photo failing only such checks)."""
        ...


class QualityReport(Protocol):
    """What the flow reads from a checked photo (``appliance.quality.checker.CheckReport``)."""

    @property
    def accepted(self) -> bool: ...

    @property
    def verdict(self) -> str:
        """accepted | confirm (only checks of severity "confirm" failed) | rejected."""
        ...

    def failed(self) -> Sequence[CheckOutcome]: ...

    def review(self) -> Sequence[CheckOutcome]:
        """The faults to tell the student, root causes first."""
        ...

    def to_json(self) -> dict[str, Any]:
        """{"checks": {id: {"passed", "value", "limit", ...}}, ...}: what the booth measured."""
        ...


def told_in_order(report: QualityReport) -> list[CheckOutcome]:
    """The review's root causes in the order the student is told them: in a rejected photo what
    refuses it first, then its warnings (severity "confirm"), each group in the review's order; the
    kiosk's review and ``check-photo`` both tell it so."""
    causes = list(report.review())
    if report.verdict != "rejected":
        return causes
    return sorted(causes, key=lambda result: result.severity == "confirm")


class LiveGuidance(Protocol):
    """Advice on a preview frame during the countdown (``appliance.quality.checker.Guidance``)."""

    @property
    def messages(self) -> Sequence[Text]: ...


@dataclass(frozen=True)
class PhotoMeta:
    """What the uplink sends with a photo: the registry key and the class, never the name."""

    id_number: str
    student_no: str
    college: str
    class_name: str
    session_id: str
    attempt: int
    captured_at: str
    sha256: str | None
    # The booth's checks of this photo (check id -> passed, value, limit); None when not known (a
    # photo queued again from the ledger after a crash: the ledger keeps only the failed ones).
    checks: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class PhotoSaved:
    """A compliant photo is durable on disk and in the ledger: queue it for the office."""

    photo_id: str
    path: Path
    meta: PhotoMeta


@dataclass(frozen=True)
class CardRefused:
    reason: str  # an ``eligibility.Reason`` value
    session_id: str


@dataclass(frozen=True)
class PhotoAccepted:
    photo_id: str
    session_id: str
    attempt: int


@dataclass(frozen=True)
class RetakeNeeded:
    """A capture failed its checks; ``failed`` names them (check ids)."""

    session_id: str
    attempt: int
    failed: tuple[str, ...]


@dataclass(frozen=True)
class ClassOpened:
    session_id: str
    college: str  # "" for a make-up session
    class_name: str  # "" for a make-up session


@dataclass(frozen=True)
class ClassClosed:
    session_id: str
    college: str
    class_name: str
    count: int  # photos accepted in the session
    fee_cny: float
    missing: int  # class members due this year without an accepted photo


@dataclass(frozen=True)
class PaymentConfirmed:
    session_id: str
    amount_cny: float


@dataclass(frozen=True)
class BoothFailed:
    """A handler failed and the booth shows ERROR; ``code`` is the exception's class name."""

    code: str
    message: str  # English, as on the screen


@dataclass(frozen=True)
class OperatorActed:
    """An operator action, at the booth's menu (``kiosk``) or by an office command (``central``)."""

    action: str  # an ``OperatorAction`` value, or menu_opened / pin_wrong / keypad_locked / menu_left / health
    source: str  # kiosk | central
    ok: bool  # False when it was refused (``detail`` says why)
    session_id: str | None
    detail: str  # English, never a name or a full ID number


@dataclass(frozen=True)
class LinkHealth:
    """The office link for the operator's health page."""

    configured: bool  # a broker is configured (a booth without one keeps photos in its outbox)
    connected: bool
    backlog: int  # outbox rows (photos and events) central has not acknowledged yet


DomainEvent = (CardRefused | PhotoAccepted | RetakeNeeded | ClassOpened | ClassClosed | PaymentConfirmed
               | BoothFailed | OperatorActed)
