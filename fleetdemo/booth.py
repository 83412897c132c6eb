"""One simulated booth of the demo photographing its class, through the same wiring as ``booth run``.

Booth 1 runs in the demo's own process (on the main thread, so it can have the window); each
further booth is its own process, ``python -m fleetdemo.booth``, as on a real fleet: killing one
fires its Will at the broker, and started again on its data folder it resumes its class.
The child prints its ``DemoSummary`` as one JSON line on standard output when its class is done.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.app import build_service
from appliance.config import BoothConfig, load_config
from appliance.ledger import Ledger
from appliance.quality.checker import PhotoChecker
from boothcore.cli import run_command
from fleetdemo.demo import MAX_BOOTHS, ClassScript, DemoClass, DemoSummary, demo_classes

UPLOAD_WAIT_S = 60.0  # --until-done waits this long for the last photos to reach central
DEMO_WILL_DELAY_S = 1  # uplink.will_delay_s of the demo's booths: a kill shows on the dashboard at once

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoothRun:
    """How one demo booth runs: where, against which broker, how fast, and until when."""

    data_dir: Path
    broker_url: str
    windowed: bool
    countdown_s: float
    until_done: bool


def booth_config(run: BoothRun, booth_id: str) -> BoothConfig:
    """The embedded defaults with simulated hardware, the demo's pace and no opening hours."""
    return load_config(None, {
        "booth": {"id": booth_id, "data_dir": str(run.data_dir)},
        "hours": {"enforce": False},
        "capture": {"countdown_s": run.countdown_s, "message_timeout_s": 4.0 if run.windowed else 1.0},
        "hardware": {"screen": "auto" if run.windowed else "headless", "pin_factory": "mock",
                     "camera": "simulated", "card_reader": "simulated"},
        # The booth switched off mid-class shows offline on the dashboard within this (the default
        # 30 s outlasts its outage: the Will never fired and the dashboard kept it online).
        "uplink": {"will_delay_s": DEMO_WILL_DELAY_S},
    })


def acknowledged(ledger: Ledger, session_id: str) -> int:
    """Photos of the session central has acknowledged (stored), by the booth's own ledger."""
    return sum(1 for capture in ledger.accepted_in_session(session_id) if capture.upload_state == "acked")


def run_demo_booth(demo_class: DemoClass, run: BoothRun, checker: PhotoChecker,
                   on_done: Callable[[DemoSummary], None]) -> DemoSummary | None:
    """Photograph ``demo_class`` on the calling thread; ``on_done`` gets the summary once the class
    is closed and its photos acknowledged (or after UPLOAD_WAIT_S). Returns the summary, or None if
    stopped before. Raises the scripted class's error, if any."""
    config = booth_config(run, demo_class.booth_id)
    service = build_service(config, broker_url=run.broker_url, checker=checker)  # the simulated parts
    parts = service.parts
    parts.roster.upsert(demo_class.entries())
    script = ClassScript(parts, service.loop, service.panel, demo_class.students, demo_class.excluded,
                         pace_s=0.6 if run.windowed else 0.06)
    threading.Thread(target=script.run, name=f"demo-class-{demo_class.booth_id}", daemon=True).start()
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
            summary = script.summary
            summary.booth = demo_class.booth_id
            summary.uploaded = acknowledged(parts.ledger, script.session_id)
            reported.append(summary)
            on_done(summary)
        return run.until_done

    signal.signal(signal.SIGTERM, lambda *_: service.loop.stop())
    with contextlib.suppress(KeyboardInterrupt):
        service.run(until=finished)
    if script.error is not None:
        raise script.error
    return reported[0] if reported else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fleetdemo.booth",
                                     description="one further booth of `booth demo --booths K`")
    parser.add_argument("--index", type=int, required=True, help="this booth's place in the fleet (1 = second)")
    parser.add_argument("--booths", type=int, required=True, choices=range(2, MAX_BOOTHS + 1))
    parser.add_argument("--students", type=int, required=True)
    parser.add_argument("--run", type=int, required=True, help="the demo's run on its data folder")
    parser.add_argument("--graduation-year", type=int, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--countdown", type=float, required=True)
    parser.add_argument("--until-done", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(func=_run_child)
    return parser


def _run_child(args: argparse.Namespace) -> int:
    demo_class = demo_classes(args.booths, args.students, args.graduation_year, args.run)[args.index]
    run = BoothRun(data_dir=args.data, broker_url=args.broker, windowed=False, countdown_s=args.countdown,
                   until_done=args.until_done)
    try:
        run_demo_booth(demo_class, run, PhotoChecker(booth_config(run, demo_class.booth_id).quality),
                       lambda summary: print(summary.to_json(), flush=True))
    except Exception as error:  # the parent names the booth and shows this line
        print(f"{demo_class.booth_id}: the simulated class failed: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """A further booth of the demo fleet (started by ``booth demo``; not a user command)."""
    return run_command(_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
