"""Fixtures every suite may use: a real PostgreSQL server (started once per session, only when a
test asks for it) and the store URL of each engine, for the tests that run on both; a real
mosquitto; a hand-moved clock; and the log scan of the booth, central and web suites (every log
line of their tests, INFO and up, tracebacks included, has its ID numbers masked)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.local_broker import LocalBroker
from tests.fakes import FakeClock
from tests.log_scan import assert_log_masked
from tests.postgres_server import PostgresServer

ENGINES = ("sqlite", "postgresql")
TEMPLATE = "booth_migrated"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session, with a database migrated to this build (the template
    each test's database is copied from, so a test does not pay for the migrations)."""
    import psycopg

    from central.sql import POOLS
    from central.store import open_store

    with PostgresServer() as server:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        open_store(server.url(TEMPLATE), migrate=True).close()
        yield server
        POOLS.close_all()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A new database, migrated to this build, for one test (its connection pools closed after it:
    a dashboard's threads keep their stores open)."""
    from central.sql import POOLS

    url = postgres.create_database(template=TEMPLATE)
    yield url
    POOLS.close_all(url)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(engine: str, request: pytest.FixtureRequest) -> str:
    """The test's storage.db_url on ``engine``: a central.db in storage.data_dir, or a new PostgreSQL
    database (the server starts with the first test that needs it)."""
    return "sqlite:central.db" if engine == "sqlite" else str(request.getfixturevalue("postgres_url"))


# The suites (folders of tests/) whose every test has its log scanned.
LOG_SCANNED_SUITES = ("booth", "central", "web")


@pytest.fixture(autouse=True)
def log_has_no_full_id_numbers(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.path.parent.name not in LOG_SCANNED_SUITES:
        yield
        return
    caplog: pytest.LogCaptureFixture = request.getfixturevalue("caplog")
    caplog.set_level(logging.INFO)
    yield
    assert_log_masked(caplog)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A mosquitto of its own on a free loopback port (``central.local_broker``)."""
    with LocalBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
