"""Class progress and who is still missing, as the office will see them."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from appliance.simulation.roster_gen import generate_roster
from boothcore.roster import Category
from central.store import PhotoRecord, SqlStore, open_store


def photo(entry, captured_at: str) -> PhotoRecord:
    return PhotoRecord(photo_id=uuid.uuid4().hex, booth="booth-01", id_number=entry.id_number,
                       student_no=entry.student_no, college=entry.college, class_name=entry.class_name,
                       session_id="s", attempt=1, captured_at=captured_at, size=30000, sha256="0" * 64,
                       path=f"photos/{entry.id_number}.jpg")


def test_progress_counts_people_not_photos_and_lists_the_missing(store: SqlStore) -> None:
    first = generate_roster(4, graduation_year=2027)
    second = generate_roster(2, graduation_year=2027, class_name="计算机2023-2班", seed=5)
    store.import_roster([*first, *second])
    assert store.add_photo(photo(first[0], "2026-12-26T01:00:00Z"))
    assert store.add_photo(photo(first[0], "2026-12-26T01:05:00Z"))  # a retake: still one person
    assert store.add_photo(photo(first[2], "2026-12-26T01:10:00Z"))
    progress = {(p.college, p.class_name): (p.roster_size, p.photographed, p.missing)
                for p in store.class_progress()}
    assert progress == {(first[0].college, first[0].class_name): (4, 2, 2),
                        (second[0].college, second[0].class_name): (2, 0, 2)}
    missing = store.missing(first[0].college, first[0].class_name)
    assert [entry.id_number for entry in missing] == [first[1].id_number, first[3].id_number]


def test_students_the_booth_refuses_for_good_are_not_missing(store: SqlStore) -> None:
    """An entrusted-training student (委培) and one photographed in an earlier year are refused by
    every booth (the notice, 2.5): the office must not chase them, nor list them for the registry."""
    regular, entrusted, earlier = generate_roster(3, graduation_year=2027)
    store.import_roster([regular, replace(entrusted, category=Category.ENTRUSTED.value),
                         replace(earlier, captured_before=True)])
    [progress] = store.class_progress()
    assert (progress.roster_size, progress.photographed, progress.missing) == (1, 0, 1)
    assert [e.id_number for e in store.missing(regular.college, regular.class_name)] == [regular.id_number]
    assert store.add_photo(photo(regular, "2026-12-26T01:00:00Z"))
    [progress] = store.class_progress()
    assert (progress.roster_size, progress.photographed, progress.missing) == (1, 1, 0)
    assert store.missing(regular.college, regular.class_name) == []


def test_another_graduation_year_is_not_missing(tmp_path, db_url: str) -> None:
    """A roster row of next year's graduates (booths refuse them: not_this_year) is neither counted
    nor listed when the office photographs roster.graduation_year; with no year, everyone counts."""
    this_year, next_year = generate_roster(2, graduation_year=2027)
    next_year = replace(next_year, graduation_year=2028)
    counted = open_store(db_url, base=tmp_path, graduation_year=2027)
    every_year = open_store(db_url, base=tmp_path)
    try:
        counted.import_roster([this_year, next_year])
        [progress] = counted.class_progress()
        assert (progress.roster_size, progress.missing) == (1, 1)
        assert [e.id_number for e in counted.missing(this_year.college, this_year.class_name)] == [this_year.id_number]
        [progress] = every_year.class_progress()
        assert progress.roster_size == 2
    finally:
        counted.close()
        every_year.close()


@pytest.mark.parametrize(("college", "roster_step"), [
    (None, "SCAN r USING COVERING INDEX roster_progress"),
    ("信息学院", "SEARCH r USING COVERING INDEX roster_progress (college=?)")])
def test_the_progress_count_reads_only_its_indexes(tmp_path, college, roster_step) -> None:
    """The progress pages' per-class count is one grouped pass over the covering index of the
    roster (one college's: a range of it) with one probe per person into the current photos' index
    (migration 5): no table read, no sort (bench/office.py: 50,000 students)."""
    store = open_store(f"sqlite:///{tmp_path / 'central.db'}", graduation_year=2027)
    try:
        sql = []
        store.conn.set_trace_callback(sql.append)
        store.class_progress(college)
        store.conn.set_trace_callback(None)
        plan = [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql[-1])]
    finally:
        store.close()
    assert plan == [roster_step, "SEARCH p USING COVERING INDEX photos_current (id_number=?) LEFT-JOIN"], plan
