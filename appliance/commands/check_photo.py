"""``booth check-photo FILE... [--json] [--out DIR [--force]] [--config FILE]``: the booth's checks on image files.

Technicians use it to tune a booth's lighting; it runs exactly the code the booth flow runs. Exit
0 when every file is accepted, 1 when any is not (or is not a camera photo: unreadable, above the
pixel limit, smaller than the 480x640 CHSI photo, lying rotated, or with transparent pixels: one
ERROR line or JSON entry for that file, and the batch carries on), 2 on a usage error (bad option, a
FILE that does not exist, unusable --out folder or a crop
already there without --force, bad config, models missing), each told in one line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.config import load_config
from boothcore.chsi import OUT_H, OUT_W
from boothcore.cli import existing_file, overwrite_refusal
from boothcore.durable import why_unwritable, write_atomic

if TYPE_CHECKING:  # imported inside _check_one, as the command always did (the checker loads OpenCV, LiteRT)
    from appliance.quality.checker import CheckReport, PhotoChecker
    from boothcore.chsi import OutputSection

# The largest image decoded: 64 megapixels takes the largest common camera sensors (61 MP) and
# the Pi cameras (12 MP) whole, while its RGB decode (192 MB) stays far inside a Pi's 1-8 GB. Above
# it the image is refused from its header, before any pixel is decoded.
MAX_PIXELS = 64_000_000
# HEIF brands of the ISO-BMFF ``ftyp`` box (ISO/IEC 23008-12, Annex B): an iPhone's photos are "heic".
# Pillow reads AVIF (also HEIF-based) but not HEIC; only these are named, the rest stay "not readable".
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})


class PhotoFileError(ValueError):
    """The file is not a camera photo the checks can judge; the message is the one line shown."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check-photo", help="check photo files against the CHSI rules")
    parser.add_argument("files", nargs="+", metavar="FILE", type=existing_file, help="image files (JPEG, PNG, ...)")
    parser.add_argument("--json", action="store_true", help="print one JSON array, one object per file")
    parser.add_argument("--out", metavar="DIR", help="write the 480x640 CHSI crop of each accepted photo here, as "
                                                     "NAME.jpg (a missing folder is created)")
    parser.add_argument("--force", action="store_true",
                        help="replace crops already in --out (never one of the photos being checked)")
    parser.add_argument("--config", metavar="FILE", help="booth.toml (quality limits, output size range)")
    parser.set_defaults(func=run)


def _open_header(path: Path) -> Any:
    """Open ``path`` reading only its header; PhotoFileError above ``MAX_PIXELS`` or when it is not
    an image Pillow knows, OSError when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except Image.DecompressionBombError as error:  # Pillow's own header check, far above MAX_PIXELS
            counted = re.search(r"\((\d+) pixels\)", str(error))
            pixels = int(counted.group(1)) if counted else 2 * (Image.MAX_IMAGE_PIXELS or 0)
            raise PhotoFileError(_too_large(pixels)) from None
        except UnidentifiedImageError:
            if _is_heic(path):
                raise PhotoFileError("a HEIC/HEIF photo (an iPhone's default format), which is not read here:"
                                     " export it as JPEG, or set the iPhone to Settings > Camera > Formats >"
                                     " Most Compatible") from None
            raise PhotoFileError("not a readable image (JPEG, PNG, ...)") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise PhotoFileError(f"{width}x{height}: {_too_large(width * height)}")
    return image


def _is_heic(path: Path) -> bool:
    """Whether the file starts with an ISO-BMFF ``ftyp`` box whose major brand is a HEIF one."""
    with path.open("rb") as file:
        head = file.read(12)
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def _too_large(pixels: int) -> str:
    return (f"{pixels / 1e6:.0f} megapixels, above the limit of {MAX_PIXELS // 1_000_000}: "
            "scale the photo down (a camera photo is 12-61 megapixels)")


def _has_transparency(image: Any) -> bool:
    """Any pixel not fully opaque (an alpha channel, or a palette/tRNS transparent colour)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        alpha = image.convert("RGBA").getchannel("A")
        return alpha.getextrema()[0] < 255
    return False


def read_photo(path: Path) -> np.ndarray:
    """Decode an image file to RGB uint8 with its EXIF orientation applied.

    Raises PhotoFileError (above ``MAX_PIXELS``, told from the header before decoding; not an
    image; transparent pixels: a cut-out, not a camera photo) or OSError.
    """
    from PIL import ImageOps

    with _open_header(path) as image:
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as error:
            raise PhotoFileError(f"a damaged or truncated image ({error})") from None
        if _has_transparency(image):
            raise PhotoFileError("the image has transparent pixels: it is a cut-out, not a camera photo; "
                                 "check a photo straight from the camera")
        upright = ImageOps.exif_transpose(image)
        if upright.mode.startswith("I;16"):  # 16-bit grey: its top 8 bits (Pillow's convert would clip)
            grey = (np.asarray(upright).astype(np.uint16) >> 8).astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        return np.asarray(upright.convert("RGB"))


def _check_resolution(frame: np.ndarray) -> None:
    """PhotoFileError for a file smaller than the CHSI photo: the crop never upscales, so no check
    could pass it, and its face reads small only for want of pixels ("move closer" would be wrong)."""
    height, width = frame.shape[:2]
    if width < OUT_W or height < OUT_H:
        raise PhotoFileError(f"{width}x{height} pixels: smaller than the {OUT_W}x{OUT_H} CHSI photo, which is"
                             " never upscaled; check the photo at the camera's full resolution (not a copy a"
                             " chat app made smaller)")


