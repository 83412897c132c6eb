"""The booth's ledger: sessions, every capture attempt, refusals, payments and operator actions.

It is the booth's own record of what happened, kept next to the roster in ``booth.db``. ID numbers
are stored (they are the key the registry uses); refusals of cards not on the roster keep only the
masked number.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from boothcore import db
from boothcore.privacy import mask_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('class', 'makeup')),
    college TEXT,
    class_name TEXT,
    booth TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    photographed INTEGER,
    price_cny REAL NOT NULL,
    fee_cny REAL
);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id TEXT NOT NULL UNIQUE,
    booth TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    id_number TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    captured_at TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected', 'discarded')),
    failed_checks TEXT NOT NULL DEFAULT '[]',
    sha256 TEXT,
    path TEXT,
    upload_state TEXT NOT NULL DEFAULT 'none' CHECK (upload_state IN ('none', 'pending', 'acked'))
);
CREATE INDEX IF NOT EXISTS captures_person ON captures (id_number, verdict);
CREATE INDEX IF NOT EXISTS captures_session ON captures (session_id, verdict);
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    session_id TEXT,
    reason TEXT NOT NULL,
    masked_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    id_number TEXT,
    amount_cny REAL NOT NULL,
    people INTEGER NOT NULL,
    confirmed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payment_deferrals (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id),
    deferred_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS retake_allowances (
    id_number TEXT NOT NULL,
    photo_id TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (id_number, photo_id)
);
CREATE TABLE IF NOT EXISTS office_photographed (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    id_number TEXT NOT NULL,
    PRIMARY KEY (session_id, id_number)
);
CREATE TABLE IF NOT EXISTS operator_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('kiosk', 'central')),
    ok INTEGER NOT NULL,
    session_id TEXT,
    detail TEXT NOT NULL DEFAULT ''
)
"""


SessionKind = Literal["class", "makeup"]
ActionSource = Literal["kiosk", "central"]  # the operator menu on the booth, or a command from the office


class Verdict(enum.StrEnum):
    ACCEPTED = "accepted"  # compliant and saved as the CHSI file
    REJECTED = "rejected"  # failed a check (a retake may follow)
    DISCARDED = "discarded"  # the cycle was cancelled (new card, timeout) before saving


@dataclass(frozen=True)
class SessionRecord:
    id: str
    kind: SessionKind
    college: str | None
    class_name: str | None
    opened_at: str
    closed_at: str | None
    price_cny: float
    photographed: int | None = None  # set when the session is closed
    fee_cny: float | None = None  # the class fee asked for at closing

    @property
    def label(self) -> str:
        return f"{self.college} {self.class_name}" if self.kind == "class" else "补拍 make-up"


@dataclass(frozen=True)
class CaptureRecord:
    photo_id: str
    session_id: str
    id_number: str
    attempt: int
    captured_at: str
    verdict: Verdict
    failed_checks: tuple[str, ...]
    sha256: str | None
    path: str | None
    upload_state: str


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    return uuid.uuid4().hex


