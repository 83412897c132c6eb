"""Software time per student in the simulated booth flow, from swipe to saved file.

Counts only the time the booth itself spends handling the student's events (card read, button,
capture + checks + review, save: crop, JPEG, atomic write, ledger), not the countdown or the
people. The countdown's preview frames are timed separately. Median over N students (default 50).

    .venv/bin/python bench/booth_cycle.py [--students 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from appliance.app import build_booth
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.flow.events import ButtonPressed, CardPresented, OperatorAction, OperatorCommand, Tick
from appliance.flow.states import State
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.simulation.roster_gen import card_for, generate_roster
from appliance.ui.headless_display import HeadlessDisplay


class PrerenderedCamera:
    """Serves frames the simulated sensor rendered before the timed loop.

    Rendering a synthetic scene (about 200 ms) stands in for the sensor's readout, which on the
    Pi happens in the camera pipeline, not in the booth's software: it is not what is measured.
    """

    def __init__(self, students: int) -> None:
        sensor = SimulatedCamera()
        sensor.start()
        started = time.perf_counter()
        self.frames = []
        for index in range(students):
            sensor.set_subject(index, frozenset())
            self.frames.append((sensor.preview_frame(), sensor.capture()))
        self.render_ms = (time.perf_counter() - started) * 1000 / students
        sensor.close()
        self.index = 0

    def set_subject(self, index: int) -> None:
        self.index = index

    def start(self) -> None:
        pass

    def preview_frame(self):
        return self.frames[self.index][0]

    def capture(self):
        return self.frames[self.index][1]

    def close(self) -> None:
        self.frames.clear()


class BenchClock:
    """Wall time plus a jump, so the countdown can end without sleeping through it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-booth-"))
    config = load_config(None, {"booth": {"data_dir": str(data)}, "hours": {"enforce": False}})
    students = generate_roster(args.students, graduation_year=config.booth.graduation_year)
    camera = PrerenderedCamera(args.students)
    parts = build_booth(config, display=HeadlessDisplay(), camera=camera, reader=SimulatedCardReader())
    parts.roster.upsert(students)
    booth = parts.booth
    clock = BenchClock()
    booth.clock = clock
    booth.handle(OperatorCommand(OperatorAction.OPEN_CLASS, pin=config.operator.pin,
                                 args={"college": students[0].college, "class_name": students[0].class_name}))

    def timed(event) -> float:
        started = time.perf_counter()
        booth.handle(event)
        return time.perf_counter() - started

    per_student, preview = [], []
    for index, entry in enumerate(students):
        camera.set_subject(index)
        spent = timed(CardPresented(card_for(entry)))
        clock.offset += config.capture.input_guard_s  # the student reads the screen (a jump, not timed)
        spent += timed(ButtonPressed())
        for _ in range(3):  # preview frames during the countdown (timed apart)
            preview.append(timed(Tick()))
        clock.offset += config.capture.countdown_s
        spent += timed(Tick())  # capture, checks, review screen
        if booth.state is not State.REVIEW or booth.cycle.report.verdict == "rejected":
            raise SystemExit(f"student {index}: the clean photo was refused: {booth.cycle.report.failed()}")
        clock.offset += config.capture.input_guard_s
        # Crop, encode, atomic write, ledger: on the student's button, or on the operator's keep when
        # only "confirm" warnings remain (the simulated student's hair over her ears).
        spent += timed(ButtonPressed() if booth.cycle.report.accepted else
                       OperatorCommand(OperatorAction.ALLOW, pin=config.operator.pin))
        if booth.state is not State.SAVED:
            raise SystemExit(f"student {index}: not saved ({booth.state})")
        per_student.append(spent)
        clock.offset += config.capture.message_timeout_s + 0.1
        booth.handle(Tick())
    parts.close()
    ms = [s * 1000 for s in per_student]
    print(f"booth cycle, {len(ms)} students, swipe to saved file (software only, no countdown):")
    print(f"  median {statistics.median(ms):.1f} ms   p90 {statistics.quantiles(ms, n=10)[-1]:.1f} ms   "
          f"min {min(ms):.1f} ms   max {max(ms):.1f} ms   (target < 300 ms)")
    print(f"  (not counted: the simulated sensor renders a scene in {camera.render_ms:.0f} ms)")
    print(f"  preview frame during the countdown (frame + guidance + view): median "
          f"{statistics.median(preview) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
