"""SQLite connections with the durability settings every booth and central store uses.

WAL with synchronous=FULL: a committed row survives power loss on an SD card. Each component owns
its tables and applies its own schema through ``apply_schema``; one file may hold several.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar, overload

_Conn = TypeVar("_Conn", bound=sqlite3.Connection)
# How long a statement waits for another connection's lock before "database is locked": longer
# than any one transaction of the booth or central holds it (a batch commit takes milliseconds).
BUSY_TIMEOUT_S = 30.0


@overload
def connect(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection: ...
@overload
def connect(path: str | Path, *, check_same_thread: bool = True, factory: type[_Conn]) -> _Conn: ...


def connect(path: str | Path, *, check_same_thread: bool = True,
            factory: type[sqlite3.Connection] = sqlite3.Connection) -> sqlite3.Connection:
    """Open (creating the folder) with WAL, FULL sync, foreign keys and a busy timeout; ``factory``:
    a ``sqlite3.Connection`` subclass to open (central's store adds ``transaction()``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=check_same_thread,
                           factory=factory)
    conn.row_factory = sqlite3.Row
    _use_wal(conn)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, waiting as long as the busy timeout for another connection's lock.

    SQLite does not call the busy handler while it changes the journal mode: a second process
    opening the same new file at that moment gets "database is locked" at once (two
    ``booth-central serve`` workers starting together did), so this waits and tries again."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def apply_schema(conn: sqlite3.Connection, script: str) -> None:
    """Run idempotent DDL (CREATE ... IF NOT EXISTS) in one transaction."""
    with transaction(conn):
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)


class transaction:
    """``with transaction(conn):`` BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error.

    IMMEDIATE takes the write lock up front so two writers never deadlock half-way.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


class RowLike(Protocol):
    """A row by column name (``sqlite3.Row``, central's PostgreSQL ``Row``)."""

    def __getitem__(self, key: str, /) -> Any: ...


class Executes(Protocol):
    """A connection ``migrate`` can run on: ``sqlite3.Connection``, or central's PostgreSQL one."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


class SchemaTooNew(Exception):
    """The database was migrated by a newer build than this one: nothing of it may be changed."""

    def __init__(self, component: str, found: int, known: int) -> None:
        self.component, self.found, self.known = component, found, known
        super().__init__(f"{component} schema is at version {found}, this build knows up to {known}")


VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"


def schema_version(conn: Executes, component: str) -> int:
    """``component``'s recorded version (0 = not recorded: a file older than migrations, or new)."""
    exists = ("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'"
              if isinstance(conn, sqlite3.Connection) else
              "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()"
              " AND table_name = 'schema_versions'")
    if conn.execute(exists).fetchone() is None:
        return 0
    row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Executes, component: str, migrations: Sequence[tuple[int, str]],
            begin: Callable[[], contextlib.AbstractContextManager[Any]] | None = None) -> int:
    """Bring ``component``'s tables up to the last of ``migrations`` (version, DDL script); return it.

    Each component's version is a row of ``schema_versions``; each pending step runs once, with its
    version bump, in one transaction (``begin``, default BEGIN IMMEDIATE on SQLite; two processes
    migrating at once: the second waits and finds it done). A database made by an older build is
    upgraded in place; a new one runs every step. SchemaTooNew, changing nothing, when the recorded
    version is beyond the last step (a newer build migrated it).
    """
    with begin() if begin is not None else transaction(conn):  # type: ignore[arg-type]  # no begin: SQLite's conn
        conn.execute(VERSION_TABLE)
        row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
        current = row[0] if row else 0
        latest = migrations[-1][0] if migrations else 0
        if current > latest:
            raise SchemaTooNew(component, current, latest)
        for version, script in migrations:
            if version <= current:
                continue
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            current = version
        conn.execute("INSERT INTO schema_versions (component, version) VALUES (?, ?)"
                     " ON CONFLICT(component) DO UPDATE SET version = excluded.version", (component, current))
    return current
