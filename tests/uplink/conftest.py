"""Fixtures for the uplink tests: a real mosquitto on a free loopback port and a fake central."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from uplink_fake_central import FakeCentral

from appliance.uplink.settings import UplinkSettings
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


def fast_settings(url: str, **changes) -> UplinkSettings:
    """Settings with short timers so the tests exercise timeouts and reconnects quickly."""
    values = {"broker_url": url, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5, "ack_timeout_s": 1.0,
              "telemetry_interval_s": 0.5, "will_delay_s": 1, "session_expiry_s": 60, "window": 3,
              "keepalive_s": 5}
    values.update(changes)
    return UplinkSettings(**values)