def _session(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(id=row["id"], kind=row["kind"], college=row["college"],
                         class_name=row["class_name"], opened_at=row["opened_at"],
                         closed_at=row["closed_at"], price_cny=row["price_cny"],
                         photographed=row["photographed"], fee_cny=row["fee_cny"])


def _capture(row: sqlite3.Row) -> CaptureRecord:
    return CaptureRecord(photo_id=row["photo_id"], session_id=row["session_id"], id_number=row["id_number"],
                         attempt=row["attempt"], captured_at=row["captured_at"],
                         verdict=Verdict(row["verdict"]), failed_checks=tuple(json.loads(row["failed_checks"])),
                         sha256=row["sha256"], path=row["path"], upload_state=row["upload_state"])


class Ledger:
    def __init__(self, conn: sqlite3.Connection, booth_id: str) -> None:
        self.conn = conn
        self.booth_id = booth_id
        db.apply_schema(conn, SCHEMA)

    # sessions -------------------------------------------------------------------------------
    def open_session(self, kind: SessionKind, college: str | None, class_name: str | None,
                     price_cny: float) -> SessionRecord:
        session_id = new_id()
        with db.transaction(self.conn):
            self.conn.execute(
                "INSERT INTO sessions (id, kind, college, class_name, booth, opened_at, price_cny)"
                " VALUES (?,?,?,?,?,?,?)",
                (session_id, kind, college, class_name, self.booth_id, utc_now(), price_cny))
        return self.session(session_id)

    def session(self, session_id: str) -> SessionRecord:
        return _session(self.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone())

    def open_sessions(self) -> list[SessionRecord]:
        rows = self.conn.execute("SELECT * FROM sessions WHERE closed_at IS NULL ORDER BY opened_at")
        return [_session(row) for row in rows]

    def close_session(self, session_id: str, photographed: int, fee_cny: float) -> None:
        with db.transaction(self.conn):
            self.conn.execute(
                "UPDATE sessions SET closed_at = ?, photographed = ?, fee_cny = ? WHERE id = ?",
                (utc_now(), photographed, fee_cny, session_id))

    def unpaid_sessions(self) -> list[SessionRecord]:
        """Closed class sessions whose fee was neither confirmed as paid nor deferred, oldest first:
        the booth shows their summary (and payment QR code) until the operator does one or the other.
        A make-up session has no class fee (each student paid after their photo), nor has a class closed
        with nobody photographed (fee 0)."""
        rows = self.conn.execute(
            "SELECT * FROM sessions s WHERE closed_at IS NOT NULL AND kind = 'class' AND fee_cny > 0"
            " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.session_id = s.id AND p.id_number IS NULL)"
            " AND NOT EXISTS (SELECT 1 FROM payment_deferrals d WHERE d.session_id = s.id)"
            " ORDER BY closed_at, opened_at")
        return [_session(row) for row in rows]

    def defer_payment(self, session_id: str) -> None:
        """The class pays later: its summary is put away, the fee stays unpaid (central sees no payment)."""
        with db.transaction(self.conn):
            self.conn.execute("INSERT OR IGNORE INTO payment_deferrals (session_id, deferred_at) VALUES (?,?)",
                              (session_id, utc_now()))

    # captures -------------------------------------------------------------------------------
    def record_capture(self, *, photo_id: str, session_id: str, id_number: str, attempt: int,
                       verdict: Verdict, failed_checks: list[str] | tuple[str, ...] = (),
                       sha256: str | None = None, path: str | None = None) -> CaptureRecord:
        upload_state = "pending" if verdict is Verdict.ACCEPTED else "none"
        with db.transaction(self.conn):
            self.conn.execute(
                "INSERT INTO captures (photo_id, booth, session_id, id_number, attempt, captured_at, verdict,"
                " failed_checks, sha256, path, upload_state) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (photo_id, self.booth_id, session_id, id_number, attempt, utc_now(), verdict.value,
                 json.dumps(list(failed_checks)), sha256, path, upload_state))
        return self.capture(photo_id)

    def capture(self, photo_id: str) -> CaptureRecord:
        return _capture(self.conn.execute("SELECT * FROM captures WHERE photo_id = ?", (photo_id,)).fetchone())

    def mark_uploaded(self, photo_id: str) -> None:
        with db.transaction(self.conn):
            self.conn.execute("UPDATE captures SET upload_state = 'acked' WHERE photo_id = ?", (photo_id,))

    def accepted_for(self, id_number: str) -> list[CaptureRecord]:
        rows = self.conn.execute(
            "SELECT * FROM captures WHERE id_number = ? AND verdict = 'accepted' ORDER BY id", (id_number,))
        return [_capture(row) for row in rows]

    def accepted_in_session(self, session_id: str) -> list[CaptureRecord]:
        """One row per person: the latest accepted capture of each ID number in the session."""
        rows = self.conn.execute(
            "SELECT * FROM captures WHERE id IN (SELECT MAX(id) FROM captures WHERE session_id = ?"
            " AND verdict = 'accepted' GROUP BY id_number) ORDER BY id", (session_id,))
        return [_capture(row) for row in rows]

    def accepted_files(self) -> set[tuple[str, str]]:
        """(photo_id, id_number) of every accepted capture: the photo files the booth keeps."""
        rows = self.conn.execute("SELECT photo_id, id_number FROM captures WHERE verdict = 'accepted'")
        return {(row[0], row[1]) for row in rows}

    def pending_uploads(self) -> list[CaptureRecord]:
        rows = self.conn.execute(
            "SELECT * FROM captures WHERE verdict = 'accepted' AND upload_state = 'pending' ORDER BY id")
        return [_capture(row) for row in rows]

    # retakes central allowed -----------------------------------------------------------------
    def allow_retake(self, id_number: str, photo_id: str) -> bool:
        """Record central's ``allow_retake`` for the flagged ``photo_id``; False when already recorded."""
        with db.transaction(self.conn):
            cursor = self.conn.execute("INSERT OR IGNORE INTO retake_allowances (id_number, photo_id, granted_at)"
                                       " VALUES (?,?,?)", (id_number, photo_id, utc_now()))
            return cursor.rowcount == 1

    def retake_allowed(self, id_number: str) -> bool:
        """True while an allowance is newer than the person's latest accepted capture on this booth:
        the next accepted photo uses it up (both times are this booth's clock)."""
        row = self.conn.execute(
            "SELECT 1 FROM retake_allowances WHERE id_number = ? AND granted_at > COALESCE("
            "(SELECT MAX(captured_at) FROM captures WHERE id_number = ? AND verdict = 'accepted'), '')",
            (id_number, id_number)).fetchone()
        return row is not None

    # who central has photographed --------------------------------------------------------------
    def record_office_photographed(self, session_id: str, id_numbers: Iterable[str]) -> int:
        """Replace what central said, in answer to ``session_id``'s close, of who in its class has a
        current photo (from any booth); the number of people. ValueError for a session not in the ledger."""
        if self.conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise ValueError(f"no session {session_id} on this booth")
        numbers = set(id_numbers)
        with db.transaction(self.conn):
            self.conn.execute("DELETE FROM office_photographed WHERE session_id = ?", (session_id,))
            self.conn.executemany("INSERT INTO office_photographed (session_id, id_number) VALUES (?,?)",
                                  [(session_id, number) for number in sorted(numbers)])
        return len(numbers)

    def office_photographed(self, session_id: str) -> set[str]:
        rows = self.conn.execute("SELECT id_number FROM office_photographed WHERE session_id = ?", (session_id,))
        return {row[0] for row in rows}

    # refusals and payments -------------------------------------------------------------------
    def record_refusal(self, session_id: str | None, reason: str, id_number: str | None) -> None:
        with db.transaction(self.conn):
            self.conn.execute("INSERT INTO refusals (at, session_id, reason, masked_id) VALUES (?,?,?,?)",
                              (utc_now(), session_id, reason, mask_id(id_number)))

    def refusals(self, session_id: str) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT reason, COUNT(*) FROM refusals WHERE session_id = ? GROUP BY reason", (session_id,))
        return {row[0]: row[1] for row in rows}

    def record_payment(self, session_id: str, amount_cny: float, people: int,
                       id_number: str | None = None) -> None:
        with db.transaction(self.conn):
            self.conn.execute(
                "INSERT INTO payments (session_id, id_number, amount_cny, people, confirmed_at)"
                " VALUES (?,?,?,?,?)", (session_id, id_number, amount_cny, people, utc_now()))

    def payments(self, session_id: str) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM payments WHERE session_id = ? ORDER BY id",
                                 (session_id,)).fetchall()

    # operator actions ------------------------------------------------------------------------
    def record_operator_action(self, action: str, source: ActionSource, ok: bool, session_id: str | None,
                               detail: str = "") -> None:
        """One operator action (menu opened, wrong PIN, class opened, payment confirmed, ...); ``detail``
        never holds a name or a full ID number (the caller phrases it without them)."""
        with db.transaction(self.conn):
            self.conn.execute(
                "INSERT INTO operator_actions (at, action, source, ok, session_id, detail) VALUES (?,?,?,?,?,?)",
                (utc_now(), action, source, int(ok), session_id, detail))

    def operator_actions(self) -> list[sqlite3.Row]:
        """Every recorded operator action, oldest first."""
        return self.conn.execute("SELECT * FROM operator_actions ORDER BY id").fetchall()
