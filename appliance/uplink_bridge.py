"""The booth side of the central link: what the uplink asks the booth, and what central commands do.

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
from typing import Any

from appliance import db
from appliance.device.doctor import Doctor, summary
from appliance.flow.booth import Booth, upload_meta
from appliance.flow.events import OperatorAction, OperatorCommand
from appliance.ledger import Ledger
from appliance.privacy import mask_id
from appliance.roster import Roster, RosterImportError, parse_rows
from appliance.runtime import BoothLoop
from appliance.uplink.outbox import OutboxError
from appliance.uplink.protocol import Command, ProtocolError

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 10.0


class BoothBridge:
    def __init__(self, booth: Booth, loop: BoothLoop, db_path: Path) -> None:
        self.booth = booth
        self.loop = loop
        self.db_path = db_path
        self._local = threading.local()

    def _ledger(self) -> Ledger:
        ledger = getattr(self._local, "ledger", None)
        if ledger is None:
            ledger = self._local.ledger = Ledger(db.connect(self.db_path), self.booth.config.booth.id)
        return ledger

    # ---- uplink -> booth
    def status(self) -> dict[str, Any]:
        booth = self.booth
        session = booth.session
        info = None
        if session is not None:
            info = {"id": session.id, "kind": session.kind, "college": session.college or "补拍",
                    "class": session.class_name or "补拍"}
        return {"state": booth.state.value, "session": info}

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
        if command.kind == "doctor":
            checks = Doctor(self.booth.config, inside_booth=True).run()
            if any(check.status == "fail" for check in checks):
                raise RuntimeError(summary(checks))  # answered ok=false, with the failures and their fixes
            return summary(checks)
        raise ValueError(f"command {command.kind} is not handled by the booth")

    def _post(self, action: OperatorAction, **args: Any) -> str:
        reply: Future[str] = Future()
        self.loop.post(OperatorCommand(action, args=args, trusted=True, reply=reply))
        return reply.result(timeout=COMMAND_TIMEOUT_S)


def reconcile_uploads(booth: Booth, uplink: Any) -> int:
    """Queue accepted photos the outbox does not know (a crash between ledger and outbox).

    One photo that cannot be queued (its roster row breaks today's rules, its file changed) is
    reported and left in the ledger; the others are queued and the booth starts. Re-importing a
    corrected roster lets the next start queue it.
    """
    for entry, problem in booth.roster.invalid_entries():
        log.error("roster: the row of %s is not valid (%s): re-import the roster", mask_id(entry.id_number),
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
            uplink.photo_saved(capture.photo_id, Path(capture.path), upload_meta(entry, capture))
        except (ProtocolError, OutboxError) as error:
            log.error("uplink: photo %s of %s is kept but not queued: %s", capture.photo_id,
                      mask_id(capture.id_number), error)
            continue
        queued += 1
    return queued
