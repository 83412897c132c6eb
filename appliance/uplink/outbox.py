"""The booth's durable outbox: every accepted photo and every event waits here until central has it.

Rows live in SQLite (WAL, synchronous=FULL, via boothcore.db) in tables prefixed ``outbox_``; the
file is shared with the booth's ledger, so nothing here touches other tables. A photo row is
written only after its file is durable, keeps the init message (size, sha256) computed then, and
stays ``pending`` until central acks "stored" with the same sha256; it then becomes ``acked`` (kept,
so a "resend" command from central can queue it again). Event rows are deleted on their ack.
Nothing unacknowledged is ever removed: a photo whose file vanished or changed is flagged
(``missing_file`` / ``corrupt``) and reported, not dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from boothcore.db import apply_schema, connect, transaction
from boothcore.privacy import mask_id
from boothcore.protocol import (
    CHUNK_SIZE,
    Event,
    PhotoInit,
    ProtocolError,
    chunk_count,
    decode,
    encode,
    utc_now,
    validation_reason,
)

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_photos (
    photo_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    init TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'acked', 'missing_file', 'corrupt', 'rejected')),
    reason TEXT,
    enqueued_at REAL NOT NULL,
    acked_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_photos_state ON outbox_photos (state, enqueued_at);
CREATE TABLE IF NOT EXISTS outbox_events (
    event_id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    enqueued_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_events_age ON outbox_events (enqueued_at);
CREATE TABLE IF NOT EXISTS outbox_commands (
    command_id TEXT PRIMARY KEY,
    ok INTEGER NOT NULL,
    message TEXT NOT NULL,
    done_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"""

PhotoState = Literal["pending", "acked", "missing_file", "corrupt", "rejected"]
META_KEYS = ("id_number", "student_no", "college", "class", "session_id", "attempt", "captured_at", "booth_checks")


class OutboxError(Exception):
    """A photo cannot be queued (its file is missing or unreadable)."""


@dataclass(frozen=True)
class PendingPhoto:
    photo_id: str
    path: Path
    init: PhotoInit


