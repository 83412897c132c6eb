"""The booth killed with SIGKILL at random points during capture and upload: nothing lost, nothing
duplicated, no corrupt file on either side."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from boothcore.db import connect
from tests.uplink.uplink_photos import photo_bytes

ROOT = Path(__file__).resolve().parents[2]
DRIVER = "tests.uplink.uplink_driver"
ROUNDS = 22


def _driver(data: Path, url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", DRIVER, "--data", str(data), "--broker", url, *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _backlog(db: Path) -> int:
    if not db.exists():
        return 0
    conn = connect(db)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "outbox_photos" not in tables:
            return 0
        photos = conn.execute("SELECT count(*) FROM outbox_photos WHERE state != 'acked'").fetchone()[0]
        return photos + conn.execute("SELECT count(*) FROM outbox_events").fetchone()[0]
    finally:
        conn.close()


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path, broker, real_central):
    data = tmp_path / "booth"
    rng = random.Random(20270601)
    interrupted = 0  # rounds killed with photos or events still unacknowledged
    for round_no in range(ROUNDS):
        proc = _driver(data, broker.url, "--capture", str(rng.randint(2, 12)), "--drain", "--linger")
        if round_no % 2:
            # From the spawn: lands in start-up, reconciliation of the last round's leftovers, capture.
            time.sleep(rng.uniform(0.05, 1.0))
        else:
            # Once the uplink runs: lands in capture and upload.
            assert proc.stdout is not None and proc.stdout.readline().strip() == "STARTED"
            time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err[-3000:]
        interrupted += _backlog(data / "booth.db") > 0
    print(f"{interrupted} of {ROUNDS} kills interrupted an upload")
    assert interrupted >= 5, "the kills should land while uploads are under way"
    final = _driver(data, broker.url, "--drain", "--timeout", "90")
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err[-3000:]
    assert "BACKLOG 0" in out

    photos = {path.stem: path for path in (data / "photos").glob("*.jpg")}
    assert photos, "no round got as far as a photo"
    assert not list((data / "photos").glob(".*.tmp")), "stale temp files left"
    # Booth side: every photo file complete; every one stored once by central, byte for byte.
    for photo_id, path in photos.items():
        assert path.read_bytes() == photo_bytes(photo_id), f"corrupt booth file {photo_id}"
    assert set(real_central.writes) == set(photos)
    assert all(count == 1 for count in real_central.writes.values())
    for photo_id in photos:
        assert real_central.photo_file(photo_id) == photo_bytes(photo_id), f"corrupt central file {photo_id}"
    # Every event the booth had queued when it was killed reached central.
    logged = {line for line in (data / "events.log").read_text().split() if line}
    assert logged <= real_central.event_ids()
    # The outbox agrees: everything acked, boot counter counted every start.
    conn = connect(data / "booth.db")
    states = dict(conn.execute("SELECT state, count(*) FROM outbox_photos GROUP BY state").fetchall())
    boot = int(conn.execute("SELECT value FROM outbox_meta WHERE key = 'boot'").fetchone()[0])
    conn.close()
    assert states == {"acked": len(photos)}
    assert boot >= 2  # at least the final run and one killed run that got as far as start()
