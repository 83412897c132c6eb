"""``booth demo``: K simulated booths and the central office with its dashboard, on one machine.

Booth 1 runs in this process (with the window when there is a display), booths 2..K as their own
processes (``fleetdemo.fleet``); each photographs a class of another college from one roster
(``fleetdemo.demo``). The office (``fleetdemo.office``) is a local mosquitto on a free port, the
ingest and the dashboard at a printed URL.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from appliance.config import MAX_COUNTDOWN_S
from appliance.quality.checker import PhotoChecker
from boothcore.cli import number_in
from boothcore.config import ensure_folder
from boothcore.money import cny
from boothcore.text import counted
from fleetdemo.booth import BoothRun, booth_config, run_demo_booth
from fleetdemo.demo import MAX_BOOTHS, DemoClass, DemoSummary, default_data_dir, demo_classes
from fleetdemo.fleet import FurtherBooths
from fleetdemo.office import ADMIN, DemoOffice

# The script shows refusals between the first students; student numbers are the year and 4 digits.
MIN_STUDENTS, MAX_STUDENTS = 5, 9999
FLEET_WAIT_S = 600.0  # --until-done: after booth 1's class, how long the further booths may take to finish


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run simulated booths and the central office on embedded defaults")
    parser.add_argument("--booths", type=number_in(1, MAX_BOOTHS, integer=True), default=1, metavar="K",
                        help=f"simulated booths, each with a class of another college (1 to {MAX_BOOTHS}, default 1)")
    parser.add_argument("--students", type=number_in(MIN_STUDENTS, MAX_STUDENTS, integer=True), default=12,
                        metavar="N", help=f"class size ({MIN_STUDENTS} to {MAX_STUDENTS}: the script shows refusals "
                                          "between the first students; default 12)")
    parser.add_argument("--headless", action="store_true", help="no window")
    parser.add_argument("--until-done", action="store_true",
                        help="exit when every class is closed and every photo stored (0 when all arrived)")
    parser.add_argument("--data", metavar="DIR", help="data folder (default: a new temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line at the end")
    parser.add_argument("--countdown", type=number_in(0, MAX_COUNTDOWN_S, above_low=True, unit="seconds"),
                        metavar="S", help=f"countdown seconds (more than 0, up to {MAX_COUNTDOWN_S:g}; default 3 with "
                                          "a window, 0.3 headless)")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    root = Path(args.data) if args.data else default_data_dir()
    windowed = not args.headless
    countdown = args.countdown if args.countdown is not None else (3.0 if windowed else 0.3)
    ensure_folder(root, "--data")
    first = BoothRun(data_dir=root / "booth", broker_url="", windowed=windowed, countdown_s=countdown,
                     until_done=args.until_done)
    config = booth_config(first, "booth-01")
    checker = PhotoChecker(config.quality)  # missing models stop the demo before anything starts
    summaries: list[DemoSummary] = []
    lock = threading.Lock()

    def on_summary(summary: DemoSummary) -> None:
        with lock:
            summaries.append(summary)
            if not args.json:
                print_summary(summary)
            if not args.until_done and len(summaries) == args.booths:
                print("booth demo: the booths and the central office keep running; Ctrl-C to stop",
                      file=sys.stderr, flush=True)

    with DemoOffice(root) as office:
        run = office.next_run()
        classes = demo_classes(args.booths, args.students, config.booth.graduation_year, run)
        office.import_roster(classes)
        print(f"booth demo: {args.booths} booth(s), {args.students} students a class ("
              + ", ".join(f"{c.booth_id} {c.college} {c.class_name}" for c in classes)
              + f"), data in {root}" + (f" (run {run} there)" if run > 1 else ""), file=sys.stderr)
        print(f"booth demo: central broker {office.broker_url}", file=sys.stderr, flush=True)
        # Once, set apart from the log: with --json stdout carries only the summary line.
        print(office_block(office), file=sys.stderr if args.json else sys.stdout, flush=True)
        fleet = FurtherBooths(office, classes, root, students=args.students, run=run,
                              graduation_year=config.booth.graduation_year, countdown_s=countdown,
                              until_done=args.until_done, on_summary=on_summary).start()
        try:
            done = run_demo_booth(classes[0], BoothRun(data_dir=first.data_dir, broker_url=office.broker_url,
                                                       windowed=windowed, countdown_s=countdown,
                                                       until_done=args.until_done), checker, on_summary)
            if done is not None and args.until_done:
                fleet.join(FLEET_WAIT_S)
        except KeyboardInterrupt:  # Ctrl-C (booth-01 has stopped): the rest stop in order below
            pass
        except Exception as error:
            print(f"booth demo: the simulated class of booth-01 failed: {error}", file=sys.stderr)
            return 1
        finally:
            # Booths first (each publishes its offline status), then the ingest and the dashboard
            # (leaving the office), the broker last: Ctrl-C does not reach it (its own session).
            print("booth demo: stopping the booths, then the central office and its broker", file=sys.stderr,
                  flush=True)
            fleet.stop()
        central = central_counts(office, classes)
    failures = [f"{booth.demo_class.booth_id}: {booth.failure}" for booth in fleet.booths if booth.failure]
    for failure in failures:
        print(f"booth demo: {failure}", file=sys.stderr)
    if args.json:
        print(json_line(summaries, central), flush=True)
    else:
        print(f"central: {counted(central.stored, 'photo')} stored, {counted(central.missing, 'student')} still "
              "missing; "
              f"`booth-central web --config {office.config_file}` opens the dashboard on this store again",
              flush=True)
    if len(summaries) < len(classes):
        print(f"booth demo: {len(classes) - len(summaries)} booth(s) stopped before their class was done",
              file=sys.stderr)
        return 1
    return 0 if not failures and all_arrived(summaries, classes, central) else 1


@dataclass(frozen=True)
class CentralCounts:
    """What central holds for the demo's classes: photos stored per booth's class, students missing."""

    stored_by_booth: dict[str, int]
    missing: int
    dashboard: str
    config: str

    @property
    def stored(self) -> int:
        return sum(self.stored_by_booth.values())

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "stored": self.stored}


def central_counts(office: DemoOffice, classes: list[DemoClass]) -> CentralCounts:
    store = office.open_store()
    try:
        per_class = {c.booth_id: len(store.photos(college=c.college, class_name=c.class_name)) for c in classes}
        missing = sum(len(store.missing(c.college, c.class_name)) for c in classes)
    finally:
        store.close()
    return CentralCounts(stored_by_booth=per_class, missing=missing, dashboard=office.dashboard_url,
                         config=str(office.config_file))


def all_arrived(summaries: list[DemoSummary], classes: list[DemoClass], central: CentralCounts) -> bool:
    """Every booth's photos acknowledged by central and stored there, class by class."""
    by_booth = {s.booth: s for s in summaries}
    return all(c.booth_id in by_booth and by_booth[c.booth_id].photographed == by_booth[c.booth_id].uploaded
               == central.stored_by_booth[c.booth_id] for c in classes)


