"""`booth check-photo`: JSON per file, crops of accepted photos, exit codes 0 / 1 / 2 (real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from PIL import Image

from appliance.quality.checks import CHECK_IDS

from .conftest import scene

ROOT = Path(__file__).resolve().parents[2]


def _booth(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def _png(path: Path, subject: int, faults: tuple[str, ...] = ()) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(scene(subject, faults), cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    garbage = folder / "garbage.jpg"
    garbage.write_bytes(b"\xff\xd8 not really a jpeg")
    return {"good": _png(folder / "good.png", 0), "blurred": _png(folder / "blurred.png", 1, ("blur",)),
            "garbage": garbage, "missing": folder / "missing.png"}


def test_json_report_for_mixed_files(photos, tmp_path):
    files = [str(photos[k]) for k in ("good", "blurred", "garbage", "missing")]
    done = _booth("check-photo", *files, "--json", "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    good, blurred, garbage, missing = json.loads(done.stdout)
    assert list(good) == ["file", "accepted", "checks", "output"]
    assert good["accepted"] is True and good["file"] == files[0]
    assert set(good["checks"]) == set(CHECK_IDS)
    for check in good["checks"].values():
        assert set(check) == {"passed", "value", "limit", "message"} and set(check["message"]) == {"zh", "en"}
    output = Path(good["output"])
    assert output.parent == tmp_path / "out" and output.name == "good.jpg"
    with Image.open(output) as image:
        assert image.size == (480, 640) and image.format == "JPEG" and image.info["dpi"] == (300, 300)
    assert 20 * 1024 <= output.stat().st_size <= 40 * 1024
    assert blurred["accepted"] is False and blurred["output"] is None
    assert blurred["checks"]["sharpness"]["passed"] is False
    assert blurred["checks"]["sharpness"]["message"]["en"] == "The photo is blurred: hold still"
    for broken in (garbage, missing):
        assert broken["accepted"] is False and broken["error"] and "checks" not in broken
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.jpg"]


def test_all_accepted_exits_zero_with_text_output(photos):
    done = _booth("check-photo", str(photos["good"]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{photos['good']}: ACCEPTED"


def test_rejected_text_names_the_instruction(photos):
    done = _booth("check-photo", str(photos["blurred"]))
    assert done.returncode == 1
    assert "sharpness: The photo is blurred: hold still / 照片不清晰,请保持不动" in done.stdout


@pytest.mark.parametrize("args", [["check-photo"], ["check-photo", "x.png", "--bogus"]])
def test_usage_errors_exit_two(args):
    assert _booth(*args).returncode == 2


def test_out_that_is_a_file_is_a_usage_error(photos, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = _booth("check-photo", str(photos["good"]), "--out", str(blocker))
    assert done.returncode == 2 and "--out" in done.stderr


def test_bad_config_is_a_usage_error(photos, tmp_path):
    config = tmp_path / "booth.toml"
    config.write_text("[quality]\nmax_roll_deg = -1\n")
    done = _booth("check-photo", str(photos["good"]), "--config", str(config))
    assert done.returncode == 2 and "quality.max_roll_deg" in done.stderr
