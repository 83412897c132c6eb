"""``booth demo``: run a whole simulated class (see ``appliance.demo``)."""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from appliance.app import build_booth
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.commands.common import config_from_args
from appliance.demo import ClassScript, default_data_dir, demo_roster
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.hardware.gpio import BoothPanel
from appliance.runtime import BoothLoop, attach_panel, ui_events
from appliance.ui.factory import open_display

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
    args.data = args.data or str(default_data_dir())
    windowed = not args.headless
    countdown = args.countdown if args.countdown is not None else (3.0 if windowed else 0.3)
    config = config_from_args(args, {
        "hours": {"enforce": False},
        "capture": {"countdown_s": countdown, "message_timeout_s": 4.0 if windowed else 1.0},
        "hardware": {"screen": "auto" if windowed else "headless"},
    })
    students, excluded = demo_roster(args.students, config.booth.graduation_year)
    display = open_display(config.hardware.screen)
    parts = build_booth(config, display=display, camera=SimulatedCamera(), reader=SimulatedCardReader())
    parts.roster.upsert([*students, *excluded.values()])
    loop = BoothLoop(parts.booth, parts.reader)
    loop.pump_inputs = ui_events(display, loop)
    panel = BoothPanel(config.hardware, simulated=True)
    attach_panel(loop, panel)
    script = ClassScript(parts, loop, panel, students, excluded, pace_s=0.6 if windowed else 0.06)
    threading.Thread(target=script.run, name="demo-class", daemon=True).start()
    print(f"booth demo: {args.students} students, data in {config.data_dir}", file=sys.stderr)
    try:
        loop.run(until=lambda: script.done.is_set() and (args.until_done or script.error is not None))
    except KeyboardInterrupt:
        pass
    finally:
        panel.close()
        parts.close()
    if script.error is not None:
        print(f"booth demo: the simulated class failed: {script.error}", file=sys.stderr)
        return 1
    if not script.done.is_set():
        print("booth demo: stopped before the class was done", file=sys.stderr)
        return 1
    if args.json:
        print(script.summary.to_json())
    else:
        s = script.summary
        print(f"class done: {s.photographed}/{s.students} photographed, {s.retakes} retakes, refused "
              f"{sum(s.refused.values())} ({', '.join(f'{k} {v}' for k, v in sorted(s.refused.items()))}), "
              f"fee {s.fee_cny:.2f} CNY; photos in {s.photos_dir}")
    return 0
