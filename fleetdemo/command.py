"""``booth demo``: run a whole simulated class (see ``fleetdemo.demo``)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from appliance.app import build_booth
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.quality.checker import PhotoChecker
from appliance.service import BoothService
from appliance.ui.factory import display_for
from boothcore.config import ensure_folder
from central.embedded import EmbeddedCentral
from fleetdemo.demo import ClassScript, DemoSummary, default_data_dir, demo_roster, demo_run

UPLOAD_WAIT_S = 60.0  # --until-done waits this long for the last photos to reach central

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run a simulated class on embedded defaults")
    parser.add_argument("--students", type=int, default=12, metavar="N", help="class size (default 12)")
    parser.add_argument("--headless", action="store_true", help="no window")
    parser.add_argument("--until-done", action="store_true", help="exit 0 when the class is closed")
    parser.add_argument("--data", metavar="DIR", help="data folder (default: a new temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line at the end")
    parser.add_argument("--countdown", type=float, metavar="S",
                        help="countdown seconds (default 3 with a window, 0.3 headless)")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    if args.students < 5:
        print("booth demo: --students must be at least 5 (the script shows refusals between students)",
              file=sys.stderr)
        return 2
    root = Path(args.data) if args.data else default_data_dir()
    windowed = not args.headless
    countdown = args.countdown if args.countdown is not None else (3.0 if windowed else 0.3)
    config = load_config(None, {
        "booth": {"data_dir": str(root / "booth")},
        "hours": {"enforce": False},
        "capture": {"countdown_s": countdown, "message_timeout_s": 4.0 if windowed else 1.0},
        "hardware": {"screen": "auto" if windowed else "headless", "gpio": "simulated",
                     "camera": "simulated", "card_reader": "simulated"},
    })
    ensure_folder(root, "--data")
    checker = PhotoChecker(config.quality)  # missing models stop the demo before anything starts
    with EmbeddedCentral(root) as central:
        store = central.open_store()
        parts = build_booth(config, display=display_for(config.hardware), camera=SimulatedCamera(),
                            reader=SimulatedCardReader(), checker=checker)
        run = demo_run(parts.roster)
        students, excluded = demo_roster(args.students, config.booth.graduation_year, run)
        print(f"booth demo: {args.students} students of {students[0].class_name}, data in {root}"
              + (f" (run {run} there)" if run > 1 else ""), file=sys.stderr)
        store.import_roster([*students, *excluded.values()])
        parts.roster.upsert([*students, *excluded.values()])
        service = BoothService(parts, broker_url=central.url)
        script = ClassScript(parts, service.loop, service.panel, students, excluded,
                             pace_s=0.6 if windowed else 0.06)
        threading.Thread(target=script.run, name="demo-class", daemon=True).start()
        print(f"booth demo: central broker {central.url}", file=sys.stderr)

        reported: list[DemoSummary] = []

        def finished() -> bool:
            """Runs on the loop's thread: report the class once its photos reached central."""
            if script.error is not None:
                return True
            if not script.done.is_set():
                return False
            if not reported:
                if service.uplink.backlog() and time.monotonic() < script.done_at + UPLOAD_WAIT_S:
                    return False
                script.summary.uploaded = len(store.photos(college=students[0].college,
                                                           class_name=students[0].class_name))
                reported.append(script.summary)
                print_summary(script.summary, as_json=args.json)
                if not args.until_done:
                    print("booth demo: the booth and the central office keep running; Ctrl-C to stop",
                          file=sys.stderr)
            return bool(args.until_done)

        signal.signal(signal.SIGTERM, lambda *_: service.loop.stop())
        with contextlib.suppress(KeyboardInterrupt):
            service.run(until=finished)
    if script.error is not None:
        print(f"booth demo: the simulated class failed: {script.error}", file=sys.stderr)
        return 1
    if not reported:
        print("booth demo: stopped before the class was done", file=sys.stderr)
        return 1
    return 0 if reported[0].uploaded == reported[0].photographed else 1


def print_summary(summary: DemoSummary, *, as_json: bool) -> None:
    if as_json:
        print(summary.to_json(), flush=True)
        return
    refused = ", ".join(f"{k} {v}" for k, v in sorted(summary.refused.items()))
    kept = ", ".join(f"{k} {v}" for k, v in sorted(summary.kept.items())) or "none"
    print(f"class done: {summary.photographed}/{summary.students} photographed, {summary.retakes} retakes, "
          f"kept despite a warning: {kept}, "
          f"refused {sum(summary.refused.values())} ({refused}), fee {summary.fee_cny:.2f} CNY, "
          f"{summary.uploaded} stored at central; photos in {summary.photos_dir}", flush=True)
