"""The real booth, for the kill test: start (with its crash clean-up), settle a summary left by a
crash, photograph students, close the class; killed by SIGKILL at an aimed point or at random.

    python booth_kill_driver.py --data DIR --frames FRAMES.npz --students N [--die-at POINT]

Everything is the booth's own code (build_booth, the state machine, the real checks, the CHSI
writer, the ledger); only the sensor replays frames the simulated camera rendered once (the
hardware edge), and the clock jumps over the countdown and the input guard instead of sleeping.
Each photographed class is closed; without --die-at its payment is confirmed.

--die-at photo-written  SIGKILL right after the photo file is written, before its ledger row
--die-at folder-made    SIGKILL after the photo's folder is made, before its temp file
--die-at rename         SIGKILL inside the atomic write, before the temp file is renamed
--die-at summary        SIGKILL as soon as the class summary is on screen
Prints ``STARTED <state> <session_id or ->`` after the start and ``DONE`` at the end; logs on stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from appliance.app import ChsiPhotoOutput, build_booth
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.flow.events import ButtonPressed, CardPresented, OperatorAction, OperatorCommand, Tick
from appliance.flow.states import State
from appliance.simulation.roster_gen import card_for, generate_roster
from appliance.ui.headless_display import HeadlessDisplay
from boothcore import durable

GRADUATION_YEAR = 2027
ROSTER_SIZE = 60


class ReplayCamera:
    """The sensor edge: frames rendered once by the simulated camera, served again."""

    def __init__(self, frames: Path) -> None:
        with np.load(frames) as data:
            self.preview, self.still = data["preview"], data["still"]

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def preview_frame(self) -> np.ndarray:
        return self.preview.copy()

    def capture(self) -> np.ndarray:
        return self.still.copy()


class JumpClock:
    """Wall time plus jumps: the countdown and the people's reading time pass without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def aim(point: str | None, booth) -> None:
    if point == "photo-written":
        write = ChsiPhotoOutput.__call__

        def write_then_die(self, *args):
            write(self, *args)
            die()

        ChsiPhotoOutput.__call__ = write_then_die  # type: ignore[method-assign]
    elif point == "folder-made":
        durable.tempfile.mkstemp = lambda *args, **kwargs: die()  # type: ignore[assignment]
    elif point == "rename":
        durable.os.replace = lambda *args: die()  # type: ignore[assignment]
    elif point == "summary":
        booth.listeners.append(lambda previous, state: die() if state is State.SUMMARY else None)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--frames", type=Path, required=True)
    parser.add_argument("--students", type=int, default=2)
    parser.add_argument("--die-at", choices=("photo-written", "folder-made", "rename", "summary"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(None, {"booth": {"data_dir": str(args.data), "graduation_year": GRADUATION_YEAR},
                                "hours": {"enforce": False}})
    parts = build_booth(config, display=HeadlessDisplay(), camera=ReplayCamera(args.frames),
                        reader=SimulatedCardReader())
    students = generate_roster(ROSTER_SIZE, graduation_year=GRADUATION_YEAR)
    parts.roster.upsert(students)
    booth, capture = parts.booth, config.capture
    clock = booth.clock = JumpClock()
    summary = booth.summary.session.id if booth.summary else "-"
    print(f"STARTED {booth.state.value} {summary}", flush=True)

    def act(event) -> State:
        clock.offset += capture.input_guard_s + 0.01  # a person reads the screen first
        booth.handle(event)
        return booth.state

    def operator(action: OperatorAction, **kwargs) -> State:
        return act(OperatorCommand(action, pin=config.operator.pin, args=kwargs))

    while booth.state is State.SUMMARY:  # a class closed before a crash, its fee not settled
        operator(OperatorAction.CONFIRM_PAYMENT)
    aim(args.die_at, booth)
    if args.students:
        first = students[0]
        if booth.session is None:  # else: the class a kill interrupted goes on
            assert operator(OperatorAction.OPEN_CLASS, college=first.college,
                            class_name=first.class_name) is State.IDLE
        waiting = [entry for entry in students if not parts.ledger.accepted_for(entry.id_number)]
        for entry in waiting[:args.students]:
            assert act(CardPresented(card_for(entry))) is State.READY, booth.state
            assert act(ButtonPressed()) is State.COUNTDOWN
            clock.offset += capture.countdown_s
            booth.handle(Tick())
            assert booth.state is State.REVIEW and booth.cycle.report.verdict != "rejected", booth.state
            # The simulated student's hair over her ears is a "confirm" warning: the operator keeps it.
            keep = act(ButtonPressed()) if booth.cycle.report.accepted else operator(OperatorAction.ALLOW)
            assert keep is State.SAVED
            clock.offset += capture.message_timeout_s
            booth.handle(Tick())
        assert operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
        assert operator(OperatorAction.CONFIRM_PAYMENT) is not State.SUMMARY
    parts.close()
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
