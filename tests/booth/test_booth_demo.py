"""``booth demo`` end to end: a simulated class through the real booth, broker and central ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.booth.log_scan import unmasked_ids


def test_demo_runs_a_class_and_every_photo_reaches_central(tmp_path):
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    result = subprocess.run([sys.executable, "-m", "appliance.cli", "demo", "--headless", "--until-done", "--json",
                             "--students", "9", "--data", str(tmp_path)],
                            capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["photographed"] == 9 and summary["uploaded"] == 9 and summary["missing"] == 0
    assert summary["retakes"] >= 2 and summary["fee_cny"] == 180.0
    assert set(summary["refused"]) == {"not_on_roster", "not_this_year", "entrusted_training",
                                       "photographed_before", "invalid_number", "already_photographed"}
    booth_photos = sorted(Path(summary["photos_dir"]).glob("*/*.jpg"))
    central_photos = sorted((tmp_path / "central" / "photos").glob("*/*/*.jpg"))
    assert len(booth_photos) == len(central_photos) == 9
    assert {p.name for p in booth_photos} == {p.name for p in central_photos}
    for photo in central_photos:
        with Image.open(photo) as image:
            assert image.size == (480, 640) and image.info["dpi"] == (300, 300)
        # CHSI's "20-40 KB" whether an upload form counts KiB or thousands of bytes
        assert 20_480 <= photo.stat().st_size <= 40_000, photo.stat().st_size
    # Personal data never reaches the log in full.
    for path in booth_photos:
        assert path.stem not in result.stderr
    assert unmasked_ids(result.stderr) == []
