"""Fixtures for the uplink tests: a real mosquitto on a free loopback port and a fake central."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from uplink_fake_central import FakeCentral
from uplink_fast_settings import fast_settings
from uplink_real_central import RealCentral

from central.local_broker import LocalBroker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    with LocalBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def central(broker: LocalBroker, tmp_path: Path) -> Iterator[FakeCentral]:
    fake = FakeCentral(broker.host, broker.port, tmp_path / "central").start()
    yield fake
    fake.stop()


@pytest.fixture
def make_settings(broker: LocalBroker):
    return lambda **changes: fast_settings(broker.url, **changes)


@pytest.fixture
def real_central(broker: LocalBroker, tmp_path: Path) -> Iterator[RealCentral]:
    """The real central ingest (two workers on one shared subscription)."""
    running = RealCentral(broker, tmp_path / "central-real").start()
    yield running
    running.stop()
