"""Atomic writes: a process killed between write and rename leaves the old file or nothing, never a part."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from boothcore.durable import remove_stale_temps, write_atomic


def test_write_replaces_whole_file(tmp_path):
    target = tmp_path / "a" / "b.jpg"
    write_atomic(target, b"old")
    write_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in target.parent.iterdir()] == ["b.jpg"]


def _killed_writer(target, payload_size: int) -> subprocess.CompletedProcess:
    script = textwrap.dedent(f"""
        import os, signal
        from boothcore import durable
        # The process dies after the data is written and fsynced, right before the rename.
        os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        durable.write_atomic({str(target)!r}, b"x" * {payload_size})
    """)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)


def test_kill_before_rename_leaves_no_partial_file(tmp_path):
    target = tmp_path / "photos" / "11010519491231002X.jpg"
    result = _killed_writer(target, 300_000)
    assert result.returncode == -9
    assert not target.exists()
    leftovers = list(target.parent.iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".tmp")
    assert remove_stale_temps(tmp_path) == leftovers and list(target.parent.iterdir()) == []


def test_kill_before_rename_keeps_the_old_file_intact(tmp_path):
    target = tmp_path / "photo.jpg"
    write_atomic(target, b"the old photo")
    assert _killed_writer(target, 50_000).returncode == -9
    assert target.read_bytes() == b"the old photo"


def test_failed_write_removes_its_temp(tmp_path, monkeypatch):
    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    try:
        write_atomic(tmp_path / "x.jpg", b"data")
    except OSError as error:
        assert error.errno == 28
    assert list(tmp_path.iterdir()) == []
