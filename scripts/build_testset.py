"""Build the labelled quality test set (PNG + labels.json) from the simulated scene.

    .venv/bin/python scripts/build_testset.py OUT_DIR [--size 960x1280] [--clean 6] [--fault-subjects 0,1]

Real faces (scikit-image's astronaut, cut out with the booth's own models), each fault alone on
each fault subject, and several clean students. ``build_testset`` is importable for tests.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.simulation.testset import build_testset

__all__ = ["build_testset", "main"]


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT") from None
    if width < 64 or height < 64:
        raise argparse.ArgumentTypeError(f"{text}: at least 64x64")
    return width, height


def _subjects(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--size", type=_size, default=(960, 1280), help="frame WIDTHxHEIGHT (960x1280)")
    parser.add_argument("--clean", type=int, default=6, help="number of clean students (6)")
    parser.add_argument("--fault-subjects", type=_subjects, default=[0, 1],
                        help="students each fault is shown on (0,1)")
    args = parser.parse_args(argv)
    labels = build_testset(args.out_dir, args.size, range(max(0, args.clean)), args.fault_subjects)
    failing = sum(1 for checks in labels.values() if checks)
    print(f"{len(labels)} images ({len(labels) - failing} clean, {failing} with a fault) in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
