"""The real booth killed with SIGKILL in its save path, on the class summary and at random moments:
after the next start no orphan photo file, temp file or empty folder is left, no recorded photo is
lost, and every class whose fee was not settled is shown again until it is."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from appliance.hardware.camera_sim import SimulatedCamera
from appliance.ledger import Ledger
from boothcore.db import connect
from tests.log_scan import unmasked_ids

DRIVER = Path(__file__).with_name("booth_kill_driver.py")
# Aimed in turn: after the photo file, before its ledger row; on the summary; inside the atomic
# write (the folder made, then the temp file written); None = killed from outside at a random
# moment of a start, a capture or a close.
POINTS = ("photo-written", "summary", "folder-made", "rename", None)
ROUNDS = 15


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    camera = SimulatedCamera(seed=1)
    camera.start()
    camera.set_subject(0, frozenset())
    path = tmp_path_factory.mktemp("frames") / "frames.npz"
    np.savez(path, preview=camera.preview_frame(), still=camera.capture())
    camera.close()
    return path


def _driver(data: Path, frames: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(DRIVER), "--data", str(data), "--frames", str(frames), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(data: Path) -> tuple[Counter[str], list[str]]:
    """What is on disk now: leftovers by kind, recorded photos missing, and the unpaid sessions."""
    photos = data / "photos"
    conn = connect(data / "booth.db")
    try:
        ledger = Ledger(conn, "booth-01")
        kept = {f"{photo_id}/{id_number}.jpg" for photo_id, id_number in ledger.accepted_files()}
        unpaid = [session.id for session in ledger.unpaid_sessions()]
    finally:
        conn.close()
    files = [path for path in photos.rglob("*") if path.is_file()] if photos.exists() else []
    counts: Counter[str] = Counter(
        temp_files=sum(path.name.endswith(".tmp") for path in files),
        orphan_files=sum(not path.name.endswith(".tmp") and path.relative_to(photos).as_posix() not in kept
                         for path in files),
        empty_folders=sum(path.is_dir() and not any(path.iterdir()) for path in photos.rglob("*"))
        if photos.exists() else 0,
        lost_photos=sum(not (photos / name).exists() for name in kept),
        unpaid_sessions=len(unpaid))
    return counts, unpaid


def test_sigkill_in_the_save_path_and_on_the_summary_leaves_nothing_behind(tmp_path, frames):
    data = tmp_path / "booth"
    rng = random.Random(20270602)
    left: Counter[str] = Counter()  # what the kills left, before the next start cleaned it up
    shown_again = 0
    for round_no in range(ROUNDS):
        point = POINTS[round_no % len(POINTS)]
        unpaid = _count(data)[1] if data.exists() else []
        proc = _driver(data, frames, "--students", "2", *(["--die-at", point] if point else []))
        assert proc.stdout is not None
        started = proc.stdout.readline().split()
        assert started[:1] == ["STARTED"], proc.communicate()[1][-3000:]
        if unpaid:  # the oldest class whose fee was not settled is on screen again
            assert started[1:] == ["summary", unpaid[0]]
            shown_again += 1
        if point is None:
            time.sleep(rng.uniform(0.0, 2.5))
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode in (-signal.SIGKILL, 0) if point is None else proc.returncode == -signal.SIGKILL, \
            err[-3000:]
        assert not unmasked_ids(err), unmasked_ids(err)
        counts, _ = _count(data)
        assert counts["lost_photos"] == 0
        left += counts
    final = _driver(data, frames, "--students", "0")
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0 and out.split()[-1] == "DONE", err[-3000:]
    assert not unmasked_ids(err), unmasked_ids(err)
    end, _ = _count(data)
    print(f"{ROUNDS} kills left {left['orphan_files']} orphan files, {left['temp_files']} temp files, "
          f"{left['empty_folders']} empty folders, {left['unpaid_sessions']} unpaid sessions "
          f"({shown_again} summaries shown again); after the last start: {dict(end)}")
    aimed = ROUNDS // len(POINTS)
    assert min(left["orphan_files"], left["temp_files"], left["empty_folders"], left["unpaid_sessions"],
               shown_again) >= aimed, "the kills did not land where they were aimed"
    assert dict(end) == {"temp_files": 0, "orphan_files": 0, "empty_folders": 0, "lost_photos": 0,
                         "unpaid_sessions": 0}
    conn = connect(data / "booth.db")
    accepted = conn.execute("SELECT COUNT(*) FROM captures WHERE verdict = 'accepted'").fetchone()[0]
    conn.close()
    # Each round aimed at the summary photographs its two students before it dies; the random
    # rounds may photograph nobody when the machine is slow, so they are not counted on.
    assert accepted >= aimed * 2, "the rounds aimed at the summary photographed their students"
