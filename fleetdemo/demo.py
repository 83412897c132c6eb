"""``booth demo``: a whole simulated class at a simulated booth, on embedded defaults.

A scripted class monitor swipes each student's card; each student presses the (mock GPIO) button;
some first photos have a fault the checks must catch, so the student retakes; a few refused cards
(not on the roster, excluded by the notice, a bad number), a second card mid-cycle and a re-swipe
of a student already photographed show the refusals. The operator closes the class and confirms
the payment. Every accepted photo is saved as the CHSI file.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from appliance.cardreader.base import IdentityCard
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.flow.events import OperatorAction, OperatorCommand
from appliance.flow.states import State
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.hardware.gpio import BoothPanel
from appliance.ledger import Ledger, Verdict
from appliance.parts import BoothParts
from appliance.runtime import BoothLoop
from appliance.simulation.panel import press
from appliance.simulation.roster_gen import (
    DEMO_COLLEGE,
    card_for,
    excluded_people,
    generate_roster,
    stranger_card,
)
from boothcore import db
from boothcore.cardkind import CardKind
from boothcore.roster import RosterEntry

log = logging.getLogger(__name__)

# Faults a student's first photo shows, in turn (each must be caught by the checks, then retaken).
FIRST_TRY_FAULTS = (("blur",), ("dark_glasses",), ("greyscale",))
RETAKE_EVERY = 4  # every fourth student needs a retake
# The third student is lit from one side: "lighting" is a "confirm" check ([quality.severity]), a
# retake would not fix the light, so the operator reads the warning and keeps the photo (the ledger
# names the check it was kept despite).
KEPT_WARNING = (2, ("uneven_lighting",))


@dataclass
class DemoSummary:
    students: int
    booth: str = ""
    swiped: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    photographed: int = 0
    retakes: int = 0
    kept: dict[str, int] = field(default_factory=dict)  # photos the operator kept despite a check, per check
    fee_cny: float = 0.0
    missing: int = 0
    photos_dir: str = ""
    seconds: float = 0.0
    uploaded: int | None = None  # photos central acknowledged, by the booth's ledger
    restarts: int = 0  # times the demo switched this booth off and on (booth 2 of a fleet: once)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


class StateWaiter:
    """Lets the scripted people wait for the booth (which runs on the main thread) to reach a state."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._history: list[State] = []

    def __call__(self, previous: State, state: State) -> None:
        with self._cond:
            self._history.append(state)
            self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self._history)

    def wait(self, since: int, *states: State, timeout: float = 60.0) -> State:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for state in self._history[since:]:
                    if state in states:
                        return state
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"booth did not reach {', '.join(states)} (now {self._history[-1:]})")
                self._cond.wait(remaining)