def office_block(office: DemoOffice) -> str:
    """The dashboard's address and the admin's one-time password, as a block a person notices."""
    rule = "=" * 72
    return "\n".join(["", rule, f"  Dashboard   {office.dashboard_url}", f"  Log in as   {ADMIN}",
                      f"  Password    {office.admin_password}   (one-time: each demo run sets a new one)",
                      rule, ""])


def json_line(summaries: list[DemoSummary], central: CentralCounts) -> str:
    return json.dumps({"booths": [asdict(s) for s in sorted(summaries, key=lambda s: s.booth)],
                       "central": central.to_dict()}, ensure_ascii=False, sort_keys=True)


def print_summary(summary: DemoSummary) -> None:
    refused = ", ".join(f"{k} {v}" for k, v in sorted(summary.refused.items()))
    kept = ", ".join(f"{k} {v}" for k, v in sorted(summary.kept.items())) or "none"
    print(f"{summary.booth}: class done: {summary.photographed}/{summary.students} photographed, "
          f"{summary.retakes} retakes, kept despite a warning: {kept}, "
          f"refused {sum(summary.refused.values())} ({refused}), fee {cny(summary.fee_cny)} CNY, "
          f"{summary.uploaded} acknowledged by central"
          + (f", switched off and on {summary.restarts} time(s)" if summary.restarts else "")
          + f"; photos in {summary.photos_dir}", flush=True)
