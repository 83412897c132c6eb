"""Fixtures for the uplink tests: a real mosquitto on a free loopback port and a fake central."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.local_broker import LocalBroker
from tests.uplink.uplink_fake_central import FakeCentral
from tests.uplink.uplink_fast_settings import fast_settings
from tests.uplink.uplink_real_central import RealCentral


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
