"""The two database engines of the central store behind one small connection interface.

``SqliteConnection`` is a ``sqlite3.Connection`` (no wrapper on the hot path); ``PostgresConnection``
gives psycopg 3 the same surface: ``execute(sql, params)`` with ``?`` placeholders, rows readable by
column name or index, ``rowcount``, and ``transaction()``, which nests as savepoints. The store's SQL
is written once, in the dialect both engines share (``INSERT ... ON CONFLICT``, CTEs, window
functions); the few spellings that differ are methods here (``json_text``).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool

from boothcore import db
from boothcore.cli import CommandError

# The errors after which a transaction may simply run again: PostgreSQL aborted it to break a deadlock
# (40P01) or a serialization conflict (40001). SQLite's writers queue on BEGIN IMMEDIATE: no deadlock.
RETRYABLE: tuple[type[Exception], ...] = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)


class DatabaseUnreachable(CommandError, ConnectionError):
    """The PostgreSQL server refused or did not answer (the line names it without a password)."""


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


class Result(Protocol):
    """What ``execute`` returns: a cursor (SQLite) or the rows already fetched (PostgreSQL)."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The store's connection: ``?`` placeholders, rows by name or index, nested transactions."""

    dialect: str

    def execute(self, sql: str, parameters: Any = ..., /) -> Result: ...
    def executemany(self, sql: str, parameters: Any, /) -> Any: ...
    def transaction(self) -> contextlib.AbstractContextManager[Any]: ...
    def json_text(self, column: str, key: str) -> str: ...
    def close(self) -> None: ...


