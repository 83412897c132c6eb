"""Two ingest batches locking booth rows in opposite order on PostgreSQL: taken in one order they
do not deadlock, and a batch the server aborts anyway (a deadlock it broke) runs again, so every
row is written once and every ack sent once."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from central.batch_commit import BatchCommit, ReadyPhoto
from central.photos import PhotoArchive, StoreResult
from central.store import BoothStatus, SqlStore
from tests.central.test_central_store_concurrency import Worker, at_once

BOOTHS = ("booth-a", "booth-b")


@pytest.fixture
def workers(tmp_path: Path, postgres_url: str) -> Iterator[list[Worker]]:
    """Two workers on one PostgreSQL database whose deadlock check runs after 200 ms (1 s by default)."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        conn.execute(f"ALTER DATABASE \"{name}\" SET deadlock_timeout = '200ms'")
    started = [Worker(postgres_url, tmp_path) for _ in range(2)]
    for booth in BOOTHS:
        started[0].run(lambda store, b=booth: store.record_status(BoothStatus(
            booth=b, boot=1, online=True, state="idle", ts="2027-06-01T08:00:00Z", queue_depth=0)))
    yield started
    for worker in started:
        worker.close()


def batch_of(store: SqlStore, archive: PhotoArchive, index: int, acks: list[tuple[int, str]]) -> BatchCommit:
    def ack(booth: str, kind: str, ident: str, status: str, **fields: Any) -> None:
        acks.append((index, ident))

    def settle(item: ReadyPhoto, result: StoreResult | Exception) -> None:
        raise AssertionError("no photo in these batches")

    return BatchCommit(archive, lambda: store, settle=settle, ack=ack, index=index)


def bump(store: SqlStore, booth: str) -> None:
    store.conn.execute("UPDATE booths SET queue_depth = queue_depth + 1 WHERE booth = ?", (booth,))


def depths(worker: Worker) -> dict[str, int]:
    return {b.booth: b.queue_depth or 0 for b in worker.run(lambda store: store.booths())}


def test_ops_queued_in_opposite_order_lock_booth_rows_in_one_order(
        tmp_path: Path, workers: list[Worker], caplog: pytest.LogCaptureFixture) -> None:
    archive = PhotoArchive(tmp_path)
    acks: list[tuple[int, str]] = []
    holding_first = threading.Barrier(2)

    def job(index: int, order: tuple[str, ...]) -> Callable[[SqlStore], None]:
        def run(store: SqlStore) -> None:
            batch = batch_of(store, archive, index, acks)
            for position, booth in enumerate(order):
                def op(booth: str = booth, first: bool = position == 0) -> None:
                    bump(store, booth)
                    # Both holding their first row, queued order would now deadlock; in one order the
                    # other batch waits for this one's row instead, and the barrier times out.
                    if first:
                        with contextlib.suppress(threading.BrokenBarrierError):
                            holding_first.wait(1.0)
                batch.later((booth, ""), op, (booth, "event", f"{index}-{booth}", {}))
            batch.flush()
        return run

    with caplog.at_level(logging.WARNING, logger="central.ingest"):
        at_once((workers[0], job(0, BOOTHS)), (workers[1], job(1, BOOTHS[::-1])))
    assert sorted(acks) == [(0, "0-booth-a"), (0, "0-booth-b"), (1, "1-booth-a"), (1, "1-booth-b")]
    assert depths(workers[0]) == {"booth-a": 2, "booth-b": 2}
    assert "aborted" not in caplog.text, "sorted row locks: no deadlock to retry"


def test_a_batch_aborted_by_a_deadlock_runs_again_and_acks_once(
        tmp_path: Path, workers: list[Worker], caplog: pytest.LogCaptureFixture) -> None:
    """One op that locks both booths (its order key names one): the opposite orders deadlock."""
    archive = PhotoArchive(tmp_path)
    acks: list[tuple[int, str]] = []
    holding_first = threading.Barrier(2)
    runs = [0, 0]
    counted = [0, 0]  # what the ingest counts in memory (events stored) must count each commit once

    def job(index: int, order: tuple[str, ...]) -> Callable[[SqlStore], None]:
        def run(store: SqlStore) -> None:
            batch = batch_of(store, archive, index, acks)

            def op() -> Callable[[], None]:
                runs[index] += 1
                bump(store, order[0])
                if runs[index] == 1:
                    holding_first.wait(10)
                bump(store, order[1])
                return lambda: counted.__setitem__(index, counted[index] + 1)

            batch.later((order[0], ""), op, (order[0], "event", f"{index}", {}))
            batch.flush()
        return run

    with caplog.at_level(logging.WARNING, logger="central.ingest"):
        at_once((workers[0], job(0, BOOTHS)), (workers[1], job(1, BOOTHS[::-1])))
    assert sorted(runs) == [1, 2], "the server aborted one batch, which ran again"
    assert "DeadlockDetected" in caplog.text
    assert sorted(acks) == [(0, "0"), (1, "1")], "each ack once, after its commit"
    assert counted == [1, 1], "each op's after-commit effect once, also for the batch that ran twice"
    assert depths(workers[0]) == {"booth-a": 2, "booth-b": 2}, "nothing of the aborted attempt stayed"
