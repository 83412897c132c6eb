"""Concurrency done by the database: ingest workers on different connections (on PostgreSQL, as on
different machines) store one photo once and keep one current photo per person; the dashboard
reads while a worker's batch is still open, without waiting for it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from operator import methodcaller
from pathlib import Path
from typing import Any

import pytest

from central.photos import PhotoArchive, StoreResult
from central.store import EventRecord, PhotoRecord, SqlStore, open_store
from tests.central.conftest import id_number, jpeg_bytes, make_init, store_one

ROUNDS = 12


def record_of(data: bytes, seq: int) -> PhotoRecord:
    init = make_init("booth-01", data, seq=seq)
    return PhotoRecord(photo_id=init.photo_id, booth="booth-01", id_number=init.id_number,
                       student_no=init.student_no, college=init.college, class_name=init.class_,
                       session_id=init.session_id, attempt=1, captured_at=init.captured_at, size=init.size,
                       sha256=init.sha256, path="")


class Worker:
    """A thread with its own store (a connection of its own, as an ingest worker has); ``run`` calls
    a function of the store in that thread."""

    def __init__(self, db_url: str, base: Path) -> None:
        self.local = threading.local()
        self.executor = ThreadPoolExecutor(1, initializer=self._open, initargs=(db_url, base))

    def _open(self, db_url: str, base: Path) -> None:
        self.local.store = open_store(db_url, base=base)

    def submit(self, task: Callable[[SqlStore], Any]) -> Future[Any]:
        return self.executor.submit(lambda: task(self.local.store))

    def run(self, task: Callable[[SqlStore], Any]) -> Any:
        return self.submit(task).result(60)

    def close(self) -> None:
        self.run(lambda store: store.close())
        self.executor.shutdown()


def at_once(*jobs: tuple[Worker, Callable[[SqlStore], Any]]) -> list[Any]:
    """Run each job on its worker, released together; their results (an exception fails the test)."""
    start = threading.Barrier(len(jobs))

    def released(task: Callable[[SqlStore], Any]) -> Callable[[SqlStore], Any]:
        def run(store: SqlStore) -> Any:
            start.wait(10)
            return task(store)
        return run

    futures = [worker.submit(released(task)) for worker, task in jobs]
    return [future.result(60) for future in futures]


@pytest.fixture
def workers(tmp_path: Path, db_url: str) -> Iterator[list[Worker]]:
    started = [Worker(db_url, tmp_path) for _ in range(2)]
    yield started
    for worker in started:
        worker.close()


def test_two_workers_storing_the_same_photo_store_it_once(tmp_path: Path, workers: list[Worker]) -> None:
    archives = [PhotoArchive(tmp_path) for _ in workers]
    for seq in range(ROUNDS):
        data = jpeg_bytes(seq)
        record = record_of(data, seq)
        results = at_once(*((worker, lambda store, a=archive, r=record, d=data: a.store_many(store, [(r, d)])[0])
                            for worker, archive in zip(workers, archives, strict=True)))
        assert all(isinstance(result, StoreResult) for result in results), results
        assert sorted(result.new for result in results) == [False, True]
        # The row alone, as a worker that finished the photo's file elsewhere would add it: the
        # primary key decides (on PostgreSQL the second insert waits for the first's commit).
        again = record_of(data, seq + ROUNDS)
        added = at_once(*((worker, lambda store, r=again: store.add_photo(r)) for worker in workers))
        assert sorted(added) == [False, True]
    rows = workers[0].run(lambda store: store.photos(current_only=False))
    assert len(rows) == 2 * ROUNDS and len({row.photo_id for row in rows}) == 2 * ROUNDS
    assert len(list((tmp_path / "captures").iterdir())) == ROUNDS


def test_two_photos_of_one_person_at_once_leave_one_current_photo_and_its_file(tmp_path: Path,
                                                                               workers: list[Worker]) -> None:
    archive = PhotoArchive(tmp_path)
    for seq in range(ROUNDS):
        photos = [(data, record_of(data, seq)) for data in (jpeg_bytes(100 + seq), jpeg_bytes(200 + seq))]
        assert photos[0][1].id_number == photos[1][1].id_number == id_number(seq)
        results = at_once(*((worker, lambda store, d=data, r=record: archive.store_many(store, [(r, d)])[0])
                            for worker, (data, record) in zip(workers, photos, strict=True)))
        assert all(isinstance(result, StoreResult) and result.new for result in results), results
        current = workers[1].run(methodcaller("current_photo", id_number(seq)))
        rows = workers[0].run(lambda store: store.photos(current_only=False))
        assert [r.photo_id for r in rows if r.id_number == id_number(seq) and r.is_current] == [current.photo_id]
        assert len([r for r in rows if r.id_number == id_number(seq)]) == 2
        person = archive.root / current.path
        assert hashlib.sha256(person.read_bytes()).hexdigest() == current.sha256, "the file is the current row"


def test_the_dashboard_reads_while_a_workers_batch_is_open(tmp_path: Path, workers: list[Worker]) -> None:
    worker, dashboard = workers
    archive = PhotoArchive(tmp_path)
    worker.run(lambda store: store_one(archive, store, record_of(jpeg_bytes(1), 1), jpeg_bytes(1)))
    written, read = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def write(worker: SqlStore) -> None:
        with worker.batch():  # rows written and locked, not committed, until the dashboard has read
            data = jpeg_bytes(2)
            worker.add_photo(record_of(data, 2))
            worker.record_event(EventRecord(event_id="e" * 32, booth="booth-01", ts="2027-06-01T08:00:00Z",
                                            kind="error", data={"code": "x", "message": "y"}))
            written.set()
            seen["dashboard_done_inside_batch"] = read.wait(30)

    def look(dashboard: SqlStore) -> None:
        written.wait(30)
        seen["photos"] = len(dashboard.photos())
        seen["progress"] = dashboard.class_progress()
        seen["events"] = dashboard.events()
        read.set()

    at_once((worker, write), (dashboard, look))
    assert seen["dashboard_done_inside_batch"], "the dashboard waited for the worker's commit"
    assert seen["photos"] == 1 and seen["events"] == []  # the committed state, not the open batch
    assert dashboard.run(lambda store: (len(store.photos()), len(store.events()))) == (2, 1)
