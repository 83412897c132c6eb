"""`booth check-photo`: JSON per file, crops of accepted photos, exit codes 0 / 1 / 2 (real process)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import pytest
from PIL import Image

from appliance.quality.checks import CHECK_IDS

from .conftest import scene

ROOT = Path(__file__).resolve().parents[2]
FIELD = ROOT.parent / "shared" / "cases" / "field"
# A compliant photo: a real one (the simulated student's hair covers her ears, a "confirm" warning).
COMPLIANT = ROOT.parent / "shared" / "faces" / "cases" / "good_idphoto_ea_woman.jpg"


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
    if not COMPLIANT.is_file():
        pytest.skip(f"real-face development set absent ({COMPLIANT})")
    good = Path(shutil.copyfile(COMPLIANT, folder / "good.jpg"))
    return {"good": good, "blurred": _png(folder / "blurred.png", 1, ("blur",)),
            "garbage": garbage, "missing": folder / "missing.png"}


def test_json_report_for_mixed_files(photos, tmp_path):
    files = [str(photos[k]) for k in ("good", "blurred", "garbage")]
    done = _booth("check-photo", *files, "--json", "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    good, blurred, garbage = json.loads(done.stdout)
    assert list(good) == ["file", "accepted", "verdict", "review", "checks", "output"]
    assert good["accepted"] is True and good["file"] == files[0]
    assert set(good["checks"]) == set(CHECK_IDS)
    for check in good["checks"].values():
        assert set(check) == {"passed", "value", "limit", "message", "severity"}
        assert set(check["message"]) == {"zh", "en"}
    output = Path(good["output"])
    assert output.parent == tmp_path / "out" and output.name == "good.jpg"
    with Image.open(output) as image:
        assert image.size == (480, 640) and image.format == "JPEG" and image.info["dpi"] == (300, 300)
    assert 20_480 <= output.stat().st_size <= 40_000
    assert output.stat().st_mode & 0o777 == 0o640  # like every file the booth writes
    assert blurred["accepted"] is False and blurred["output"] is None
    assert blurred["checks"]["sharpness"]["passed"] is False
    assert blurred["checks"]["sharpness"]["message"]["en"] == "The photo is blurred: hold still"
    assert garbage["accepted"] is False and garbage["error"] and "checks" not in garbage
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.jpg"]


def test_all_accepted_exits_zero_with_text_output(photos):
    done = _booth("check-photo", str(photos["good"]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{photos['good']}: ACCEPTED"


def test_rejected_text_names_the_instruction(photos):
    done = _booth("check-photo", str(photos["blurred"]))
    assert done.returncode == 1
    assert "sharpness: The photo is blurred: hold still / 照片不清晰,请保持不动" in done.stdout


def test_text_gives_the_verdict_and_root_causes_only():
    """A confirm-only photo says so (not REJECTED), and a knock-on fault is not an instruction: the
    greyscale photo's backdrop and light follow from its colour, as the kiosk's review shows it."""
    faces = ROOT.parent / "shared" / "faces" / "cases"
    side_lit, grey = faces / "side_light_schmidhuber.jpg", faces / "grayscale_hemsworth.jpg"
    if not (side_lit.is_file() and grey.is_file()):
        pytest.skip(f"real-face development set absent ({faces})")
    report = json.loads(_booth("check-photo", str(side_lit), str(grey), "--json").stdout)
    done = _booth("check-photo", str(side_lit), str(grey))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert report[0]["verdict"] == "confirm"
    assert lines[0] == f"{side_lit}: CONFIRM (warnings only: the operator may keep it)"
    grey_at = lines.index(f"{grey}: REJECTED")
    instructions = [line.split(":")[0].removesuffix(" (warning)").strip() for line in lines[grey_at + 1:]
                    if not line.startswith("  also")]
    assert instructions == report[1]["review"]
    knock_on = [k for k, c in report[1]["checks"].items() if not c["passed"] and k not in report[1]["review"]]
    if knock_on:
        assert lines[-1] == f"  also failed, following from the above: {', '.join(knock_on)} (see --json)"


def test_a_rejected_photo_marks_its_warnings():
    """The tongue-out photo is refused for its mouth; its raised chin (head_pitch) and covered ears
    are warnings the operator could overlook, and the text says which is which."""
    photo = ROOT.parent / "shared" / "faces" / "cases" / "mouth_open_stock_a.jpg"
    if not photo.is_file():
        pytest.skip(f"real-face development set absent ({photo.parent})")
    report = json.loads(_booth("check-photo", str(photo), "--json").stdout)[0]
    lines = _booth("check-photo", str(photo)).stdout.splitlines()
    assert lines[0] == f"{photo}: REJECTED"
    for check_id in report["review"]:
        severity = report["checks"][check_id]["severity"]
        marked = f"  {check_id} (warning): " if severity == "confirm" else f"  {check_id}: "
        assert any(line.startswith(marked) for line in lines), (marked, lines)
    assert {report["checks"][k]["severity"] for k in report["review"]} == {"reject", "confirm"}
    severities = [report["checks"][k]["severity"] for k in report["review"]]
    assert severities == sorted(severities, key=lambda s: s == "confirm"), "what refuses it first, as the kiosk"


@pytest.mark.parametrize("args", [["check-photo"], ["check-photo", "x.png", "--bogus"]])
def test_usage_errors_exit_two(args):
    assert _booth(*args).returncode == 2


def test_out_that_is_a_file_is_a_usage_error_naming_it_and_what_to_do(photos, tmp_path):
    # Trial: it was "check-photo: --out FILE: File exists".
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_usage_error(_booth("check-photo", str(photos["good"]), "--out", str(blocker)),
                          f"--out {blocker} is a file, not a folder", "name a folder for the crops")
    assert blocker.read_text() == "x"


def test_an_earlier_crop_is_replaced_only_with_force(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "good.jpg"
    earlier.write_bytes(b"an earlier crop")
    _one_line_usage_error(_booth("check-photo", str(photos["good"]), "--out", str(out)),
                          f"--out: {earlier} already exists", "name another folder", "--force")
    assert earlier.read_bytes() == b"an earlier crop"
    done = _booth("check-photo", str(photos["good"]), "--out", str(out), "--force")
    assert done.returncode == 0, done.stderr
    with Image.open(earlier) as image:
        assert image.size == (480, 640)


def test_a_crop_never_replaces_a_photo_being_checked(photos, tmp_path):
    photo = Path(shutil.copyfile(photos["good"], tmp_path / "student.jpg"))
    original = photo.read_bytes()
    for extra in ([], ["--force"]):
        _one_line_usage_error(_booth("check-photo", str(photo), "--out", str(tmp_path), *extra),
                              f"the crop of {photo} would replace the photo itself")
    assert photo.read_bytes() == original
    twin = Path(shutil.copyfile(photos["good"], tmp_path / "student.jpeg"))
    _one_line_usage_error(_booth("check-photo", str(photo), str(twin), "--out", str(tmp_path / "out")),
                          f"{photo} and {twin} would both be cropped to {tmp_path / 'out' / 'student.jpg'}")
    assert not (tmp_path / "out").exists()  # refused before anything is made


def test_bad_config_is_a_usage_error(photos, tmp_path):
    config = tmp_path / "booth.toml"
    config.write_text("[quality]\nmax_roll_deg = -1\n")
    done = _booth("check-photo", str(photos["good"]), "--config", str(config))
    assert done.returncode == 2 and "quality.max_roll_deg" in done.stderr


def _one_line_usage_error(done: subprocess.CompletedProcess, *expected: str) -> str:
    assert done.returncode == 2, done.stderr
    line, *rest = done.stderr.strip().splitlines()
    assert not rest and "Traceback" not in done.stderr, done.stderr
    assert all(text in line for text in expected), line
    return line


def test_a_missing_file_is_a_usage_error_before_any_check(photos):
    _one_line_usage_error(_booth("check-photo", str(photos["good"]), str(photos["missing"])),
                          str(photos["missing"]), "no such file")


def _blank_png(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit black PNG of any size, written in strips (a few hundred KB even at 40000x40000)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + (width + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    strips = [packer.compress(row * min(1000, height - top)) for top in range(0, height, 1000)]
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(strips) + packer.flush())
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize(("width", "height", "megapixels"), [(24000, 16000, "384"), (40000, 40000, "1600"),
                                                             (9000, 8000, "72")])
def test_a_huge_image_is_refused_from_its_header_before_decoding(tmp_path, width, height, megapixels):
    png = _blank_png(tmp_path / "huge.png", width, height)
    # Peak memory of the command, measured by a parent of its own (an RGB decode is 3 bytes a pixel).
    measure = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stderr.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + chr(10) + done.stderr); "
               "sys.stdout.write(done.stdout); sys.exit(done.returncode)")
    done = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "appliance.cli", "check-photo",
                           str(png), "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    line, *rest = done.stdout.strip().splitlines()
    assert not rest and line.startswith(f"{png}: ERROR ") and f"{megapixels} megapixels, above the limit of 64" in line
    peak_mb = int(done.stderr.splitlines()[0]) / 1024
    print(f"check-photo on a {megapixels} MP PNG: peak {peak_mb:.0f} MB")
    assert peak_mb < min(3 * width * height / 1e6, 500)  # below the RGB decode alone
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_huge_image_in_a_batch_is_one_entry_and_the_batch_carries_on(photos, tmp_path):
    """One oversize file among good ones: its own error entry (text line and JSON), the others
    checked and cropped as usual, exit 1 (a file not accepted)."""
    huge = _blank_png(tmp_path / "huge.png", 9000, 8000)
    files = [str(photos["good"]), str(huge), str(photos["blurred"])]
    done = _booth("check-photo", *files, "--json", "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    good, too_large, blurred = json.loads(done.stdout)
    assert good["accepted"] is True and Path(good["output"]).is_file()
    assert too_large == {"file": str(huge), "error": "9000x8000: 72 megapixels, above the limit of 64: scale the "
                         "photo down (a camera photo is 12-61 megapixels)", "accepted": False}
    assert blurred["file"] == files[2] and "sharpness" in blurred["review"]
    text = _booth("check-photo", *files)
    assert text.returncode == 1 and "Traceback" not in text.stderr, text.stderr
    assert f"{huge}: ERROR 9000x8000: 72 megapixels" in text.stdout
    assert text.stdout.startswith(f"{files[0]}: ACCEPTED") and f"{files[2]}: REJECTED" in text.stdout


def test_a_transparent_cutout_is_not_a_camera_photo(tmp_path):
    case = FIELD / "photo-transparent-background.png"
    if not case.is_file():
        pytest.skip(f"{case} is absent (the field cases of issue 10)")
    done = _booth("check-photo", str(case))
    assert done.returncode == 1, done.stderr
    assert done.stdout.strip() == (f"{case}: ERROR the image has transparent pixels: it is a cut-out, not a camera "
                                   "photo; check a photo straight from the camera")
    assert "Traceback" not in done.stderr


def test_an_opaque_alpha_channel_is_checked_as_the_photo_it_is(photos, tmp_path):
    rgba = tmp_path / "opaque.png"
    with Image.open(photos["good"]) as image:
        image.convert("RGBA").save(rgba)
    assert _booth("check-photo", str(rgba)).returncode == 0


def test_exif_orientation_is_applied(photos, tmp_path):
    """A phone stores a portrait sideways with EXIF Orientation 6 (rotate 90 degrees clockwise to view)."""
    with Image.open(photos["good"]) as image:
        sideways = image.convert("RGB").rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    tagged, untagged = tmp_path / "tagged.jpg", tmp_path / "untagged.jpg"
    sideways.save(tagged, quality=95, exif=exif)
    sideways.save(untagged, quality=95)
    done = _booth("check-photo", str(tagged), str(untagged), "--json")
    tagged_result, untagged_result = json.loads(done.stdout)
    assert tagged_result["accepted"] is True and untagged_result["accepted"] is False


def test_an_iphone_heic_photo_is_named_with_how_to_get_a_jpeg(photos, tmp_path):
    """An iPhone saves HEIC by default; Pillow cannot decode it. The line names the format and the fix
    (the file starts with the ISO-BMFF ``ftyp`` box an iPhone writes: brand heic, compatible mif1)."""
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(struct.pack(">I", 24) + b"ftypheic" + struct.pack(">I", 0) + b"mif1heic"
                     + struct.pack(">I", 8) + b"meta")
    done = _booth("check-photo", str(heic), str(photos["good"]))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"{heic}: ERROR a HEIC/HEIF photo (an iPhone's default format), which is not read here: export it"
        " as JPEG, or set the iPhone to Settings > Camera > Formats > Most Compatible")
    assert f"{photos['good']}: ACCEPTED" in done.stdout  # the batch carries on


def test_a_photo_smaller_than_the_chsi_photo_is_named_as_too_small_not_as_too_far(photos, tmp_path):
    """A chat app's copy of a phone photo (here the compliant photo at 450 px wide): the face fills as
    much of the frame as in the original, so "move closer" would be the wrong fault; no crop of fewer
    than 480x640 pixels makes the CHSI photo without upscaling."""
    small = tmp_path / "wechat.jpg"
    with Image.open(photos["good"]) as image:
        width, height = 450, round(450 * image.height / image.width)
        image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS).save(small, quality=92)
    done = _booth("check-photo", str(small), str(photos["good"]))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.splitlines()[0] == (
        f"{small}: ERROR {width}x{height} pixels: smaller than the 480x640 CHSI photo, which is never"
        " upscaled; check the photo at the camera's full resolution (not a copy a chat app made smaller)")
    assert f"{photos['good']}: ACCEPTED" in done.stdout


@pytest.mark.parametrize(("pixels_turned", "named"), [(90, "90 degrees anticlockwise"), (180, "180 degrees"),
                                                      (270, "90 degrees clockwise")])
def test_a_photo_lying_on_its_side_is_named_as_rotated_not_as_no_face(photos, tmp_path, pixels_turned, named):
    """A phone photo whose pixels lie sideways or upside down and whose EXIF orientation tag was lost (or
    set wrong by an editing app): "no face found: sit in front of the camera" would be the wrong fault."""
    turned = tmp_path / f"turned{pixels_turned}.jpg"
    with Image.open(photos["good"]) as image:
        image.convert("RGB").rotate(-pixels_turned, expand=True).save(turned, quality=95)  # clockwise
    done = _booth("check-photo", str(turned))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.strip() == (
        f"{turned}: ERROR the picture lies rotated: it shows a face when turned {named}; save it upright"
        " (its EXIF orientation tag is missing or wrong) and check it again")