class ClassScript:
    """The monitor, the students and the operator of one class, as a thread."""

    def __init__(self, parts: BoothParts, loop: BoothLoop, panel: BoothPanel, students: list[RosterEntry],
                 excluded: dict[str, RosterEntry], pace_s: float) -> None:
        self.parts = parts
        self.loop = loop
        self.panel = panel
        self.students = students
        self.excluded = excluded
        self.pace_s = pace_s
        self.waiter = StateWaiter()
        self.waiter(parts.booth.state, parts.booth.state)
        parts.booth.listeners.append(self.waiter)
        # The demo plays the class through the simulation's camera and card reader.
        assert isinstance(parts.camera, SimulatedCamera) and isinstance(parts.reader, SimulatedCardReader)
        self.camera = parts.camera
        self.reader = parts.reader
        self.summary = DemoSummary(students=len(students))
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.done_at = 0.0
        self.session_id = ""  # the class's session, once closed

    # ---- the people
    def _react(self) -> None:
        """A person reads the new screen before acting on it (the booth ignores quicker input)."""
        time.sleep(self.pace_s + self.parts.config.capture.input_guard_s)

    def _operator(self, action: OperatorAction, **args: Any) -> None:
        self._react()
        self.loop.inbox.post(OperatorCommand(action, pin=self.parts.config.operator.pin, args=args))

    def _swipe(self, card: IdentityCard) -> int:
        mark = self.waiter.mark()
        self.summary.swiped += 1
        self.reader.present(card)
        return mark

    def _press(self) -> int:
        self._react()
        mark = self.waiter.mark()
        press(self.panel)
        return mark

    def _refused_card(self, card: IdentityCard) -> None:
        self.waiter.wait(self._swipe(card), State.REFUSED)
        self.waiter.wait(self._press(), State.IDLE)

    def _student(self, index: int, entry: RosterEntry, first_faults: tuple[str, ...]) -> None:
        self.camera.set_subject(index, frozenset(first_faults))
        self.waiter.wait(self._swipe(card_for(entry)), State.READY)
        mark = self._press()
        booth = self.parts.booth
        for _ in range(self.parts.config.capture.retake_limit):
            self.waiter.wait(mark, State.REVIEW)
            cycle = booth.cycle
            report = cycle.report if cycle is not None else None
            if report is not None and report.accepted:
                self.waiter.wait(self._press(), State.SAVED)
                self.waiter.wait(self._press(), State.IDLE)
                return
            if report is not None and report.verdict == "confirm":
                # Only "confirm" warnings: the operator reads them and keeps the photo.
                mark = self.waiter.mark()
                self._operator(OperatorAction.ALLOW)
                self.waiter.wait(mark, State.SAVED)
                self.waiter.wait(self._press(), State.IDLE)
                return
            self.camera.set_subject(index, frozenset())  # the student takes the glasses off, sits still ...
            mark = self._press()
        log.warning("demo: student %d used every attempt without a compliant photo", index + 1)
        self.waiter.wait(mark, State.IDLE, timeout=self.parts.config.capture.review_timeout_s + 5)

    def _second_card_mid_cycle(self, first: RosterEntry, second: RosterEntry, index: int) -> None:
        """The monitor swipes the next card before the first student sat down: the first cycle ends."""
        self.camera.set_subject(index, frozenset())
        self.waiter.wait(self._swipe(card_for(first)), State.READY)
        self._student(index + 1, second, ())

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by the demo command, never swallowed
            self.error = error
        finally:
            self.done_at = time.monotonic()
            self.done.set()

    def _run(self) -> None:
        started = time.monotonic()
        first, *_ = self.students
        state = self.waiter.wait(0, State.NO_SESSION, State.IDLE, State.SUMMARY)
        if state is State.SUMMARY:  # stopped at an unpaid class summary: the operator ends it
            mark = self.waiter.mark()
            self._operator(OperatorAction.CONFIRM_PAYMENT)
            state = self.waiter.wait(mark, State.NO_SESSION, State.IDLE)
        photographed = self._photographed_in_open_class() if state is State.IDLE else None
        if photographed is None:
            if state is State.IDLE:
                # An earlier demo on this data folder was stopped with another class open: the operator closes it.
                self._close_class(collect=False)
            mark = self.waiter.mark()
            self._operator(OperatorAction.OPEN_CLASS, college=first.college, class_name=first.class_name)
            self.waiter.wait(mark, State.IDLE)
            self._photograph_class(set())
        else:
            # This booth was switched off in the middle of this class: the script goes on where the
            # restart left it, the refusals and first-photo faults of the students still to come included.
            log.info("demo: resuming the class, %d of %d photographed before the restart",
                     len(photographed), len(self.students))
            self._photograph_class(photographed)
        # A student comes back although photographed already: the operator says no.
        mark = self._swipe(card_for(first))
        self.waiter.wait(mark, State.CONFIRM)
        self._operator(OperatorAction.DENY)
        self.waiter.wait(mark, State.IDLE)
        self._close_class(collect=True)
        self.summary.seconds = round(time.monotonic() - started, 2)

    def _photograph_class(self, photographed: set[str]) -> None:
        """Every student not in ``photographed`` (ID numbers) once, some first photos faulty, and the
        refusals scripted before each of them (a restarted booth repeats those of the student it was
        switched off before)."""
        first = self.students[0]
        bad_number = IdentityCard(kind=CardKind.RESIDENT, id_number=first.id_number[:-1] + (
            "0" if first.id_number[-1] != "0" else "1"))
        refusals = {2: [stranger_card()], 5: list(map(card_for, self.excluded.values())), 8: [bad_number]}
        index = 0
        while index < len(self.students):
            if self.students[index].id_number in photographed:
                index += 1
                continue
            for card in refusals.get(index, []):
                self._refused_card(card)
            if index == 3 and index + 1 < len(self.students) and \
                    self.students[index + 1].id_number not in photographed:
                self._second_card_mid_cycle(self.students[index], self.students[index + 1], index)
                index += 1  # the first of the two comes back below
                self._student(index - 1, self.students[index - 1], ())
                index += 1
                continue
            faults = FIRST_TRY_FAULTS[(index // RETAKE_EVERY) % len(FIRST_TRY_FAULTS)] \
                if index % RETAKE_EVERY == 1 else KEPT_WARNING[1] if index == KEPT_WARNING[0] else ()
            self._student(index, self.students[index], faults)
            index += 1

    def _own_ledger(self) -> Ledger:
        """A ledger on this thread's own connection (SQLite objects stay on the thread that made them)."""
        return Ledger(db.connect(self.parts.config.data_dir / "booth.db"), self.parts.config.booth.id)

    def _photographed_in_open_class(self) -> set[str] | None:
        """The ID numbers photographed in the open session if it is this script's class, else None."""
        session = self.parts.booth.session
        first = self.students[0]
        if session is None or (session.college, session.class_name) != (first.college, first.class_name):
            return None
        ledger = self._own_ledger()
        try:
            return {capture.id_number for capture in ledger.accepted_in_session(session.id)}
        finally:
            ledger.conn.close()

    def _close_class(self, *, collect: bool) -> None:
        mark = self.waiter.mark()
        self._operator(OperatorAction.CLOSE_SESSION)
        self.waiter.wait(mark, State.SUMMARY)
        if collect:
            self._collect()
        summary = self.parts.booth.summary
        if summary is not None and not summary.asks_class_fee:
            return  # nobody photographed: nothing to pay; the next class opened puts the summary away
        time.sleep(self.pace_s * 4)
        mark = self.waiter.mark()
        self._operator(OperatorAction.CONFIRM_PAYMENT)
        self.waiter.wait(mark, State.NO_SESSION, State.CLOSED)

    def _collect(self) -> None:
        booth = self.parts.booth
        ledger = self._own_ledger()
        summary = booth.summary
        assert summary is not None
        session_id = self.session_id = summary.session.id
        self.summary.refused = ledger.refusals(session_id)
        self.summary.photographed = summary.photographed
        self.summary.fee_cny = summary.fee_cny
        self.summary.missing = len(summary.missing)
        # A refused attempt the operator then kept is not a retake (its attempt has an accepted row too).
        rows = ledger.conn.execute(
            "SELECT COUNT(*) FROM captures AS c WHERE session_id = ? AND verdict = ? AND NOT EXISTS"
            " (SELECT 1 FROM captures AS k WHERE k.session_id = c.session_id AND k.id_number = c.id_number"
            " AND k.attempt = c.attempt AND k.verdict = ?)",
            (session_id, Verdict.REJECTED.value, Verdict.ACCEPTED.value)).fetchone()
        self.summary.retakes = rows[0]
        kept = ledger.conn.execute("SELECT failed_checks FROM captures WHERE session_id = ? AND verdict = ?",
                                   (session_id, Verdict.ACCEPTED.value)).fetchall()
        self.summary.kept = dict(Counter(check for (checks,) in kept for check in json.loads(checks)))
        self.summary.photos_dir = str(booth.photo_dir)
        ledger.conn.close()


# One college per booth of a demo fleet, as (college, major): booth 1 photographs 计算机学院 as the
# single-booth demo always has; each further booth a class of another college of the same roster.
FLEET_COLLEGES = ((DEMO_COLLEGE, "计算机"), ("外国语学院", "英语"), ("机械工程学院", "机械"), ("经济管理学院", "会计"),
                  ("数学学院", "数学"), ("化学化工学院", "化学"), ("物理学院", "物理"), ("生命科学学院", "生物"))
MAX_BOOTHS = len(FLEET_COLLEGES)


@dataclass(frozen=True)
class DemoClass:
    """The class one booth of the demo photographs: its regular students and the people the notice
    excludes (keyed by the eligibility reason that refuses them)."""

    booth_id: str
    students: list[RosterEntry]
    excluded: dict[str, RosterEntry]

    @property
    def college(self) -> str:
        return self.students[0].college

    @property
    def class_name(self) -> str:
        return self.students[0].class_name

    def entries(self) -> list[RosterEntry]:
        return [*self.students, *self.excluded.values()]


def booth_id_for(index: int) -> str:
    """``booth-01`` for the first booth (the booth's default id), ``booth-02`` ... after it."""
    return f"booth-{index + 1:02d}"


def demo_classes(booths: int, students: int, graduation_year: int, run: int = 1) -> list[DemoClass]:
    """The classes of the ``run``-th demo on one data folder (1, 2, ...), one per booth, from one
    roster: every run photographs new classes (…2023-1班, then -2班), so a re-run finds nobody
    photographed already. Deterministic, so a booth process rebuilds its own class from the same
    arguments; no ID number repeats across the classes."""
    used: set[str] = set()
    classes = []
    for index, (college, major) in enumerate(FLEET_COLLEGES[:booths]):
        class_name = f"{major}2023-{run}班"
        seed = 1000 * index  # booth 1 keeps the seeds the single-booth demo always had
        classes.append(DemoClass(
            booth_id=booth_id_for(index),
            students=generate_roster(students, graduation_year=graduation_year, college=college,
                                     class_name=class_name, seed=2026 + run + seed, used=used),
            excluded=excluded_people(graduation_year=graduation_year, college=college, class_name=class_name,
                                     seed=7 + seed, used=used)))
    return classes


def default_data_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="booth-demo-"))