def _upright(report: CheckReport) -> bool:
    """A face was found, its eye line within 45 degrees of level (head_pose's roll)."""
    found = report.checks["face_count"].value
    roll = (report.checks["head_pose"].value or {}).get("roll") if found else None
    return bool(found) and roll is not None and abs(roll) <= 45


def _check_upright(checker: PhotoChecker, frame: np.ndarray) -> None:
    """PhotoFileError when the picture shows no upright face but does turned a quarter, a half or three
    quarters clockwise: a file whose pixels lie rotated and whose EXIF orientation tag was lost or set
    wrong, not a student out of the picture ("no face") or with a head tilted 90 degrees ("roll")."""
    for quarters, turn in ((1, "90 degrees clockwise"), (2, "180 degrees"), (3, "90 degrees anticlockwise")):
        if _upright(checker.check(np.rot90(frame, k=-quarters))):
            raise PhotoFileError(f"the picture lies rotated: it shows a face when turned {turn}; save it upright"
                                 " (its EXIF orientation tag is missing or wrong) and check it again")


def _crop_path(out_dir: Path, photo: Path) -> Path:
    return out_dir / f"{photo.stem}.jpg"


def _output_problem(out_dir: Path, files: list[Path], *, force: bool) -> str | None:
    """Why the crops of ``files`` cannot go to ``out_dir``, told before any photo is checked, or None
    once the folder is there: a file in its place, a folder nothing can be written in, two photos
    with one crop name, a crop that would replace a photo being checked, or (without ``force``) an
    earlier crop."""
    if out_dir.exists() and not out_dir.is_dir():
        return f"--out {out_dir} is a file, not a folder: name a folder for the crops (a missing one is created)"
    crops: dict[Path, Path] = {}
    for photo in files:
        crop = _crop_path(out_dir, photo)
        if crop in crops:
            return (f"--out {out_dir}: {crops[crop]} and {photo} would both be cropped to {crop}: check them "
                    "in two runs")
        if crop.exists() and crop.samefile(photo):
            return f"--out {out_dir}: the crop of {photo} would replace the photo itself: name another folder"
        crops[crop] = photo
    refusal = None if force else overwrite_refusal("--out", crops, "name another folder")
    if refusal:
        return refusal
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return (f"--out {out_dir}: cannot write there: {why_unwritable(out_dir, error)}; name a folder this user "
                "may write")
    return None


def _check_one(checker: PhotoChecker, output: OutputSection, path: Path, out_dir: Path | None) -> dict[str, Any]:
    from appliance.flow.outcomes import told_in_order
    from appliance.quality.checker import crop_to_chsi
    from appliance.quality.chsi_file import JpegSizeError, encode_chsi_jpeg

    try:
        frame = read_photo(path)
        _check_resolution(frame)
        report = checker.check(frame)
        if not _upright(report):
            _check_upright(checker, frame)
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return {"file": str(path), "error": reason, "accepted": False}
    result: dict[str, Any] = {"file": str(path), **report.to_json(), "output": None}
    result["review"] = [check.id for check in told_in_order(report)]  # as the kiosk tells them
    if report.accepted and out_dir is not None:
        try:
            jpeg = encode_chsi_jpeg(crop_to_chsi(frame, report), output)
        except JpegSizeError as error:
            jpeg = error.closest
            result["output_note"] = str(error)
        result["output"] = str(write_atomic(_crop_path(out_dir, path), jpeg))
    return result


_VERDICT_WORDS = {"accepted": "ACCEPTED", "confirm": "CONFIRM (warnings only: the operator may keep it)",
                  "rejected": "REJECTED"}


def _print_text(result: dict[str, Any]) -> None:
    """One line per file, then the instructions the booth's review would give (root causes only, in
    the kiosk's order: in a rejected photo what refuses it first, then its warnings, marked);
    failed checks that follow from them are named on one last line."""
    if "error" in result:
        print(f"{result['file']}: ERROR {result['error']}")
        return
    verdict = _VERDICT_WORDS[result["verdict"]]
    print(f"{result['file']}: {verdict}" + (f" -> {result['output']}" if result["output"] else ""))
    checks = result["checks"]
    for check_id in result["review"]:
        check = checks[check_id]
        warning = " (warning)" if result["verdict"] == "rejected" and check["severity"] == "confirm" else ""
        print(f"  {check_id}{warning}: {check['message']['en']} / {check['message']['zh']} "
              f"(value {json.dumps(check['value'])}, limit {json.dumps(check['limit'])})")
    following = [check_id for check_id, check in checks.items()
                 if not check["passed"] and check_id not in result["review"]]
    if following:
        print(f"  also failed, following from the above: {', '.join(following)} (see --json)")


def run(args: argparse.Namespace) -> int:
    from appliance.quality.checker import PhotoChecker
    from appliance.quality.models import ModelError

    config = load_config(args.config)
    files: list[Path] = args.files
    out_dir = Path(args.out) if args.out else None
    problem = _output_problem(out_dir, files, force=args.force) if out_dir is not None else None
    if problem:
        print(f"check-photo: {problem}", file=sys.stderr)
        return 2
    try:
        checker = PhotoChecker(config.quality)
    except ModelError as error:
        print(f"check-photo: {error}", file=sys.stderr)
        return 2
    results = [_check_one(checker, config.output, path, out_dir) for path in files]
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            _print_text(result)
    return 0 if all(result["accepted"] for result in results) else 1
