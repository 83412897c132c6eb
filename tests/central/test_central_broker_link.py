"""Central while the broker is down: one line, then a falling rate; back within seconds (issue 10 item 8)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from central.commands import build_command, send_commands
from central.ingest import RECONNECT_MAX_S, Ingest
from central.local_broker import LocalBroker
from central.store import SqliteStore
from tests.central.conftest import central_config


def test_workers_log_an_outage_once_and_catch_up_within_seconds(tmp_path: Path, broker: LocalBroker,
                                                                caplog) -> None:
    caplog.set_level(logging.INFO, logger="central.ingest")
    with Ingest(central_config(tmp_path / "central", broker, workers=2)) as ingest:
        assert ingest.wait_connected()
        broker.stop()
        time.sleep(6.0)  # several reconnect attempts per worker
        for index in range(2):
            lines = [r.getMessage() for r in caplog.records
                     if r.getMessage().startswith(f"worker {index}: broker") and "link down" in r.getMessage()]
            assert len(lines) == 1, lines
        assert "connection lost" in caplog.text
        broker.start()
        started = time.monotonic()
        assert ingest.wait_connected(timeout=30)
        back = time.monotonic() - started
    print(f"ingest back {back:.1f} s after the broker (reconnect wait capped at {RECONNECT_MAX_S} s)")
    assert "link back after" in caplog.text


def test_a_command_to_a_broker_that_is_down_says_so_and_records_nothing(tmp_path: Path,
                                                                        broker: LocalBroker) -> None:
    config = central_config(tmp_path / "central", broker)
    broker.stop()
    store = SqliteStore(tmp_path / "commands.db")
    try:
        with pytest.raises(ConnectionError, match=r"broker mqtt://127\.0\.0\.1:\d+ unreachable .*nothing was sent"):
            send_commands(config, store, [("booth-01", build_command("close_class", {}))])
        assert store.commands(booth="booth-01") == []
    finally:
        store.close()
