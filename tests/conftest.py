"""Fixtures every suite may use: a real PostgreSQL server (started once per session, only when a
test asks for it) and the store URL of each engine, for the tests that run on both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
