"""SQLite connections with the durability settings every booth and central store uses.

WAL with synchronous=FULL: a committed row survives power loss on an SD card. Each component owns
its tables and applies its own schema through ``apply_schema``; one file may hold several.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import TracebackType


def connect(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open (creating the folder) with WAL, FULL sync, foreign keys and a busy timeout."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=check_same_thread)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


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


def migrate(conn: sqlite3.Connection, component: str, migrations: list[tuple[int, str]]) -> int:
    """Bring ``component``'s tables up to the last of ``migrations`` (version, DDL script); return it.

    Each component's version is a row of ``schema_versions``; each pending step runs once, with its
    version bump, in one transaction (two processes opening the file at once: the second waits and
    finds it done). A file made by an older build is upgraded in place; a new file runs every step.
    """
    with transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY,"
                     " version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
        current = row[0] if row else 0
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
