"""Group commit: several photos (and other rows) stored by one transaction, with the same rules."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import psycopg
import pytest

from central.photos import PhotoArchive
from central.store import EventRecord, PhotoRecord, SqlStore, open_store
from tests.central.conftest import id_number, jpeg_bytes, make_init


def record_of(data: bytes, *, seq: int, captured_at: str, class_name: str = "计科2301") -> PhotoRecord:
    init = make_init("booth-01", data, seq=seq, captured_at=captured_at, class_name=class_name)
    return PhotoRecord(photo_id=init.photo_id, booth="booth-01", id_number=init.id_number,
                       student_no=init.student_no, college=init.college, class_name=init.class_,
                       session_id=init.session_id, attempt=1, captured_at=init.captured_at, size=init.size,
                       sha256=init.sha256, path="")


def test_one_batch_stores_every_photo_and_the_capture_received_last_wins(tmp_path: Path, store: SqlStore) -> None:
    archive = PhotoArchive(tmp_path)
    first, last, other = jpeg_bytes(1), jpeg_bytes(2), jpeg_bytes(3)
    # The booth's clock says the first one is newer: central's receive order decides, not that clock.
    received_first = record_of(first, seq=7, captured_at="2027-06-01T09:00:00Z")
    received_last = record_of(last, seq=7, captured_at="2027-06-01T08:00:00Z")
    third = record_of(other, seq=8, captured_at="2027-06-01T08:30:00Z", class_name="计科2302")
    results = archive.store_many(store, [(received_first, first), (received_last, last), (third, other),
                                         (received_first, first)])
    assert [getattr(r, "new", r) for r in results] == [True, True, True, False]
    person = archive.path_for(received_last.college, received_last.class_name, id_number(7))
    assert hashlib.sha256(person.read_bytes()).hexdigest() == received_last.sha256
    assert archive.path_for(third.college, third.class_name, id_number(8)).read_bytes() == other
    rows = {r.photo_id: r for r in store.photos(current_only=False)}
    assert set(rows) == {received_first.photo_id, received_last.photo_id, third.photo_id}
    assert rows[received_last.photo_id].is_current and not rows[received_first.photo_id].is_current
    # A re-send of a stored photo writes nothing and adds no row.
    again = archive.store_many(store, [(received_first, first)])
    assert [getattr(r, "new", r) for r in again] == [False]
    assert hashlib.sha256(person.read_bytes()).hexdigest() == received_last.sha256


def test_a_failing_write_in_a_batch_rolls_back_alone(tmp_path: Path, store: SqlStore, db_url: str) -> None:
    first = record_of(jpeg_bytes(4), seq=9, captured_at="2027-06-01T08:00:00Z")
    store.add_photo(first)
    # A newer capture whose insert fails (NOT NULL) after add_photo cleared the current flag.
    broken = record_of(jpeg_bytes(5), seq=9, captured_at="2027-06-01T09:00:00Z")
    broken = PhotoRecord(**{**broken.__dict__, "student_no": None})  # type: ignore[arg-type]
    event = EventRecord(event_id="e" * 32, booth="booth-01", ts="2027-06-01T08:00:00Z", kind="error",
                        data={"code": "x", "message": "y"})
    with store.batch():
        assert store.record_event(event)
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
            store.add_photo(broken)
        assert not store.record_event(event)  # the same transaction sees its own row
    other = open_store(db_url, base=tmp_path)
    assert [e.event_id for e in other.events()] == [event.event_id]
    current = other.current_photo(first.id_number)
    assert current is not None and current.photo_id == first.photo_id, "the failed write left no trace"
    assert other.photo(broken.photo_id) is None
    other.close()


def test_nothing_of_a_batch_is_visible_before_it_commits(tmp_path: Path, store: SqlStore, db_url: str) -> None:
    reader = open_store(db_url, base=tmp_path)
    event = EventRecord(event_id="f" * 32, booth="booth-01", ts="2027-06-01T08:00:00Z", kind="error",
                        data={"code": "x", "message": "y"})
    with pytest.raises(RuntimeError), store.batch():
        store.record_event(event)
        assert reader.events() == []
        raise RuntimeError("the batch fails before its commit")
    assert reader.events() == [] and store.events() == []
    reader.close()
