"""Central storage: booths, events, photos, roster and commands, behind one interface.

``Store`` is what the ingest, the dashboard and the exports call. ``SqliteStore`` (one file, WAL +
synchronous=FULL through boothcore.db: the embedded default) and ``PostgresStore`` (psycopg 3 with
a pool: ingest workers on several machines share it) run the same SQL (``SqlStore``) through
``central.sql``'s connections; ``open_store`` picks the engine from the URL. Each thread opens its
own Store. Timestamps are stored normalised to UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` so they sort as
text (PostgreSQL databases use the C collation, as SQLite compares: ``check_postgres_database``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from boothcore import db
from boothcore.cli import CommandError
from boothcore.roster import SCHEMA as ROSTER_SCHEMA
from boothcore.roster import UPSERT as ROSTER_UPSERT
from boothcore.roster import Category, RosterEntry, entry_from_row, roster_rows
from central.sql import Connection, PostgresConnection, SqliteConnection

if TYPE_CHECKING:  # central.config does not import the store; the annotation alone needs it
    from central.config import CentralConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS booths (
    booth TEXT PRIMARY KEY,
    boot INTEGER NOT NULL,
    online INTEGER NOT NULL,
    state TEXT NOT NULL,
    session_json TEXT,
    queue_depth INTEGER,
    disk_free_mb REAL,
    cpu_temp_c REAL,
    version TEXT,
    status_ts TEXT NOT NULL,
    status_received_at TEXT NOT NULL,
    telemetry_json TEXT,
    telemetry_ts TEXT
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    booth TEXT NOT NULL,
    ts TEXT NOT NULL,
    kind TEXT NOT NULL,
    data_json TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_booth_ts ON events (booth, ts);
CREATE INDEX IF NOT EXISTS events_kind_ts ON events (kind, ts);
CREATE TABLE IF NOT EXISTS photos (
    photo_id TEXT PRIMARY KEY,
    booth TEXT NOT NULL,
    id_number TEXT NOT NULL,
    student_no TEXT NOT NULL,
    college TEXT NOT NULL,
    class_name TEXT NOT NULL,
    session_id TEXT,
    attempt INTEGER NOT NULL,
    captured_at TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    is_current INTEGER NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS photos_person ON photos (id_number, captured_at);
CREATE INDEX IF NOT EXISTS photos_class ON photos (college, class_name);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY,
    booth TEXT NOT NULL,
    kind TEXT NOT NULL,
    data_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    result_ok INTEGER,
    result_message TEXT,
    result_at TEXT
);
CREATE INDEX IF NOT EXISTS commands_booth ON commands (booth, created_at)
"""

# The roster table in PostgreSQL's spelling (boothcore.roster.SCHEMA's default is SQLite's strftime).
POSTGRES_ROSTER_SCHEMA = ROSTER_SCHEMA.replace(
    "DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
    "DEFAULT (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))")