def disk_free_mb(path: str | Path) -> float:
    """Free space of the partition holding ``path`` (the nearest existing parent)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free / (1024 * 1024)


def file_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


class Outbox:
    """Thread-safe outbox over one SQLite connection (the booth flow and the uplink sender share it)."""

    def __init__(self, db_path: str | Path, booth_id: str, *, chunk_size: int = CHUNK_SIZE,
                 on_photo_acked: Callable[[str], None] | None = None) -> None:
        self.db_path = Path(db_path)
        self.booth_id = booth_id
        self.chunk_size = chunk_size
        self.on_photo_acked = on_photo_acked
        self._lock = threading.RLock()
        self._conn = connect(self.db_path, check_same_thread=False)
        apply_schema(self._conn, SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------------------ queueing

    def enqueue_photo(self, photo_id: str, path: str | Path, meta: dict[str, Any]) -> PhotoInit:
        """Queue a durably written photo; idempotent by ``photo_id`` (returns the first init).

        ``meta`` carries id_number, student_no, college, class, session_id, attempt, captured_at,
        optionally booth_checks (kept in the stored init, so every send carries them) and sha256
        (checked against the file); other keys are ignored.
        Raises ProtocolError when they are invalid and OutboxError when the file cannot be read.
        """
        existing = self.photo_init(photo_id)
        if existing is not None:
            return existing
        path = Path(path).resolve()
        try:
            size, sha256 = file_sha256(path)
        except OSError as error:
            raise OutboxError(f"photo {photo_id}: cannot read {path}: {error.strerror}") from None
        if meta.get("sha256") not in (None, sha256):  # the ledger's hash at capture time
            raise OutboxError(f"photo {photo_id}: {path} changed since it was captured (sha256 differs)")
        fields = {key: meta[key] for key in META_KEYS if key in meta}
        fields.setdefault("captured_at", utc_now())
        try:
            init = PhotoInit.model_validate({
                **fields, "booth": self.booth_id, "photo_id": photo_id, "size": size, "sha256": sha256,
                "chunk_size": self.chunk_size, "chunks": chunk_count(size, self.chunk_size)})
        except ValidationError as error:
            raise ProtocolError(f"photo {photo_id}: {validation_reason(error)}") from None
        with self._lock, transaction(self._conn) as conn:
            inserted = conn.execute("INSERT OR IGNORE INTO outbox_photos (photo_id, path, init, enqueued_at) "
                                    "VALUES (?, ?, ?, ?)",
                                    (photo_id, str(path), encode(init).decode(), time.time())).rowcount
        if not inserted:  # queued by another thread meanwhile: its init is the one that counts
            return self.photo_init(photo_id) or init
        log.info("outbox: photo %s of %s queued (%d bytes)", photo_id, mask_id(init.id_number), size)
        return init

    def enqueue_event(self, kind: str, data: dict[str, Any], *, ts: str | None = None) -> str:
        """Queue an event; returns its event_id. ProtocolError if ``data`` does not fit ``kind``."""
        event_id = uuid.uuid4().hex
        try:
            event = Event.model_validate({"booth": self.booth_id, "event_id": event_id,
                                          "ts": ts or utc_now(), "kind": kind, "data": data})
        except ValidationError as error:
            raise ProtocolError(f"event {kind!r}: {validation_reason(error)}") from None
        with self._lock, transaction(self._conn) as conn:
            conn.execute("INSERT INTO outbox_events (event_id, payload, enqueued_at) VALUES (?, ?, ?)",
                         (event_id, encode(event).decode(), time.time()))
        return event_id

    # -------------------------------------------------------------------------------- reading

    def photo_init(self, photo_id: str) -> PhotoInit | None:
        with self._lock:
            row = self._conn.execute("SELECT init FROM outbox_photos WHERE photo_id = ?",
                                     (photo_id,)).fetchone()
        return decode("photo_init", row["init"].encode()) if row else None

    def photo_state(self, photo_id: str) -> PhotoState | None:
        with self._lock:
            row = self._conn.execute("SELECT state FROM outbox_photos WHERE photo_id = ?",
                                     (photo_id,)).fetchone()
        return row["state"] if row else None

    def has_photo(self, photo_id: str) -> bool:
        return self.photo_state(photo_id) is not None

    def pending_photos(self, limit: int, exclude: Iterable[str] = ()) -> list[PendingPhoto]:
        """Oldest pending photos first, skipping those already in transfer."""
        skip = set(exclude)
        found: list[PendingPhoto] = []
        with self._lock:
            rows = self._conn.execute(
                "SELECT photo_id, path, init FROM outbox_photos WHERE state = 'pending' "
                "ORDER BY enqueued_at, photo_id LIMIT ?", (limit + len(skip),)).fetchall()
        for row in rows:
            if row["photo_id"] not in skip and len(found) < limit:
                found.append(PendingPhoto(row["photo_id"], Path(row["path"]),
                                          decode("photo_init", row["init"].encode())))
        return found

    def pending_photo(self, photo_id: str) -> PendingPhoto | None:
        with self._lock:
            row = self._conn.execute("SELECT photo_id, path, init FROM outbox_photos "
                                     "WHERE photo_id = ? AND state = 'pending'", (photo_id,)).fetchone()
        if row is None:
            return None
        return PendingPhoto(row["photo_id"], Path(row["path"]), decode("photo_init", row["init"].encode()))

    def pending_events(self, limit: int, exclude: Iterable[str] = ()) -> list[tuple[str, bytes]]:
        """(event_id, encoded payload) of the oldest unacked events."""
        skip = set(exclude)
        with self._lock:
            rows = self._conn.execute("SELECT event_id, payload FROM outbox_events "
                                      "ORDER BY enqueued_at, event_id LIMIT ?", (limit + len(skip),)).fetchall()
        return [(r["event_id"], r["payload"].encode()) for r in rows if r["event_id"] not in skip][:limit]

    def read_photo(self, photo: PendingPhoto) -> bytes | None:
        """The photo's bytes if the file is still exactly what was queued; else flag the row."""
        try:
            data = photo.path.read_bytes()
        except FileNotFoundError:
            self._flag(photo.photo_id, "missing_file", f"{photo.path} is gone")
            return None
        except OSError as error:
            self._flag(photo.photo_id, "missing_file", f"{photo.path}: {error.strerror}")
            return None
        if len(data) != photo.init.size or hashlib.sha256(data).hexdigest() != photo.init.sha256:
            self._flag(photo.photo_id, "corrupt", f"{photo.path} changed since it was queued")
            return None
        return data

    def backlog(self) -> int:
        """Rows not yet acknowledged by central: photos (any state but acked) plus events."""
        with self._lock:
            # Every state but 'acked' (the CHECK constraint), spelled out so the state index is used:
            # acked rows are kept for good and would otherwise be scanned on every status.
            photos = self._conn.execute("SELECT count(*) FROM outbox_photos WHERE state IN "
                                        "('pending', 'missing_file', 'corrupt', 'rejected')").fetchone()[0]
            events = self._conn.execute("SELECT count(*) FROM outbox_events").fetchone()[0]
        return int(photos) + int(events)

    def counts(self) -> dict[str, int]:
        """Photo rows by state, plus ``events`` (for status pages and tests)."""
        with self._lock:
            rows = self._conn.execute("SELECT state, count(*) AS n FROM outbox_photos GROUP BY state").fetchall()
            events = self._conn.execute("SELECT count(*) FROM outbox_events").fetchone()[0]
        counts = {row["state"]: int(row["n"]) for row in rows}
        counts["events"] = int(events)
        return counts

    def problems(self) -> list[tuple[str, str, str]]:
        """(photo_id, state, reason) of photos that cannot be sent as they are."""
        with self._lock:
            rows = self._conn.execute("SELECT photo_id, state, reason FROM outbox_photos "
                                      "WHERE state IN ('missing_file', 'corrupt', 'rejected')").fetchall()
        return [(r["photo_id"], r["state"], r["reason"] or "") for r in rows]

    # ------------------------------------------------------------------------------ acks

    def mark_photo_acked(self, photo_id: str, sha256: str) -> bool:
        """Central stored the photo: tell the ledger, then retire the row. False if sha256 differs.

        The hook runs before the commit, so a crash in between means one more (idempotent) re-send
        and one more call of the hook, never a ledger that missed the ack.
        """
        return self.mark_photos_acked([(photo_id, sha256)])[photo_id]

    def mark_photos_acked(self, acks: Sequence[tuple[str, str]]) -> dict[str, bool]:
        """``mark_photo_acked`` for several (photo_id, sha256) "stored" acks, in one commit.

        Group commit: the hooks of every newly acked photo run first, then one transaction retires
        all their rows (one fsync instead of one per ack). Per photo_id: True when acked (now or
        before), False when unknown or central's sha256 differs from the queued one.
        """
        ids = list(dict.fromkeys(photo_id for photo_id, _ in acks))
        if not ids:
            return {}
        rows: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                rows.update((row["photo_id"], row) for row in self._conn.execute(
                    f"SELECT photo_id, init, state FROM outbox_photos WHERE photo_id IN ({','.join('?' * len(part))})",
                    part))
        result: dict[str, bool] = {}
        newly: list[str] = []
        for photo_id, sha256 in acks:
            row = rows.get(photo_id)
            if row is None:
                result.setdefault(photo_id, False)
                continue
            queued = json.loads(row["init"])["sha256"]  # written by this module from a validated init
            if queued != sha256:
                log.error("outbox: central stored photo %s with sha256 %s, queued %s", photo_id, sha256[:12],
                          queued[:12])
                result.setdefault(photo_id, False)
                continue
            result[photo_id] = True
            if row["state"] != "acked" and photo_id not in newly:
                newly.append(photo_id)
        if newly:
            if self.on_photo_acked is not None:
                for photo_id in newly:
                    self.on_photo_acked(photo_id)
            now = time.time()
            with self._lock, transaction(self._conn) as conn:
                conn.executemany("UPDATE outbox_photos SET state = 'acked', reason = NULL, acked_at = ? "
                                 "WHERE photo_id = ?", [(now, photo_id) for photo_id in newly])
        return result

    def oldest_unacked(self) -> float | None:
        """When (epoch seconds) the oldest photo central has not acknowledged was queued, or None."""
        with self._lock:
            row = self._conn.execute("SELECT min(enqueued_at) AS oldest FROM outbox_photos WHERE state IN "
                                     "('pending', 'missing_file', 'corrupt', 'rejected')").fetchone()
        return row["oldest"]

    def boot_count(self) -> int:
        """The boot counter ``next_boot`` last returned (0 before the first start)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM outbox_meta WHERE key = 'boot'").fetchone()
        return int(row["value"]) if row else 0

    def acked_photos(self, before: float) -> list[tuple[str, Path]]:
        """(photo_id, path) of photos central acknowledged before ``before`` (epoch seconds)."""
        with self._lock:
            rows = self._conn.execute("SELECT photo_id, path FROM outbox_photos WHERE state = 'acked' "
                                      "AND acked_at < ? ORDER BY acked_at", (before,)).fetchall()
        return [(row["photo_id"], Path(row["path"])) for row in rows]

    def mark_photo_rejected(self, photo_id: str, reason: str) -> None:
        self._flag(photo_id, "rejected", reason)

    def remove_event(self, event_id: str) -> bool:
        with self._lock, transaction(self._conn) as conn:
            return conn.execute("DELETE FROM outbox_events WHERE event_id = ?", (event_id,)).rowcount > 0

    def requeue(self, photo_ids: list[str] | Literal["all"]) -> int:
        """Queue photos again (central's "resend"): acked or flagged rows whose file is intact."""
        with self._lock:
            if photo_ids == "all":
                rows = self._conn.execute("SELECT photo_id, path, init FROM outbox_photos "
                                          "WHERE state != 'pending'").fetchall()
            else:
                marks = ",".join("?" * len(photo_ids))
                rows = self._conn.execute(f"SELECT photo_id, path, init FROM outbox_photos WHERE state != "
                                          f"'pending' AND photo_id IN ({marks})", list(photo_ids)).fetchall()
        again = []
        for row in rows:
            init = decode("photo_init", row["init"].encode())
            try:
                size, sha256 = file_sha256(Path(row["path"]))
            except OSError:
                continue
            if (size, sha256) == (init.size, init.sha256):
                again.append(row["photo_id"])
        with self._lock, transaction(self._conn) as conn:
            for photo_id in again:
                conn.execute("UPDATE outbox_photos SET state = 'pending', reason = NULL WHERE photo_id = ?",
                             (photo_id,))
        return len(again)

    def check_files(self) -> list[tuple[str, PhotoState | Literal[""]]]:
        """At start: flag pending photos whose file is gone or changed; return (photo_id, state)."""
        with self._lock:
            rows = self._conn.execute("SELECT photo_id, path, init FROM outbox_photos "
                                      "WHERE state = 'pending'").fetchall()
        flagged = []
        for row in rows:
            photo = PendingPhoto(row["photo_id"], Path(row["path"]), decode("photo_init", row["init"].encode()))
            if self.read_photo(photo) is None:
                flagged.append((photo.photo_id, self.photo_state(photo.photo_id) or ""))
        return flagged

    def _flag(self, photo_id: str, state: PhotoState, reason: str) -> None:
        log.error("outbox: photo %s is %s: %s", photo_id, state, reason)
        with self._lock, transaction(self._conn) as conn:
            conn.execute("UPDATE outbox_photos SET state = ?, reason = ? WHERE photo_id = ? AND state != 'acked'",
                         (state, reason[:500], photo_id))

    # -------------------------------------------------------------------------- bookkeeping

    def next_boot(self) -> int:
        """Increment and return the boot counter (one per process start; survives power loss)."""
        with self._lock, transaction(self._conn) as conn:
            row = conn.execute("SELECT value FROM outbox_meta WHERE key = 'boot'").fetchone()
            boot = (int(row["value"]) if row else 0) + 1
            conn.execute("INSERT OR REPLACE INTO outbox_meta (key, value) VALUES ('boot', ?)", (str(boot),))
        return boot

    def install_id(self) -> str:
        """This data folder's install id (uuid4 hex), made on first use and kept with the boot counter.

        A reset of the booth's data (a new SD card) loses both together: central sees the boot
        counter start again under a new install id and accepts it as a new boot sequence.
        """
        with self._lock, transaction(self._conn) as conn:
            row = conn.execute("SELECT value FROM outbox_meta WHERE key = 'install_id'").fetchone()
            if row is not None:
                return str(row["value"])
            made = uuid.uuid4().hex
            conn.execute("INSERT INTO outbox_meta (key, value) VALUES ('install_id', ?)", (made,))
        return made

    def command_result(self, command_id: str) -> tuple[bool, str] | None:
        """The stored answer to a command already carried out (redelivered commands run once)."""
        with self._lock:
            row = self._conn.execute("SELECT ok, message FROM outbox_commands WHERE command_id = ?",
                                     (command_id,)).fetchone()
        return (bool(row["ok"]), row["message"]) if row else None

    def record_command(self, command_id: str, ok: bool, message: str, result_event: dict[str, Any]) -> str:
        """Remember a command's outcome and queue its command_result event in one transaction."""
        event_id = uuid.uuid4().hex
        event = Event.model_validate({"booth": self.booth_id, "event_id": event_id, "ts": utc_now(),
                                      "kind": "command_result", "data": result_event})
        with self._lock, transaction(self._conn) as conn:
            conn.execute("INSERT OR REPLACE INTO outbox_commands (command_id, ok, message, done_at) "
                         "VALUES (?, ?, ?, ?)", (command_id, int(ok), message, time.time()))
            conn.execute("INSERT INTO outbox_events (event_id, payload, enqueued_at) VALUES (?, ?, ?)",
                         (event_id, encode(event).decode(), time.time()))
        return event_id

    def disk_free_mb(self) -> float:
        return disk_free_mb(self.db_path.parent)

    def disk_ok(self, min_free_mb: float) -> bool:
        """False when the data partition is nearly full: take no new photos, keep sending."""
        return self.disk_free_mb() >= min_free_mb