class SqliteConnection(sqlite3.Connection):
    """sqlite3 with ``transaction()``: BEGIN IMMEDIATE outside, a savepoint inside another one."""

    dialect = "sqlite"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._depth = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqliteConnection]:
        if self._depth == 0:
            with db.transaction(self):
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
            return
        name = f"sp{self._depth}"
        self.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self.execute(f"ROLLBACK TO {name}")
            raise
        finally:
            self._depth -= 1
            self.execute(f"RELEASE {name}")

    @staticmethod
    def json_text(column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"


class Row(tuple[Any, ...]):
    """A PostgreSQL row readable as ``row["column"]`` and ``row[0]``, as ``sqlite3.Row`` is."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@functools.lru_cache(maxsize=256)
def _row_type(names: tuple[str, ...]) -> type[Row]:
    """The Row class of one column list (made once per distinct statement shape)."""
    return type("Row", (Row,), {"_index": {name: number for number, name in enumerate(names)}})


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    """The Row class of the cursor's result, from the result's column names alone: ``description``
    builds a Column object per column per statement (with its type lookups), which cost the ingest
    about a tenth of its CPU on PostgreSQL."""
    result = cursor.pgresult
    if result is None:
        return _row_type(())
    return _row_type(tuple((result.fname(i) or b"").decode() for i in range(result.nfields)))


class _Fetched:
    """The rows of one statement, fetched before its connection went back to the pool."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


@functools.lru_cache(maxsize=1024)
def _postgres_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled). The store's SQL has no ``?``
    inside a string literal."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Pools:
    """One psycopg pool per database URL in this process, closed when its last user closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[str, tuple[ConnectionPool, int]] = {}
        atexit.register(self.close_all)

    def acquire(self, url: str, max_size: int) -> ConnectionPool:
        with self._lock:
            pool, users = self._pools.get(url, (None, 0))
            if pool is None:
                try:  # the first connection at once: its error is the operator's line
                    psycopg.connect(url, connect_timeout=10).close()
                except psycopg.Error as error:
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    raise DatabaseUnreachable(f"cannot use the PostgreSQL store {safe_url(url)} ({reason}): start "
                                              "it, create the database, or fix storage.db_url") from None
                pool = ConnectionPool(url, min_size=1, max_size=max_size, open=True, timeout=30,
                                      kwargs={"autocommit": True, "row_factory": _row_factory},
                                      name="booth-central")
                pool.wait(timeout=30)
            self._pools[url] = (pool, users + 1)
            return pool

    def release(self, url: str) -> None:
        with self._lock:
            pool, users = self._pools[url]
            if users > 1:
                self._pools[url] = (pool, users - 1)
                return
            del self._pools[url]
        pool.close()

    def close_all(self, url: str | None = None) -> None:
        """Close the pools of ``url`` (None: every pool), whoever still uses them: at exit, and after
        a test whose dashboard threads keep their stores open."""
        with self._lock:
            urls = [u for u in self._pools if url is None or u == url]
            pools = [self._pools.pop(u)[0] for u in urls]
        for pool in pools:
            pool.close(timeout=1)


# One advisory lock function applied to each key of a sorted array, in the array's order (a function
# scan of unnest returns its elements in order): one round trip for a batch's locks.
_LOCK_EACH = "SELECT {}(key) FROM unnest(%s::bigint[]) AS key"

POOLS = _Pools()
# Connections per process and database: each ingest worker holds one through a batch, the dashboard's
# threads borrow one per statement.
POOL_MAX = 16


class PostgresConnection:
    """psycopg 3 through a pool: a statement borrows a connection; a transaction (and ``pinned``)
    keeps one until it ends. Autocommit outside ``transaction()``, READ COMMITTED inside."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: ConnectionPool | None = POOLS.acquire(url, POOL_MAX)
        self._conn: psycopg.Connection[Any] | None = None
        self._holder: contextlib.ExitStack | None = None  # set inside ``held()``
        self._session_locks: set[int] = set()  # advisory keys ``advisory_locks`` holds on the pinned connection

    @contextlib.contextmanager
    def pinned(self) -> Iterator[psycopg.Connection[Any]]:
        """Hold one pooled connection (for a transaction, or session-level advisory locks)."""
        if self._conn is not None:
            yield self._conn
            return
        if self._pool is None:
            raise psycopg.InterfaceError("the store is closed")
        if self._holder is not None:  # inside held(): the connection stays until that block ends
            self._conn = self._holder.enter_context(self._pool.connection())
            self._holder.callback(setattr, self, "_conn", None)
            yield self._conn
            return
        with self._pool.connection() as conn:
            self._conn = conn
            try:
                yield conn
            finally:
                self._conn = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Keep the connection the block's first statement borrows until the block ends: an ingest
        worker's batch checks one out of the pool once, not once per statement. A connection that
        broke meanwhile goes back to the pool at the end, which replaces it."""
        if self._holder is not None or self._conn is not None:
            yield
            return
        with contextlib.ExitStack() as holder:
            self._holder = holder
            try:
                yield
            finally:
                self._holder = None

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> _Fetched:
        with self.pinned() as conn, conn.cursor() as cursor:
            cursor.execute(_postgres_sql(sql), tuple(parameters))
            rows = cursor.fetchall() if cursor.description is not None else []
            return _Fetched(rows, cursor.rowcount)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        with self.pinned() as conn, conn.cursor() as cursor:
            cursor.executemany(_postgres_sql(sql), [tuple(row) for row in parameters])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PostgresConnection]:
        """BEGIN ... COMMIT (ROLLBACK on error); inside another one, a savepoint (psycopg nests them)."""
        with self.pinned() as conn, conn.transaction():
            yield self

    @contextlib.contextmanager
    def advisory_locks(self, keys: Iterable[int]) -> Iterator[None]:
        """Session-level advisory locks on ``keys`` (taken in ascending order: no deadlock between
        holders), kept until the block ends or the connection dies: a database lock every
        machine's workers share, released by PostgreSQL when a killed worker's connection drops.
        One statement takes them all and one releases them (a round trip each, not one per key)."""
        ordered = sorted(set(keys))
        if not ordered:
            yield
            return
        with self.pinned() as conn:
            try:
                conn.execute(_LOCK_EACH.format("pg_advisory_lock"), (ordered,))
                self._session_locks.update(ordered)
                yield
            finally:
                self._session_locks.difference_update(ordered)
                # Also after a failed take: a session lock outlives the statement that took it, and
                # unlocking a key this session does not hold only warns.
                if not conn.closed:
                    conn.execute(_LOCK_EACH.format("pg_advisory_unlock"), (ordered,))

    def advisory_xact_locks(self, keys: Iterable[int]) -> None:
        """Transaction-level advisory locks on ``keys`` (ascending order), held until the transaction
        ends: one statement for them all, none for keys this connection holds already
        (``advisory_locks``: the ingest's batch holds its people's locks across the commit)."""
        ordered = sorted(set(keys) - self._session_locks)
        if ordered:
            with self.pinned() as conn:
                conn.execute(_LOCK_EACH.format("pg_advisory_xact_lock"), (ordered,))

    @staticmethod
    def json_text(column: str, key: str) -> str:
        return f"({column}::jsonb ->> '{key}')"

    def close(self) -> None:
        if self._pool is not None:
            self._pool = None
            POOLS.release(self.url)
