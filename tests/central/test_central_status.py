"""record_status's rules on both engines: the usual status in one statement, the rest by the full rules.

A status is applied when it is newer (a later boot, or within a boot a later ts, or the Will of that
boot), stale otherwise; an older install's status after a newer install is retired; a new install
of a booth that had one is a reset. The one-statement path must decide exactly as the full rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.store import BoothStatus, SqlStore, StatusOutcome, open_store

INSTALL = uuid.uuid4().hex


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[SqlStore]:
    store = open_store(db_url, base=tmp_path, migrate=True)
    yield store
    store.close()


def status(boot: int, second: int, *, state: str = "idle", online: bool = True, install_id: str | None = INSTALL,
           queue_depth: int | None = 3) -> BoothStatus:
    return BoothStatus(booth="booth-01", boot=boot, online=online, state=state,
                       ts=f"2026-06-01T08:00:{second:02d}Z", session={"id": f"s-{boot}-{second}", "kind": "class"},
                       queue_depth=queue_depth, disk_free_mb=900.5, cpu_temp_c=51.0, version="1.2",
                       install_id=install_id)


def stored(store: SqlStore) -> BoothStatus:
    (booth,) = store.booths()
    return booth


def test_newer_statuses_apply_and_older_ones_are_stale(store: SqlStore) -> None:
    assert store.record_status(status(2, 10)) is StatusOutcome.APPLIED  # a new booth
    assert store.record_status(status(2, 20, state="capturing", queue_depth=None)) is StatusOutcome.APPLIED
    booth = stored(store)
    assert (booth.state, booth.queue_depth, booth.session, booth.ts) == (
        "capturing", 3, {"id": "s-2-20", "kind": "class"}, "2026-06-01T08:00:20.000000Z")
    assert store.record_status(status(2, 15)) is StatusOutcome.STALE  # older ts, same boot
    assert store.record_status(status(1, 59)) is StatusOutcome.STALE  # older boot
    assert store.record_status(status(2, 20, state="ready")) is StatusOutcome.APPLIED  # the same ts
    assert stored(store).state == "ready"
    # The Will carries its connect time: older than the last status, it still applies to its boot.
    assert store.record_status(status(2, 5, state="lost", online=False)) is StatusOutcome.APPLIED
    assert (stored(store).online, stored(store).state) == (False, "lost")
    assert store.record_status(status(1, 59, state="lost", online=False)) is StatusOutcome.STALE  # an older boot's Will
    assert store.record_status(status(3, 0)) is StatusOutcome.APPLIED  # rebooted
    assert (stored(store).boot, stored(store).online) == (3, True)


def test_a_status_without_an_install_id_keeps_the_booths(store: SqlStore) -> None:
    store.record_status(status(1, 10))
    assert store.record_status(status(1, 11, install_id=None)) is StatusOutcome.APPLIED
    assert stored(store).install_id == INSTALL
    assert store.record_status(status(1, 9, install_id=None)) is StatusOutcome.STALE


def test_a_booth_first_known_without_an_install_id_gets_one_without_a_reset(store: SqlStore) -> None:
    assert store.record_status(status(4, 10, install_id=None)) is StatusOutcome.APPLIED
    assert store.record_status(status(4, 11)) is StatusOutcome.APPLIED
    booth = stored(store)
    assert (booth.install_id, booth.resets) == (INSTALL, 0)


def test_a_new_install_resets_and_the_old_installs_late_statuses_are_retired(store: SqlStore) -> None:
    store.record_status(status(7, 10))
    fresh = uuid.uuid4().hex
    # The booth's data was replaced: its boot count starts again, lower than the stored one.
    assert store.record_status(status(1, 20, install_id=fresh)) is StatusOutcome.RESET
    booth = stored(store)
    assert (booth.install_id, booth.boot, booth.resets) == (fresh, 1, 1)
    assert store.record_status(status(7, 30, state="lost", online=False)) is StatusOutcome.RETIRED  # the old Will
    assert store.record_status(status(8, 40)) is StatusOutcome.RETIRED
    assert (stored(store).install_id, stored(store).boot, stored(store).online) == (fresh, 1, True)
    assert store.record_status(status(2, 50, install_id=fresh)) is StatusOutcome.APPLIED
    assert (stored(store).boot, stored(store).resets) == (2, 1)


def test_a_stale_status_is_not_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """The demo logged 'ignored a stale status of booth-01 (boot 1)' several times a class: two
    statuses a few ms apart (idle, then ready at the next card) went to the two ingest workers of
    the shared subscription and committed in the other order. The store keeps the newer one; that
    is the design working, not news for the office's log."""
    import logging

    from boothcore import protocol as p
    from central.ingest import IngestWorker

    older = p.Status(booth="booth-01", boot=1, online=True, state="idle", ts="2026-06-01T08:00:10Z",
                     queue_depth=0, disk_free_mb=900.0, version="1.2", install_id=INSTALL)
    with caplog.at_level(logging.INFO, logger="central.ingest"):
        IngestWorker._log_status(older, StatusOutcome.STALE)
        IngestWorker._log_status(older, StatusOutcome.RESET)
    assert [record.getMessage() for record in caplog.records if "stale" in record.getMessage()] == []
    assert any("was reset" in record.getMessage() for record in caplog.records)