# Upgrades of a store made by an earlier build (``db.migrate``, component "central"): every store
# starts from SCHEMA (version 0) and runs each later step once, in order. A step is SQL both engines
# run, or {"sqlite": ..., "postgresql": ...} where their spellings differ; the migration tests run
# every step on both engines.
Step = str | Mapping[str, str]
MIGRATIONS: list[tuple[int, Step]] = [
    # 1: the booth's install id (a data reset starts a new boot sequence), every install seen, and
    # the photos of a person in central's own receive order.
    (1, """
ALTER TABLE booths ADD COLUMN install_id TEXT;
ALTER TABLE booths ADD COLUMN resets INTEGER NOT NULL DEFAULT 0;
ALTER TABLE booths ADD COLUMN reset_at TEXT;
CREATE TABLE booth_installs (
    booth TEXT NOT NULL,
    install_id TEXT NOT NULL,
    first_boot INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (booth, install_id)
);
CREATE INDEX photos_person_stored ON photos (id_number, stored_at)
"""),
    # 2: the office dashboard's users (argon2 hashes), their login sessions (only a token's sha256
    # is kept), failed logins for the rate limit, and the audit trail (central.users); the index the
    # progress page counts photos per class with.
    (2, {dialect: """
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    college TEXT,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE web_sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE login_failures (
    name TEXT NOT NULL,
    client TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_at ON login_failures (at);
CREATE INDEX photos_class_current ON photos (college, class_name, is_current, stored_at);
CREATE TABLE audit (
    seq """ + seq + """,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
)
""" for dialect, seq in (("sqlite", "INTEGER PRIMARY KEY AUTOINCREMENT"),
                         ("postgresql", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"))}),
    # 3: the fleet page's last photo per booth; class progress no longer reads photos_class_current.
    (3, """
DROP INDEX IF EXISTS photos_class_current;
CREATE INDEX photos_booth_stored ON photos (booth, stored_at)
"""),
    # 4: the colleges' schedule (central.schedule: each slot in the office's local time as imported,
    # and as sortable UTC), and the photos an admin flagged for a retake (the person is missing again
    # until a newer photo arrives).
    (4, """
CREATE TABLE schedule_slots (
    college TEXT NOT NULL,
    class_name TEXT NOT NULL,
    booth TEXT NOT NULL,
    slot_date TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (college, class_name, booth, starts_at)
);
CREATE INDEX schedule_slots_booth ON schedule_slots (booth, starts_at);
CREATE TABLE retake_flags (
    photo_id TEXT PRIMARY KEY,
    id_number TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    flagged_at TEXT NOT NULL
);
CREATE INDEX retake_flags_person ON retake_flags (id_number)
"""),
    # 5: the progress page's one grouped pass (SqlStore.class_progress): each class's people in
    # order with the columns _to_photograph reads, and each person's current photo (a partial
    # index: only current rows; also the missing lists' and current_photo's probe).
    (5, """
CREATE INDEX roster_progress ON roster (college, class_name, category, captured_before, graduation_year, id_number);
CREATE INDEX photos_current ON photos (id_number, attempt, stored_at, is_current) WHERE is_current = 1
"""),
    # 6: the booth's own checks of each photo (photo_init's optional booth_checks, as JSON; NULL
    # from booth builds that do not send them).
    (6, "ALTER TABLE photos ADD COLUMN booth_checks_json TEXT"),
]




def migrations(dialect: str) -> list[tuple[int, str]]:
    """MIGRATIONS in ``dialect``'s spelling ("sqlite" or "postgresql")."""
    return [(version, step if isinstance(step, str) else step[dialect]) for version, step in MIGRATIONS]


LATEST = MIGRATIONS[-1][0]


def utc(text: str | None = None) -> str:
    """Normalise an ISO 8601 time (``None`` = now) to sortable UTC text."""
    moment = dt.datetime.now(dt.UTC) if text is None else dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class BoothStatus:
    booth: str
    boot: int
    online: bool
    state: str
    ts: str
    session: dict[str, Any] | None = None
    queue_depth: int | None = None
    disk_free_mb: float | None = None
    cpu_temp_c: float | None = None
    version: str | None = None
    received_at: str = ""
    telemetry: dict[str, Any] | None = None
    install_id: str | None = None  # None: a booth build that does not send one
    resets: int = 0  # times central saw this booth come back as a new install (data reset)
    reset_at: str | None = None


class StatusOutcome(enum.StrEnum):
    """What ``Store.record_status`` did with a status."""

    APPLIED = "applied"
    STALE = "stale"  # a lower boot than seen, or older within this boot (a late Will)
    RESET = "reset"  # applied: an install id never seen for this booth starts a new boot sequence
    RETIRED = "retired"  # from an install this booth has since been replaced by: ignored


@dataclass(frozen=True)
class EventRecord:
    event_id: str
    booth: str
    ts: str
    kind: str
    data: dict[str, Any]
    received_at: str = ""


@dataclass(frozen=True)
class PhotoRecord:
    photo_id: str
    booth: str
    id_number: str
    student_no: str
    college: str
    class_name: str
    session_id: str | None
    attempt: int
    captured_at: str
    size: int
    sha256: str
    path: str
    is_current: bool = True
    stored_at: str = ""
    # The booth's checks as photo_init carried them ({"v": 1, "checks": {id: {passed, value, limit}}},
    # boothcore.protocol.BoothChecks); None from a booth build that does not send them.
    booth_checks: dict[str, Any] | None = None

    def __repr__(self) -> str:
        from boothcore.privacy import mask_id

        return f"PhotoRecord({self.photo_id}, {mask_id(self.id_number)}, {self.college}/{self.class_name})"


@dataclass(frozen=True)
class ClassProgress:
    college: str
    class_name: str
    roster_size: int
    photographed: int
    last_activity: str = ""  # when central stored the class's latest current photo
    retaken: int = 0  # current photos that took the booth more than one attempt (its checks sent a retake)

    @property
    def missing(self) -> int:
        return self.roster_size - self.photographed


@dataclass(frozen=True)
class ScheduleSlot:
    """One booth slot of a class: the date and times as imported (the office's local time, HH:MM)
    and the same moments as sortable UTC (``starts_at`` / ``ends_at``, see ``utc``)."""

    college: str
    class_name: str
    booth: str
    slot_date: str  # YYYY-MM-DD
    start_time: str  # HH:MM
    end_time: str  # HH:MM
    starts_at: str
    ends_at: str


@dataclass(frozen=True)
class RetakeFlag:
    photo_id: str
    id_number: str
    reason: str
    actor: str
    flagged_at: str

    def __repr__(self) -> str:
        from boothcore.privacy import mask_id

        return f"RetakeFlag({self.photo_id}, {mask_id(self.id_number)}, {self.reason!r})"


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    booth: str
    kind: str
    data: dict[str, Any]
    created_at: str = ""
    result_ok: bool | None = None
    result_message: str | None = None


@dataclass(frozen=True)
class InitLookup:
    """What the ingest checks a photo's init against: the photo if already stored, the person's
    roster entry, and whether any roster is imported (none: nothing to check against)."""

    stored: PhotoRecord | None
    entry: RosterEntry | None
    roster_imported: bool


@runtime_checkable
class Store(Protocol):
    """The storage interface of the central service (``SqlStore`` on SQLite or PostgreSQL)."""

    def close(self) -> None: ...

    # booths
    def record_status(self, status: BoothStatus) -> StatusOutcome:
        """Apply a status/Will unless it is stale or from a retired install (see StatusOutcome)."""

    def record_telemetry(self, booth: str, ts: str, data: dict[str, Any]) -> None: ...
    def booths(self) -> list[BoothStatus]: ...

    # events
    def record_event(self, event: EventRecord) -> bool:
        """Insert once by event_id; False when it was already there."""

    def events(self, *, booth: str | None = None, kind: str | None = None, limit: int = 100,
               ) -> list[EventRecord]: ...
    def event_tally(self, kind: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """(booth, data's value of each of ``keys`` (None where absent), how many) of each distinct
        such tuple among the events of ``kind``; ``keys`` are the code's own JSON key names."""

    # photos
    def photo(self, photo_id: str) -> PhotoRecord | None: ...
    def current_photo(self, id_number: str) -> PhotoRecord | None: ...
    def add_photo(self, record: PhotoRecord) -> bool:
        """Insert once by photo_id; it becomes the person's current photo (central's receive order).
        False when the photo_id was already stored."""

    def add_photos(self, records: Sequence[PhotoRecord]) -> list[PhotoRecord]:
        """``add_photo`` of several, in receive order, in one transaction: the ones inserted, as stored."""

    def stored_photos(self, photo_ids: Iterable[str]) -> dict[str, PhotoRecord]:
        """The stored photos among ``photo_ids``, by photo_id."""

    def photos(self, *, college: str | None = None, class_name: str | None = None,
               current_only: bool = True, session_id: str | None = None) -> list[PhotoRecord]: ...

    # roster
    def import_roster(self, entries: Iterable[RosterEntry]) -> int: ...
    def roster_entry(self, id_number: str) -> RosterEntry | None: ...
    def roster_size(self) -> int: ...
    def init_lookup(self, photo_id: str, id_number: str) -> InitLookup:
        """What a photo's init is checked against, read together (see InitLookup)."""
    def session_class(self, booth: str, session_id: str) -> tuple[str, str, str] | None:
        """(kind, college, class) of a booth's session, from its status or class_opened event."""
    def roster(self, *, college: str | None = None, class_name: str | None = None) -> list[RosterEntry]: ...
    def class_progress(self, college: str | None = None) -> list[ClassProgress]:
        """Every class's counts, or only ``college``'s (the dashboard's page of one college)."""

    def missing(self, college: str, class_name: str) -> list[RosterEntry]:
        """Who of the class (to photograph at all) has no current photo: never photographed, or
        their photo was flagged for a retake."""

    # schedule and retake flags
    def import_schedule(self, slots: Sequence[ScheduleSlot]) -> int:
        """Replace the slots of every college named in ``slots`` by ``slots`` (one transaction)."""

    def schedule(self, *, college: str | None = None, class_name: str | None = None) -> list[ScheduleSlot]: ...
    def flag_retake(self, flag: RetakeFlag) -> bool:
        """Flag a current photo: it stops being current, so its person is missing again. False when
        the photo is unknown or not current (already flagged, or replaced by a newer one)."""

    def retake_flag(self, photo_id: str) -> RetakeFlag | None: ...
    def retake_flags(self, college: str, class_name: str) -> list[RetakeFlag]:
        """The flags on the class's photos, oldest first."""

    # commands pushed to booths
    def record_command(self, command: CommandRecord) -> None: ...
    def record_command_result(self, command_id: str, ok: bool, message: str) -> bool: ...
    def commands(self, *, booth: str | None = None, limit: int = 100) -> list[CommandRecord]: ...


def _photo(row: db.RowLike) -> PhotoRecord:
    return PhotoRecord(photo_id=row["photo_id"], booth=row["booth"], id_number=row["id_number"],
                       student_no=row["student_no"], college=row["college"], class_name=row["class_name"],
                       session_id=row["session_id"], attempt=row["attempt"], captured_at=row["captured_at"],
                       size=row["size"], sha256=row["sha256"], path=row["path"],
                       is_current=bool(row["is_current"]), stored_at=row["stored_at"],
                       booth_checks=json.loads(row["booth_checks_json"]) if row["booth_checks_json"] else None)


def _booth(row: db.RowLike) -> BoothStatus:
    return BoothStatus(booth=row["booth"], boot=row["boot"], online=bool(row["online"]), state=row["state"],
                       ts=row["status_ts"],
                       session=json.loads(row["session_json"]) if row["session_json"] else None,
                       queue_depth=row["queue_depth"], disk_free_mb=row["disk_free_mb"],
                       cpu_temp_c=row["cpu_temp_c"], version=row["version"],
                       received_at=row["status_received_at"],
                       telemetry=json.loads(row["telemetry_json"]) if row["telemetry_json"] else None,
                       install_id=row["install_id"], resets=row["resets"], reset_at=row["reset_at"])


# Rows per multi-row INSERT of ``add_photos``: 14 parameters a row stays far below SQLite's 32,766
# (SQLITE_MAX_VARIABLE_NUMBER since 3.32) and PostgreSQL's 65,535; the ingest's batches are at most
# 64 messages (central.ingest._BATCH_MAX).
_INSERT_ROWS = 64


# record_status's usual case: the booth's row from the install it has (a status without an install id
# from a booth whose row has one), not older than the stored status (Sparkplug's bdSeq rule: an older
# boot is stale; within one boot an older ts is, except the Will, which carries its connect time).
_STATUS_UPDATE = (
    "UPDATE booths SET boot = ?, online = ?, state = ?, session_json = ?, queue_depth = COALESCE(?, queue_depth),"
    " disk_free_mb = COALESCE(?, disk_free_mb), cpu_temp_c = COALESCE(?, cpu_temp_c),"
    " version = COALESCE(?, version), status_ts = ?, status_received_at = ?"
    " WHERE booth = ? AND install_id = COALESCE(?, install_id)"
    " AND (boot < ? OR (boot = ? AND (? = 1 OR status_ts <= ?)))")
# The roster columns an init is checked against (``entry_from_row``'s), prefixed in _INIT_LOOKUP:
# photos has columns of the same names.
_ROSTER_COLUMNS = ("id_number", "name", "student_no", "college", "class_name", "graduation_year", "level",
                   "category", "captured_before")
_INIT_LOOKUP = ("SELECT p.*, " + ", ".join(f"r.{column} AS roster_{column}" for column in _ROSTER_COLUMNS)
                + ", EXISTS (SELECT 1 FROM roster) AS roster_imported FROM (SELECT 1) AS one"
                " LEFT JOIN photos AS p ON p.photo_id = ? LEFT JOIN roster AS r ON r.id_number = ?")


def _marks(count: int) -> str:
    """``?,?,...``: the placeholders of an ``IN (...)`` list of ``count`` values."""
    return ",".join("?" * count)


def _filters(**columns: str | None) -> tuple[list[str], list[str]]:
    """``column = ?`` terms for the given values (None = any): plain equalities, so SQLite uses the
    (college, class_name) indexes; ``? IS NULL OR column = ?`` would make it scan the table."""
    given = {name: value for name, value in columns.items() if value is not None}
    return [f"{name} = ?" for name in given], list(given.values())


class SchemaError(CommandError, RuntimeError):
    """A store this build may not use as it is: migrated by a newer build, or not yet migrated."""


class SqlStore:
    """``Store`` in the SQL both engines run, on ``conn`` (``central.sql``). One instance per thread."""

    conn: Connection
    # The year whose graduates count (config roster.graduation_year); None: every year's.
    graduation_year: int | None = None

    def close(self) -> None:
        self.conn.close()

    def _to_photograph(self, alias: str) -> str:
        """The SQL condition on roster rows (``alias``.) of the people the office photographs: every
        booth refuses an entrusted-training student (委培), one photographed in an earlier year (the
        notice 2.5) and one of another graduation year for good (appliance.eligibility), so none of
        them is "missing". Their rows stay in the roster for the booths' refusals."""
        year = "" if self.graduation_year is None else f" AND {alias}graduation_year = {int(self.graduation_year)}"
        return (f"{alias}category != '{Category.ENTRUSTED.value}' AND {alias}captured_before = 0" + year)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: every write inside is one transaction, one sync for all of them.

        Each method inside runs in its own savepoint, so one that fails rolls back alone; nothing
        is durable before the block ends. Not part of ``Store``: callers fall back to single commits.
        """
        with self.conn.transaction():
            yield

    def _tx(self) -> contextlib.AbstractContextManager[Any]:
        return self.conn.transaction()

    def held(self) -> contextlib.AbstractContextManager[None]:
        """Keep one database connection for the block (an ingest worker's batch; SQLite's store has
        only one). Not part of ``Store``."""
        return contextlib.nullcontext()

    def _lock_people(self, id_numbers: Iterable[str]) -> None:
        """Serialise writers of these people's photos until the transaction ends (SQLite's BEGIN
        IMMEDIATE already serialises every writer)."""

    # ---------------------------------------------------------------------------------- booths
    def record_status(self, status: BoothStatus) -> StatusOutcome:
        ts, now = utc(status.ts), utc()
        session = json.dumps(status.session, ensure_ascii=False) if status.session else None
        outcome = StatusOutcome.APPLIED
        with self._tx():
            # The usual status (a booth central knows, from the install it has, newer than the stored
            # one, or its Will) in one statement; a new booth or install, a stale or retired status below.
            if self.conn.execute(_STATUS_UPDATE, (
                    status.boot, int(status.online), status.state, session, status.queue_depth, status.disk_free_mb,
                    status.cpu_temp_c, status.version, ts, now, status.booth, status.install_id, status.boot,
                    status.boot, int(status.state == "lost"), ts)).rowcount == 1:
                return outcome
            row = self.conn.execute(
                "SELECT b.boot, b.status_ts, b.install_id, EXISTS (SELECT 1 FROM booth_installs"
                " WHERE booth = ? AND install_id = ?) AS known_install FROM (SELECT 1) AS one"
                " LEFT JOIN booths AS b ON b.booth = ?", (status.booth, status.install_id, status.booth)).fetchone()
            known = row["boot"] is not None
            new_install = status.install_id is not None and not row["known_install"]
            if known and status.install_id is not None and not new_install \
                    and status.install_id != row["install_id"]:
                return StatusOutcome.RETIRED  # e.g. the late Will of the data the booth lost
            if known and not new_install:
                # Sparkplug's bdSeq rule: a late death (Will) from an older boot is ignored. Within one
                # boot the newer status wins, except the Will, which carries its connect time as ts.
                if status.boot < row["boot"]:
                    return StatusOutcome.STALE
                if status.boot == row["boot"] and status.state != "lost" and ts < row["status_ts"]:
                    return StatusOutcome.STALE
            if new_install:
                self.conn.execute("INSERT INTO booth_installs (booth, install_id, first_boot, first_seen)"
                                  " VALUES (?,?,?,?)", (status.booth, status.install_id, status.boot, now))
                # A booth's first install id (a new booth, or one central knew without it) is no reset.
                if known and row["install_id"] is not None:
                    outcome = StatusOutcome.RESET
            self.conn.execute(
                "INSERT INTO booths (booth, boot, online, state, session_json, queue_depth, disk_free_mb,"
                " cpu_temp_c, version, status_ts, status_received_at, install_id)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(booth) DO UPDATE SET boot=excluded.boot, online=excluded.online,"
                " state=excluded.state, session_json=excluded.session_json,"
                " queue_depth=COALESCE(excluded.queue_depth, booths.queue_depth),"
                " disk_free_mb=COALESCE(excluded.disk_free_mb, booths.disk_free_mb),"
                " cpu_temp_c=COALESCE(excluded.cpu_temp_c, booths.cpu_temp_c),"
                " version=COALESCE(excluded.version, booths.version),"
                " status_ts=excluded.status_ts, status_received_at=excluded.status_received_at,"
                " install_id=COALESCE(excluded.install_id, booths.install_id)",
                (status.booth, status.boot, int(status.online), status.state, session, status.queue_depth,
                 status.disk_free_mb, status.cpu_temp_c, status.version, ts, now, status.install_id))
            if outcome is StatusOutcome.RESET:
                self.conn.execute("UPDATE booths SET resets = resets + 1, reset_at = ? WHERE booth = ?",
                                  (now, status.booth))
        return outcome

    def record_telemetry(self, booth: str, ts: str, data: dict[str, Any]) -> None:
        ts = utc(ts)
        with self._tx():
            self.conn.execute(
                "UPDATE booths SET telemetry_json = ?, telemetry_ts = ?,"
                " queue_depth = COALESCE(?, queue_depth), disk_free_mb = COALESCE(?, disk_free_mb),"
                " cpu_temp_c = COALESCE(?, cpu_temp_c)"
                " WHERE booth = ? AND (telemetry_ts IS NULL OR telemetry_ts <= ?)",
                (json.dumps(data, ensure_ascii=False), ts, data.get("queue_depth"), data.get("disk_free_mb"),
                 data.get("cpu_temp_c"), booth, ts))

    def booths(self) -> list[BoothStatus]:
        return [_booth(row) for row in self.conn.execute("SELECT * FROM booths ORDER BY booth")]

    # ---------------------------------------------------------------------------------- events
    def record_event(self, event: EventRecord) -> bool:
        with self._tx():
            cursor = self.conn.execute(
                "INSERT INTO events (event_id, booth, ts, kind, data_json, received_at)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (event.event_id, event.booth, utc(event.ts), event.kind,
                 json.dumps(event.data, ensure_ascii=False), utc()))
            return cursor.rowcount == 1

    def events(self, *, booth: str | None = None, kind: str | None = None, limit: int = 100,
               ) -> list[EventRecord]:
        where, params = _filters(booth=booth, kind=kind)
        rows = self.conn.execute(
            f"SELECT * FROM events WHERE {' AND '.join(where) or 'TRUE'} ORDER BY ts DESC LIMIT ?",
            (*params, limit)).fetchall()
        return [EventRecord(event_id=r["event_id"], booth=r["booth"], ts=r["ts"], kind=r["kind"],
                            data=json.loads(r["data_json"]), received_at=r["received_at"]) for r in rows]

    def event_tally(self, kind: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        # The keys are read and grouped by the engine (no JSON parsed here): progress's refusals
        # read every class's sessions and refused cards on each request.
        values = "".join(f", {self.conn.json_text('data_json', key)}" for key in keys)
        groups = ", ".join(str(n) for n in range(1, len(keys) + 2))
        rows = self.conn.execute(f"SELECT booth{values}, COUNT(*) FROM events WHERE kind = ? GROUP BY {groups}",
                                 (kind,))
        return [tuple(row) for row in rows]

    # ---------------------------------------------------------------------------------- photos
    def photo(self, photo_id: str) -> PhotoRecord | None:
        row = self.conn.execute("SELECT * FROM photos WHERE photo_id = ?", (photo_id,)).fetchone()
        return _photo(row) if row else None

    def current_photo(self, id_number: str) -> PhotoRecord | None:
        row = self.conn.execute("SELECT * FROM photos WHERE id_number = ? AND is_current = 1",
                                (id_number,)).fetchone()
        return _photo(row) if row else None

    def stored_photos(self, photo_ids: Iterable[str]) -> dict[str, PhotoRecord]:
        """The stored photos among ``photo_ids``, by photo_id: one query for a batch's look for re-sends."""
        ids = sorted(set(photo_ids))
        if not ids:
            return {}
        rows = self.conn.execute(f"SELECT * FROM photos WHERE photo_id IN ({_marks(len(ids))})", ids)
        return {row["photo_id"]: _photo(row) for row in rows}

    def add_photo(self, record: PhotoRecord) -> bool:
        """The newest capture central receives becomes current: the booth's clock (``captured_at``,
        a Pi without an RTC before NTP) orders nothing; callers add a person's photos in receive order.
        """
        return bool(self.add_photos([record]))

    def add_photos(self, records: Sequence[PhotoRecord]) -> list[PhotoRecord]:
        """``add_photo`` for several photos, in receive order (a person's last one becomes current),
        in four statements whatever their number: the people's locks, one multi-row insert, one
        update of the current flags (the ingest's batch: round trips, not rows, cost on PostgreSQL).

        Returns the photos inserted, as stored (captured_at normalised, stored_at, is_current); a
        photo_id already stored (or twice in ``records``) is inserted once.
        """
        stored_at = utc()
        first: dict[str, PhotoRecord] = {}
        for record in records:
            first.setdefault(record.photo_id, record)
        unique = list(first.values())
        if not unique:
            return []
        with self._tx():
            # Two workers storing one photo_id: the primary key lets one insert; the other's waits for
            # its commit and then does nothing. Two photos of one person: _lock_people orders them.
            self._lock_people(record.id_number for record in unique)
            inserted: set[str] = set()
            for start in range(0, len(unique), _INSERT_ROWS):
                part = unique[start:start + _INSERT_ROWS]
                rows = self.conn.execute(
                    "INSERT INTO photos (photo_id, booth, id_number, student_no, college, class_name, session_id,"
                    " attempt, captured_at, size, sha256, path, is_current, stored_at, booth_checks_json) VALUES "
                    + ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)"] * len(part))
                    + " ON CONFLICT (photo_id) DO NOTHING RETURNING photo_id",
                    [value for r in part for value in (
                        r.photo_id, r.booth, r.id_number, r.student_no, r.college, r.class_name, r.session_id,
                        r.attempt, utc(r.captured_at), r.size, r.sha256, r.path, stored_at,
                        None if r.booth_checks is None else json.dumps(r.booth_checks))])
                inserted.update(row[0] for row in rows)
            new = [record for record in unique if record.photo_id in inserted]
            current = {record.id_number: record.photo_id for record in new}  # each person's last one
            if current:
                people, winners = sorted(current), sorted(current.values())
                self.conn.execute(
                    f"UPDATE photos SET is_current = CASE WHEN photo_id IN ({_marks(len(winners))}) THEN 1 ELSE 0"
                    f" END WHERE id_number IN ({_marks(len(people))})"
                    f" AND (is_current = 1 OR photo_id IN ({_marks(len(winners))}))",
                    [*winners, *people, *winners])
        return [PhotoRecord(**{**record.__dict__, "captured_at": utc(record.captured_at), "stored_at": stored_at,
                               "is_current": current[record.id_number] == record.photo_id}) for record in new]

    def photos(self, *, college: str | None = None, class_name: str | None = None,
               current_only: bool = True, session_id: str | None = None) -> list[PhotoRecord]:
        where, params = _filters(college=college, class_name=class_name, session_id=session_id)
        if current_only:
            where.append("is_current = 1")
        rows = self.conn.execute(
            f"SELECT * FROM photos WHERE {' AND '.join(where) or 'TRUE'}"
            " ORDER BY college, class_name, student_no, captured_at", params).fetchall()
        return [_photo(row) for row in rows]

    # ---------------------------------------------------------------------------------- roster
    def import_roster(self, entries: Iterable[RosterEntry]) -> int:
        rows = roster_rows(entries, utc())
        with self._tx():
            self.conn.executemany(ROSTER_UPSERT, rows)
        return len(rows)

    def roster_entry(self, id_number: str) -> RosterEntry | None:
        row = self.conn.execute("SELECT * FROM roster WHERE id_number = ?", (id_number,)).fetchone()
        return entry_from_row(row) if row else None

    def roster_size(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM roster").fetchone()[0]

    def init_lookup(self, photo_id: str, id_number: str) -> InitLookup:
        # The three reads every photo's init makes, in one statement (one row whatever matches):
        # on PostgreSQL a statement's client-side cost, not the server's work, is most of a read.
        row = self.conn.execute(_INIT_LOOKUP, (photo_id, id_number)).fetchone()
        entry = {column: row[f"roster_{column}"] for column in _ROSTER_COLUMNS}
        return InitLookup(_photo(row) if row["photo_id"] is not None else None,
                          entry_from_row(entry) if entry["id_number"] is not None else None,
                          bool(row["roster_imported"]))

    def session_class(self, booth: str, session_id: str) -> tuple[str, str, str] | None:
        row = self.conn.execute("SELECT session_json FROM booths WHERE booth = ?", (booth,)).fetchone()
        session = json.loads(row["session_json"]) if row and row["session_json"] else None
        if session and session.get("id") == session_id:
            return session.get("kind", "class"), session.get("college", ""), session.get("class", "")
        event = self.conn.execute(
            "SELECT data_json FROM events WHERE booth = ? AND kind = 'class_opened'"
            f" AND {self.conn.json_text('data_json', 'session_id')} = ? LIMIT 1", (booth, session_id)).fetchone()
        if event is None:
            return None
        data = json.loads(event["data_json"])
        return ("class" if data.get("college") else "makeup"), data.get("college", ""), data.get("class", "")

    def roster(self, *, college: str | None = None, class_name: str | None = None) -> list[RosterEntry]:
        where, params = _filters(college=college, class_name=class_name)
        rows = self.conn.execute(f"SELECT * FROM roster WHERE {' AND '.join(where) or 'TRUE'}"
                                 " ORDER BY college, class_name, student_no", params)
        return [entry_from_row(row) for row in rows]

    def class_progress(self, college: str | None = None) -> list[ClassProgress]:
        # One grouped pass in roster order: the covering index roster_progress gives each class's
        # people already grouped (no sort, no table reads; a college is its leading column's range),
        # and each person's current photo is one probe into the partial covering index
        # photos_current (migration 5): the office's progress pages at 50,000 students (bench/office.py).
        where, params = _filters(**{"r.college": college})
        rows = self.conn.execute(
            "SELECT r.college, r.class_name, COUNT(*) AS size, COUNT(p.id_number) AS done,"
            " MAX(p.stored_at) AS last, SUM(CASE WHEN p.attempt > 1 THEN 1 ELSE 0 END) AS retaken"
            " FROM roster r LEFT JOIN photos p ON p.id_number = r.id_number AND p.is_current = 1"
            " WHERE " + " AND ".join([*where, self._to_photograph("r.")]) +
            " GROUP BY r.college, r.class_name ORDER BY r.college, r.class_name", params)
        return [ClassProgress(row["college"], row["class_name"], row["size"], row["done"], row["last"] or "",
                              row["retaken"] or 0) for row in rows]

    def missing(self, college: str, class_name: str) -> list[RosterEntry]:
        rows = self.conn.execute(
            "SELECT * FROM roster r WHERE college = ? AND class_name = ? AND " + self._to_photograph("r.") +
            " AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.id_number = r.id_number AND p.is_current = 1)"
            " ORDER BY student_no", (college, class_name))
        return [entry_from_row(row) for row in rows]

    # ----------------------------------------------------------------- schedule, retake flags
    def import_schedule(self, slots: Sequence[ScheduleSlot]) -> int:
        now = utc()
        with self._tx():
            for college in sorted({slot.college for slot in slots}):
                self.conn.execute("DELETE FROM schedule_slots WHERE college = ?", (college,))
            self.conn.executemany(
                "INSERT INTO schedule_slots (college, class_name, booth, slot_date, start_time, end_time,"
                " starts_at, ends_at, imported_at) VALUES (?,?,?,?,?,?,?,?,?)",
                [(s.college, s.class_name, s.booth, s.slot_date, s.start_time, s.end_time, s.starts_at,
                  s.ends_at, now) for s in slots])
        return len(slots)

    def schedule(self, *, college: str | None = None, class_name: str | None = None) -> list[ScheduleSlot]:
        where, params = _filters(college=college, class_name=class_name)
        rows = self.conn.execute(
            "SELECT college, class_name, booth, slot_date, start_time, end_time, starts_at, ends_at"
            f" FROM schedule_slots WHERE {' AND '.join(where) or '1 = 1'} ORDER BY starts_at, booth", params)
        return [ScheduleSlot(*row) for row in rows]

    def flag_retake(self, flag: RetakeFlag) -> bool:
        with self._tx():
            cursor = self.conn.execute("UPDATE photos SET is_current = 0 WHERE photo_id = ? AND id_number = ?"
                                       " AND is_current = 1", (flag.photo_id, flag.id_number))
            if cursor.rowcount != 1:
                return False
            self.conn.execute("INSERT INTO retake_flags (photo_id, id_number, reason, actor, flagged_at)"
                              " VALUES (?,?,?,?,?)", (flag.photo_id, flag.id_number, flag.reason, flag.actor,
                                                      utc(flag.flagged_at or None)))
        return True

    def retake_flag(self, photo_id: str) -> RetakeFlag | None:
        row = self.conn.execute("SELECT photo_id, id_number, reason, actor, flagged_at FROM retake_flags"
                                " WHERE photo_id = ?", (photo_id,)).fetchone()
        return RetakeFlag(*row) if row else None

    def retake_flags(self, college: str, class_name: str) -> list[RetakeFlag]:
        rows = self.conn.execute(
            "SELECT f.photo_id, f.id_number, f.reason, f.actor, f.flagged_at FROM retake_flags f"
            " JOIN photos p ON p.photo_id = f.photo_id WHERE p.college = ? AND p.class_name = ?"
            " ORDER BY f.flagged_at", (college, class_name))
        return [RetakeFlag(*row) for row in rows]

    # -------------------------------------------------------------------------------- commands
    def record_command(self, command: CommandRecord) -> None:
        with self._tx():
            self.conn.execute(
                "INSERT INTO commands (command_id, booth, kind, data_json, created_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING", (command.command_id, command.booth, command.kind,
                                        json.dumps(command.data, ensure_ascii=False),
                                        utc(command.created_at or None)))

    def record_command_result(self, command_id: str, ok: bool, message: str) -> bool:
        with self._tx():
            cursor = self.conn.execute(
                "UPDATE commands SET result_ok = ?, result_message = ?, result_at = ? WHERE command_id = ?",
                (int(ok), message, utc(), command_id))
            return cursor.rowcount == 1

    def commands(self, *, booth: str | None = None, limit: int = 100) -> list[CommandRecord]:
        where, params = _filters(booth=booth)
        rows = self.conn.execute(
            f"SELECT * FROM commands WHERE {' AND '.join(where) or 'TRUE'} ORDER BY created_at DESC LIMIT ?",
            (*params, limit)).fetchall()
        return [CommandRecord(command_id=r["command_id"], booth=r["booth"], kind=r["kind"],
                              data=json.loads(r["data_json"]), created_at=r["created_at"],
                              result_ok=None if r["result_ok"] is None else bool(r["result_ok"]),
                              result_message=r["result_message"]) for r in rows]




class StoreUrlError(CommandError, ValueError):
    """A database URL this build has no backend for."""


def sqlite_path(url: str, base: Path | None = None) -> Path:
    """``sqlite:///abs/path.db``, ``sqlite:relative.db`` or a bare path -> the file path."""
    text = url.removeprefix("sqlite://").removeprefix("sqlite:") if url.startswith("sqlite:") else url
    path = Path(text)
    return path if path.is_absolute() or base is None else base / path


class SqliteStore(SqlStore):
    """``Store`` on one SQLite file (WAL, synchronous=FULL): migrated when opened (one host owns it)."""

    def __init__(self, path: str | Path, *, graduation_year: int | None = None) -> None:
        self.path = Path(path)
        self.graduation_year = graduation_year
        self.conn: SqliteConnection = db.connect(self.path, factory=SqliteConnection)
        try:
            migrate_sqlite(self.conn)
        except BaseException:
            self.conn.close()
            raise


class PostgresStore(SqlStore):
    """``Store`` on a PostgreSQL database shared by ingest workers on several machines.

    It is migrated only when asked (``migrate=True``: ``booth-central migrate``, ``serve --migrate``):
    workers of two builds may run against one database during an upgrade. SchemaError (one line)
    for a database behind or ahead of this build.
    """

    def __init__(self, url: str, *, migrate: bool = False, graduation_year: int | None = None) -> None:
        self.url = url
        self.graduation_year = graduation_year
        self.conn: PostgresConnection = PostgresConnection(url)
        try:
            if migrate:
                migrate_postgres(self.conn)
            else:
                found = db.schema_version(self.conn, "central")
                if found > LATEST:
                    raise SchemaError(_too_new(found))
                if found < LATEST:
                    raise SchemaError(f"the PostgreSQL store is at schema version {found}, this build needs "
                                      f"{LATEST}: run booth-central migrate --config FILE (or serve --migrate)")
        except BaseException:
            self.conn.close()
            raise

    def held(self) -> contextlib.AbstractContextManager[None]:
        return self.conn.held()

    def _lock_people(self, id_numbers: Iterable[str]) -> None:
        self.conn.advisory_xact_locks(person_lock_key(number) for number in id_numbers)

    def people_locked(self, id_numbers: Iterable[str]) -> contextlib.AbstractContextManager[None]:
        """Hold the person locks of ``id_numbers`` across a photo's file write and its row's commit
        (``PhotoArchive.store_many``): the locks of ``_lock_people``, taken for longer."""
        return self.conn.advisory_locks(person_lock_key(number) for number in id_numbers)


def person_lock_key(id_number: str) -> int:
    """The advisory lock key (signed 64 bits) of one person's photos."""
    return int.from_bytes(hashlib.sha256(f"photo-person:{id_number}".encode()).digest()[:8], "big", signed=True)


def _too_new(found: int) -> str:
    return (f"the store is at schema version {found}, this build knows up to {LATEST}: it was migrated by "
            "a newer booth-central; run that build (or restore a backup made for this one)")


def migrate_sqlite(conn: SqliteConnection) -> int:
    """Bring a central.db up to this build (a file from any earlier build is upgraded in place)."""
    found = db.schema_version(conn, "central")
    if found > LATEST:
        raise SchemaError(_too_new(found))
    db.apply_schema(conn, SCHEMA)
    db.apply_schema(conn, ROSTER_SCHEMA)  # before the migrations: migration 5 indexes it
    return db.migrate(conn, "central", migrations("sqlite"))


def migrate_postgres(conn: PostgresConnection) -> int:
    """Bring a PostgreSQL database up to this build, all in one transaction under an advisory lock
    (workers migrating at once: the others wait, then find it done)."""
    check_postgres_database(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        found = db.schema_version(conn, "central")
        if found > LATEST:
            raise SchemaError(_too_new(found))
        for statement in (SCHEMA + ";" + POSTGRES_ROSTER_SCHEMA).split(";"):  # the roster before migration 5
            if statement.strip():
                conn.execute(statement)
        try:
            version = db.migrate(conn, "central", migrations("postgresql"), conn.transaction)
        except db.SchemaTooNew as error:
            raise SchemaError(_too_new(error.found)) from None
    return version


MIGRATION_LOCK = person_lock_key("\x00schema-migration")


def check_postgres_database(conn: PostgresConnection) -> None:
    """SchemaError unless the database is UTF-8 with the C collation: text then sorts by code point,
    as SQLite's does, so timestamps, names and class lists order the same on both engines."""
    row = conn.execute("SELECT pg_encoding_to_char(encoding), datcollate FROM pg_database"
                       " WHERE datname = current_database()").fetchone()
    if row is None or row[0] != "UTF8" or row[1] not in ("C", "POSIX", "C.UTF-8", "C.utf8"):
        raise SchemaError(f"the PostgreSQL database has encoding {row[0] if row else '?'} and collation "
                          f"{row[1] if row else '?'}: create it with createdb -T template0 -E UTF8 --locale=C")


def migrate_store(url: str, *, base: Path | None = None) -> tuple[int, int]:
    """Bring the store at ``url`` up to this build: (schema version before, after)."""
    conn: SqliteConnection | PostgresConnection
    if url.startswith(("postgres://", "postgresql://")):
        conn = PostgresConnection(url)
    else:
        conn = db.connect(sqlite_path(url, base), factory=SqliteConnection)
    try:
        before = db.schema_version(conn, "central")
        after = migrate_postgres(conn) if isinstance(conn, PostgresConnection) else migrate_sqlite(conn)
        return before, after
    finally:
        conn.close()


def open_store(url: str, *, base: Path | None = None, migrate: bool = False,
               graduation_year: int | None = None) -> SqlStore:
    """A new Store for ``url``: ``sqlite:///path`` (or a path; migrated when opened), or
    ``postgresql://user@host/db`` (migrated only with ``migrate``). ``graduation_year``: whose
    graduates progress, missing lists and exports count (None: every year's). SchemaError for a
    store this build may not use, StoreUrlError for a URL of no engine here."""
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresStore(url, migrate=migrate, graduation_year=graduation_year)
    if "://" in url and not url.startswith("sqlite://"):
        raise StoreUrlError(f"storage.db_url: unsupported scheme in {url.split('://')[0]!r}")
    return SqliteStore(sqlite_path(url, base), graduation_year=graduation_year)


class StoreMissing(CommandError, LookupError):
    """A command that reads the store was pointed at a place with none (a typo in storage.data_dir)."""


def require_store(config: CentralConfig, config_file: Path | None, *,
                  create: str | None = None) -> None:
    """StoreMissing (one line) unless ``config``'s SQLite store exists, so a command that reads it
    does not create an empty one where a mistyped storage.data_dir or db_url points; ``create``: the
    commands the line names to create one (default: migrate, or roster import). A PostgreSQL
    database without the schema is refused when opened (``PostgresStore``), naming migrate."""
    url = config.storage.db_url
    if url.startswith(("postgres://", "postgresql://")):
        return
    path = sqlite_path(url, config.data_dir)
    if not path.is_file():
        where = f" in {config_file}" if config_file else ""
        raise StoreMissing(f"no store at {path} (storage.data_dir = '{config.data_dir}', storage.db_url = "
                           f"'{url}'): check them{where}, or create the store first "
                           f"({create or 'booth-central migrate, or roster import'})")


def open_office_store(config: CentralConfig, *, migrate: bool = False) -> SqlStore:
    """The store of ``config`` (storage.db_url under storage.data_dir), counting its roster.graduation_year."""
    return open_store(config.storage.db_url, base=config.data_dir, migrate=migrate,
                      graduation_year=config.roster.graduation_year)
