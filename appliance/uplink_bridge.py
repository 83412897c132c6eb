"""The booth side of the central link: what the booth tells the office, what the uplink asks the
booth, and what central commands do.

``UplinkOffice`` is the flow's ``Office`` port on the real uplink: it maps the flow's typed domain
events (``appliance.flow.outcomes``) to the protocol's event kinds and data (``protocol.EVENT_DATA``).

The uplink runs on its own threads. It reads the booth's state for the status message, hands
central's commands over, and reports acknowledged photos. Commands that change the flow are posted
to the booth loop and answered when the loop has handled them; the ledger is written through a
connection of the uplink's own thread (SQLite connections stay on the thread that opened them).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

from appliance.config import BoothConfig
from appliance.device.doctor import Doctor, summary
from appliance.flow.booth import Booth, photo_meta
from appliance.flow.events import OfficePhotographed, OperatorAction, OperatorCommand
from appliance.flow.outcomes import (
    BoothFailed,
    CardRefused,
    ClassClosed,
    ClassOpened,
    DomainEvent,
    LinkHealth,
    OperatorActed,
    PaymentConfirmed,
    PhotoAccepted,
    PhotoMeta,
    PhotoSaved,
    RetakeNeeded,
)
from appliance.ledger import Ledger
from appliance.runtime import BoothInbox
from appliance.uplink.client import Uplink
from appliance.uplink.outbox import OutboxError
from boothcore import db
from boothcore.privacy import mask_id
from boothcore.protocol import BOOTH_CHECKS_VERSION, ClassPhotographedData, Command, ProtocolError
from boothcore.roster import Roster, RosterImportError, parse_rows
from boothcore.text import Text

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 10.0


def wire_event(event: DomainEvent) -> tuple[str, dict[str, object]]:
    """The protocol's event kind and data for ``event`` (validated by the uplink against EVENT_DATA)."""
    if isinstance(event, CardRefused):
        return "card_refused", {"reason": event.reason, "session_id": event.session_id}
    if isinstance(event, PhotoAccepted):
        return "photo_accepted", {"photo_id": event.photo_id, "session_id": event.session_id,
                                  "attempt": event.attempt}
    if isinstance(event, RetakeNeeded):
        return "retake", {"session_id": event.session_id, "attempt": event.attempt, "failed": list(event.failed)}
    if isinstance(event, ClassOpened):
        return "class_opened", {"session_id": event.session_id, "college": event.college,
                                "class": event.class_name}
    if isinstance(event, ClassClosed):
        return "class_closed", {"session_id": event.session_id, "college": event.college,
                                "class": event.class_name, "count": event.count, "fee_cny": event.fee_cny,
                                "missing": event.missing}
    if isinstance(event, PaymentConfirmed):
        return "payment_confirmed", {"session_id": event.session_id, "amount_cny": event.amount_cny}
    if isinstance(event, BoothFailed):
        return "error", {"code": event.code, "message": event.message}
    if isinstance(event, OperatorActed):
        return "operator_action", {"action": event.action, "source": event.source, "ok": event.ok,
                                   "session_id": event.session_id, "detail": event.detail}
    raise TypeError(f"no protocol event for {type(event).__name__}")


def wire_meta(meta: PhotoMeta) -> dict[str, object]:
    """The photo_init fields the outbox takes (``protocol.PhotoInit``): never the student's name."""
    wire: dict[str, object] = {
        "id_number": meta.id_number, "student_no": meta.student_no, "college": meta.college,
        "class": meta.class_name, "session_id": meta.session_id, "attempt": meta.attempt,
        "captured_at": meta.captured_at, "sha256": meta.sha256}
    if meta.checks is not None:
        wire["booth_checks"] = {"v": BOOTH_CHECKS_VERSION, "checks": meta.checks}
    return wire


class UplinkClient(Protocol):
    """The parts of ``appliance.uplink.client.Uplink`` the booth flow reaches."""

    def photo_saved(self, photo_id: str, path: Path, meta: dict[str, object]) -> object: ...

    def event(self, kind: str, data: dict[str, object]) -> object: ...

    def capture_blocked(self) -> Text | None: ...

    def link_problem(self) -> Text | None: ...

    def backlog(self) -> int: ...

    @property
    def connected(self) -> bool: ...

    @property
    def broker_configured(self) -> bool: ...


