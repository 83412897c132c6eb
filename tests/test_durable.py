"""boothcore.durable: a crash's temp files go, another writer's live one stays; a write that may not
overwrite leaves an existing file as it was."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from boothcore.durable import TEMP_SUFFIX, remove_stale_temps, write_atomic


def test_a_young_temp_file_is_left_to_the_worker_writing_it(tmp_path: Path) -> None:
    """Central's ingest worker 0 cleaned the shared folder at its start while worker 1 was writing
    a capture: the write failed ("No such file"). Only files older than min_age_s are a crash's."""
    old, young = tmp_path / f".a.jpg.x{TEMP_SUFFIX}", tmp_path / "sub" / f".b.jpg.y{TEMP_SUFFIX}"
    young.parent.mkdir()
    old.write_bytes(b"left by a crash")
    young.write_bytes(b"being written")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert remove_stale_temps(tmp_path, min_age_s=600) == [old]
    assert young.exists() and not old.exists()
    assert remove_stale_temps(tmp_path) == [young]  # the booth at its start: every temp is a crash's


def test_a_write_that_may_not_overwrite_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "fees.csv"
    write_atomic(target, b"first", overwrite=False)
    with pytest.raises(FileExistsError):
        write_atomic(target, b"second", overwrite=False)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["fees.csv"]
    write_atomic(target, b"third")
    assert target.read_bytes() == b"third" and target.stat().st_mode & 0o777 == 0o640


def test_a_write_that_cannot_start_names_the_file_asked_for_not_its_temp_file(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    for target in (Path("/proc/out.csv"), blocked / "out.csv"):
        with pytest.raises(OSError) as raised:
            write_atomic(target, b"data")
        assert raised.value.filename == str(target)
    assert blocked.read_text() == "not a folder"
