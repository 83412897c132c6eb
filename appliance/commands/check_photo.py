"""``booth check-photo FILE... [--json] [--out DIR] [--config FILE]``: the booth's checks on image files.

Technicians use it to tune a booth's lighting; it runs exactly the code the booth flow runs. Exit
0 when every file is accepted, 1 when any is not (or cannot be read), 2 on a usage error (bad
option, unusable --out folder, bad config, models missing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from appliance.config import load_config
from appliance.durable import write_atomic


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check-photo", help="check photo files against the CHSI rules")
    parser.add_argument("files", nargs="+", metavar="FILE", help="image files (JPEG, PNG, ...)")
    parser.add_argument("--json", action="store_true", help="print one JSON array, one object per file")
    parser.add_argument("--out", metavar="DIR", help="write the 480x640 CHSI crop of each accepted photo here")
    parser.add_argument("--config", metavar="FILE", help="booth.toml (quality limits, output size range)")
    parser.set_defaults(func=run)


def read_rgb(path: Path) -> np.ndarray:
    """Decode an image file to RGB uint8 (EXIF orientation applied); ValueError when it is not one."""
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError("not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _check_one(checker: Any, output: Any, path: Path, out_dir: Path | None) -> dict[str, Any]:
    from appliance.quality.checker import crop_to_chsi
    from appliance.quality.chsi_file import JpegSizeError, encode_chsi_jpeg

    try:
        frame = read_rgb(path)
        report = checker.check(frame)
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return {"file": str(path), "error": reason, "accepted": False}
    result: dict[str, Any] = {"file": str(path), **report.to_json(), "output": None}
    if report.accepted and out_dir is not None:
        try:
            jpeg = encode_chsi_jpeg(crop_to_chsi(frame, report), output)
        except JpegSizeError as error:
            jpeg = error.closest
            result["output_note"] = str(error)
        result["output"] = str(write_atomic(out_dir / f"{path.stem}.jpg", jpeg, mode=0o644))
    return result


def _print_text(result: dict[str, Any]) -> None:
    if "error" in result:
        print(f"{result['file']}: ERROR {result['error']}")
        return
    verdict = "ACCEPTED" if result["accepted"] else "REJECTED"
    print(f"{result['file']}: {verdict}" + (f" -> {result['output']}" if result["output"] else ""))
    for check_id, check in result["checks"].items():
        if not check["passed"]:
            print(f"  {check_id}: {check['message']['en']} / {check['message']['zh']} "
                  f"(value {json.dumps(check['value'])}, limit {json.dumps(check['limit'])})")


def run(args: argparse.Namespace) -> int:
    from appliance.quality.checker import PhotoChecker
    from appliance.quality.models import ModelError

    config = load_config(args.config)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            print(f"check-photo: --out {out_dir}: {error.strerror}", file=sys.stderr)
            return 2
        if not out_dir.is_dir():
            print(f"check-photo: --out {out_dir}: not a folder", file=sys.stderr)
            return 2
    try:
        checker = PhotoChecker(config.quality)
    except ModelError as error:
        print(f"check-photo: {error}", file=sys.stderr)
        return 2
    results = [_check_one(checker, config.output, Path(name), out_dir) for name in args.files]
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            _print_text(result)
    return 0 if all(result["accepted"] for result in results) else 1