class UplinkOffice:
    """The flow's ``Office`` on the uplink: typed events out as protocol events, the link's state in."""

    def __init__(self, uplink: UplinkClient) -> None:
        self.uplink = uplink

    def photo_saved(self, photo: PhotoSaved) -> None:
        self.uplink.photo_saved(photo.photo_id, photo.path, wire_meta(photo.meta))

    def publish(self, event: DomainEvent) -> None:
        kind, data = wire_event(event)
        self.uplink.event(kind, data)

    def capture_blocked(self) -> Text | None:
        return self.uplink.capture_blocked()

    def link_problem(self) -> Text | None:
        return self.uplink.link_problem()

    def link_health(self) -> LinkHealth:
        return LinkHealth(configured=self.uplink.broker_configured, connected=self.uplink.connected,
                          backlog=self.uplink.backlog())


def booth_status(booth: Booth) -> dict[str, Any]:
    """The booth's state and session for the uplink's status message (read on the uplink's thread)."""
    session = booth.session
    info = None
    if session is not None:
        info = {"id": session.id, "kind": session.kind, "college": session.college or "补拍",
                "class": session.class_name or "补拍"}
    return {"state": booth.state.value, "session": info}


class BoothBridge:
    """Central's commands and photo acks, for the booth: built before the booth, which it reaches
    only through its inbox (the commands that change the flow) and its database."""

    def __init__(self, config: BoothConfig, inbox: BoothInbox, db_path: Path) -> None:
        self.config = config
        self.inbox = inbox
        self.db_path = db_path
        self._local = threading.local()

    def _ledger(self) -> Ledger:
        ledger = getattr(self._local, "ledger", None)
        if ledger is None:
            ledger = self._local.ledger = Ledger(db.connect(self.db_path), self.config.booth.id)
        return ledger

    # ---- uplink -> booth
    def photo_acked(self, photo_id: str) -> None:
        self._ledger().mark_uploaded(photo_id)

    def command(self, command: Command) -> str:
        """Act on a validated command from central; raise to refuse it (reported back to central)."""
        if command.kind == "roster_update":
            try:
                entries = parse_rows(command.data["rows"])
            except RosterImportError as error:
                raise ValueError("; ".join(str(problem) for problem in error.problems[:10])) from None
            roster = Roster(db.connect(self.db_path))
            try:
                return f"roster: {roster.upsert(entries)} rows imported"
            finally:
                roster.conn.close()
        if command.kind == "open_class":
            return self._post(OperatorAction.OPEN_CLASS, college=command.data["college"],
                              class_name=command.data["class"])
        if command.kind == "close_class":
            return self._post(OperatorAction.CLOSE_SESSION)
        if command.kind == "allow_retake":
            number, photo_id = command.data["id_number"], command.data["photo_id"]
            new = self._ledger().allow_retake(number, photo_id)
            return f"retake of {mask_id(number)} allowed once" + ("" if new else " (already recorded)")
        if command.kind == "class_photographed":
            data = ClassPhotographedData.model_validate(command.data)
            people = self._ledger().record_office_photographed(data.session_id, data.id_numbers)
            self.inbox.post(OfficePhotographed(data.session_id))
            return f"{people} of the class photographed at central"
        if command.kind == "doctor":
            checks = Doctor(self.config, inside_booth=True).run()
            if any(check.status == "fail" for check in checks):
                raise RuntimeError(summary(checks))  # answered ok=false, with the failures and their fixes
            return summary(checks)
        raise ValueError(f"command {command.kind} is not handled by the booth")

    def _post(self, action: OperatorAction, **args: Any) -> str:
        reply: Future[str] = Future()
        self.inbox.post(OperatorCommand(action, args=args, trusted=True, reply=reply))
        return reply.result(timeout=COMMAND_TIMEOUT_S)


def reconcile_uploads(booth: Booth, uplink: Uplink) -> int:
    """Queue accepted photos the outbox does not know (a crash between ledger and outbox).

    One photo that cannot be queued (its roster row breaks today's rules, its file changed) is
    reported and left in the ledger; the others are queued and the booth starts. Re-importing a
    corrected roster lets the next start queue it.
    """
    for invalid, problem in booth.roster.invalid_entries():
        log.error("roster: the row of %s is not valid (%s): re-import the roster", mask_id(invalid.id_number),
                  problem)
    queued = 0
    for capture in booth.ledger.pending_uploads():
        if uplink.outbox.has_photo(capture.photo_id) or not capture.path or not Path(capture.path).exists():
            continue
        entry = booth.roster.lookup(capture.id_number)
        if entry is None:
            log.error("uplink: photo %s has no roster entry; not sent", capture.photo_id)
            continue
        try:
            uplink.photo_saved(capture.photo_id, Path(capture.path), wire_meta(photo_meta(entry, capture)))
        except (ProtocolError, OutboxError) as error:
            log.error("uplink: photo %s of %s is kept but not queued: %s", capture.photo_id,
                      mask_id(capture.id_number), error)
            continue
        queued += 1
    return queued
