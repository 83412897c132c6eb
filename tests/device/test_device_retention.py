"""Retention: a photo file goes only after central acknowledged it and the retention passed."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

from appliance.cli import main as booth_main
from appliance.device.retention import DAY_S, purge_acked_photos
from appliance.uplink.outbox import Outbox
from boothcore.durable import write_atomic
from boothcore.idnumber import make_id_number


def queue_photo(outbox: Outbox, folder, seq: int) -> tuple[str, str]:
    """A durably written photo queued in the outbox: (photo_id, sha256)."""
    photo_id = uuid.UUID(int=seq, version=4).hex
    id_number = make_id_number("110105", dt.date(2005, 1, 1) + dt.timedelta(days=seq), seq)
    path = write_atomic(folder / photo_id / f"{id_number}.jpg", b"\xff\xd8" + bytes([seq]) * 30_000 + b"\xff\xd9")
    init = outbox.enqueue_photo(photo_id, path, {"id_number": id_number, "student_no": f"2023{seq:04d}",
                                                 "college": "计算机学院", "class": "软件2301", "session_id": "s-1",
                                                 "attempt": 1})
    return photo_id, init.sha256


def test_only_acknowledged_photos_past_retention_are_deleted(tmp_path):
    photos = tmp_path / "data" / "photos"
    outbox = Outbox(tmp_path / "data" / "booth.db", "booth-01")
    acked, _ = old = queue_photo(outbox, photos, 1)
    pending, _ = queue_photo(outbox, photos, 2)
    assert outbox.mark_photo_acked(*old)
    outside = write_atomic(tmp_path / "elsewhere" / "x.jpg", b"\xff\xd8" + b"\0" * 30_000 + b"\xff\xd9")
    stray_meta = {"id_number": make_id_number("110105", dt.date(2005, 1, 9), 3), "student_no": "20230003",
                  "college": "c", "class": "k", "session_id": "s-1", "attempt": 1}
    stray = outbox.enqueue_photo(uuid.UUID(int=3, version=4).hex, outside, stray_meta)
    assert outbox.mark_photo_acked(stray.photo_id, stray.sha256)

    within = purge_acked_photos(outbox, photos, 30, now=time.time() + 29 * DAY_S)
    assert within.deleted == [] and (photos / acked).is_dir()

    later = time.time() + 1000 * DAY_S
    dry = purge_acked_photos(outbox, photos, 30, now=later, dry_run=True)
    assert dry.deleted == [acked] and (photos / acked).is_dir()

    report = purge_acked_photos(outbox, photos, 30, now=later)
    assert report.deleted == [acked] and report.freed_bytes == 30_004
    assert not (photos / acked).exists() and photos.is_dir()
    assert (photos / pending).is_dir()  # never acknowledged: kept however old
    assert report.refused == [str(outside)] and outside.exists()
    assert outbox.photo_state(acked) == "acked"  # the record of delivery stays

    again = purge_acked_photos(outbox, photos, 30, now=later)
    assert again.deleted == [] and again.already_gone == 1
    outbox.close()


def test_booth_retention_command_uses_the_configured_days(tmp_path, capsys):
    data = tmp_path / "data"
    outbox = Outbox(data / "booth.db", "booth-01")
    photo_id, sha256 = queue_photo(outbox, data / "photos", 7)
    outbox.mark_photo_acked(photo_id, sha256)
    outbox.close()
    assert booth_main(["retention", "--data", str(data), "--json"]) == 0  # default: 30 days
    assert json.loads(capsys.readouterr().out)["deleted"] == 0
    config = tmp_path / "booth.toml"
    config.write_text(f'[booth]\ndata_dir = "{data}"\nphoto_retention_days = 0\n', encoding="utf-8")
    time.sleep(0.01)
    assert booth_main(["retention", "--config", str(config)]) == 0
    assert "deleted 1 photo file(s)" in capsys.readouterr().out
    assert not (data / "photos" / photo_id).exists()


def test_a_data_folder_moved_elsewhere_is_logged_without_the_id_numbers(tmp_path):
    """The technician moved the data folder: the outbox still names the photos at the old place, which
    retention refuses to delete; the line it logs (the journal's) names the path with the ID number masked."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from boothcore.privacy import mask_id

    old = tmp_path / "old"
    outbox = Outbox(old / "booth.db", "booth-01")
    photo_id, sha256 = queue_photo(outbox, tmp_path / "elsewhere" / "photos", 3)
    outbox.mark_photo_acked(photo_id, sha256)
    outbox.close()
    (id_file,) = (tmp_path / "elsewhere" / "photos" / photo_id).iterdir()
    moved = tmp_path / "moved"
    shutil.move(old, moved)
    config = tmp_path / "booth.toml"
    config.write_text(f'[booth]\ndata_dir = "{moved}"\nphoto_retention_days = 0\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "appliance.cli", "retention", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 1, done.stderr  # a refused path is a problem to look at
    assert "points outside" in done.stderr and id_file.exists()
    assert id_file.stem not in done.stderr + done.stdout and mask_id(id_file.stem) in done.stderr
