"""Fixtures shared by the suites: a real mosquitto, a hand-moved clock, and the log scan of the
booth, central and web suites (every log line of their tests, INFO and up, tracebacks included,
has its ID numbers masked)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.local_broker import LocalBroker
from tests.fakes import FakeClock
from tests.log_scan import assert_log_masked

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
