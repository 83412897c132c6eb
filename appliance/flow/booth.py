"""The booth state machine: one swipe, one photo, of that person.

``Booth.handle(event)`` is the only entry point; it runs on the booth loop's thread. It turns the
event into a ``Trigger`` and runs the handler that ``transitions.TABLE`` names for the current
state; a handler may enter only the states its row lists. A photo is bound to the ``Cycle``
opened by the card read that preceded it: the frame, the checks and the saved file all hang off
that cycle, so a new card (a new cycle) can never inherit another person's photo. Any exception
inside a handler (an undeclared transition included) lands in ERROR, which falls back to idle.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from appliance.cardreader.base import IdentityCard, ReaderUnavailable
from appliance.config import BoothConfig
from appliance.eligibility import MESSAGES, Decision, Eligibility
from appliance.flow import menu_views, views
from appliance.flow.events import (
    ButtonPressed,
    CardPresented,
    Event,
    KeyTapped,
    OfficePhotographed,
    OperatorAction,
    OperatorCalled,
    OperatorCommand,
    ReaderBack,
    ReaderFault,
    RetakePressed,
    Tick,
)
from appliance.flow.health import booth_health
from appliance.flow.operator_menu import (
    BACK,
    CANCEL,
    DELETE,
    DIGIT_KEYS,
    HEALTH,
    LEAVE,
    LIST_PAGE,
    MENU_IDLE_S,
    MORE,
    OK,
    PICK,
    PIN_ATTEMPTS,
    PIN_MAX_DIGITS,
    ClassChoice,
    MenuState,
    Page,
    PinGuard,
)
from appliance.flow.outcomes import (
    BoothFailed,
    CardRefused,
    ClassClosed,
    ClassOpened,
    DomainEvent,
    LinkHealth,
    LiveGuidance,
    OperatorActed,
    PaymentConfirmed,
    PhotoAccepted,
    PhotoMeta,
    PhotoSaved,
    QualityReport,
    RetakeNeeded,
)
from appliance.flow.sessions import ClassSummary, fee_for, summarize
from appliance.flow.states import CYCLE_STATES, KEEPS_CYCLE, OPERATING, SWIPE_STATES, State
from appliance.flow.transitions import BLOCKABLE, CLOSABLE, LOOKUP, Trigger, UndeclaredTransition
from appliance.hardware.camera import Camera, CameraUnavailable
from appliance.hours import ServiceHours
from appliance.ledger import ActionSource, CaptureRecord, Ledger, SessionKind, SessionRecord, Verdict, new_id
from appliance.ui.blocked import CAMERA_MISSING, blocked
from appliance.ui.review import review_fixes, review_image
from appliance.ui.view import Display, View
from boothcore.money import cny
from boothcore.privacy import mask_id, mask_ids_in, mask_name, masked_traceback
from boothcore.roster import Roster, RosterEntry
from boothcore.text import BilingualError, Text

log = logging.getLogger(__name__)

NO_SESSION_MESSAGE = Text("请老师先开始本班拍摄", "The operator must open a class first")
# A card swiped over a screen that waits for the operator (the card is not taken: swipe it again then).
PAY_FIRST = Text("请先完成本次缴费,再刷下一张卡", "Finish this payment first, then swipe the next card")
SESSION_CLOSED = Text("本次拍摄已结束,请老师先开始下一场",
                      "The session is closed: the operator opens the next one first")
WRONG_PIN = Text("密码错误", "Wrong PIN")
# Operator commands that answer what one screen shows (this student, this payment).
SCREEN_BOUND = frozenset({OperatorAction.ALLOW, OperatorAction.DENY, OperatorAction.CONFIRM_PAYMENT,
                          OperatorAction.DEFER_PAYMENT})
OPERATOR_TRIGGERS = {OperatorAction.OPEN_CLASS: Trigger.OPEN, OperatorAction.OPEN_MAKEUP: Trigger.OPEN,
                     OperatorAction.CLOSE_SESSION: Trigger.CLOSE,
                     OperatorAction.CONFIRM_PAYMENT: Trigger.CONFIRM_PAYMENT,
                     OperatorAction.DEFER_PAYMENT: Trigger.DEFER_PAYMENT,
                     OperatorAction.ALLOW: Trigger.ALLOW, OperatorAction.DENY: Trigger.DENY}


class Checker(Protocol):
    def check(self, frame: np.ndarray) -> QualityReport: ...

    def guide(self, preview: np.ndarray) -> LiveGuidance: ...


@dataclass(frozen=True)
class SavedPhoto:
    path: Path
    sha256: str  # of the bytes written, for the ledger (the outbox re-checks the file on disk)


class PhotoOutput(Protocol):
    def __call__(self, frame: np.ndarray, report: QualityReport, id_number: str, folder: Path) -> SavedPhoto: ...


class Office(Protocol):
    """The office link as the flow sees it (``uplink_bridge.UplinkOffice`` on a running booth)."""

    def photo_saved(self, photo: PhotoSaved) -> None:
        """Queue a saved photo for upload; raises when it cannot be queued."""
        ...

    def publish(self, event: DomainEvent) -> None: ...

    def capture_blocked(self) -> Text | None:
        """Why no new photos are taken (a full disk), or None."""
        ...

    def link_problem(self) -> Text | None:
        """Trouble with the office link for the header, or None."""
        ...

    def link_health(self) -> LinkHealth:
        """The broker link and the outbox backlog, for the operator's health page."""
        ...


Listener = Callable[[State, State], None]  # (previous, entered): LEDs, the uplink status, sd_notify


def photo_meta(entry: RosterEntry, capture: CaptureRecord, report: QualityReport | None = None) -> PhotoMeta:
    """What the uplink sends with a photo: the registry key and the class, never the name; and the
    booth's checks of it when ``report`` (the photo's own) is at hand."""
    checks = None if report is None else {
        check_id: {key: found[key] for key in ("passed", "value", "limit")}
        for check_id, found in report.to_json()["checks"].items()}
    return PhotoMeta(id_number=entry.id_number, student_no=entry.student_no, college=entry.college,
                     class_name=entry.class_name, session_id=capture.session_id, attempt=capture.attempt,
                     captured_at=capture.captured_at, sha256=capture.sha256, checks=checks)


@dataclass
class Cycle:
    """One student's turn, from the card read to the saved photo."""

    card: IdentityCard
    entry: RosterEntry
    session_id: str
    id: str = field(default_factory=new_id)
    attempt: int = 0
    frame: np.ndarray | None = field(default=None, repr=False)
    report: QualityReport | None = None
    photo_id: str | None = None
    ready_at: float | None = None  # when this student's READY screen appeared (booth clock, s)
    countdown_pressed_at: float | None = None  # when the press that started the last countdown was made

    def countdown_follows_ready(self) -> bool:
        """True when the last countdown was started by a press made after this student's READY
        screen appeared: only then is the captured person the one whose card opened the cycle."""
        return (self.ready_at is not None and self.countdown_pressed_at is not None
                and self.countdown_pressed_at > self.ready_at)


@dataclass(frozen=True)
class Outcome:
    """What the last finished cycle produced (read by the demo, the bench and the tests)."""

    photo_id: str
    id_number: str
    path: Path
    attempt: int


class Booth:
    def __init__(self, config: BoothConfig, *, camera: Camera, checker: Checker, roster: Roster,
                 ledger: Ledger, display: Display, photo_output: PhotoOutput,
                 office: Office | None = None, listeners: Iterable[Listener] = (),
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self.config = config
        self.camera = camera
        self.checker = checker
        self.roster = roster
        self.ledger = ledger
        self.display = display
        self.photo_output = photo_output
        self.office = office
        self.clock = clock
        self.now = now
        self.hours = ServiceHours(config.hours)
        self.eligibility = Eligibility(roster, ledger, config.booth.graduation_year)
        self.photo_dir = config.data_dir / "photos"
        self.state = State.NO_SESSION
        self.session: SessionRecord | None = next(iter(ledger.open_sessions()), None)
        self.cycle: Cycle | None = None
        self.pending: Decision | None = None
        self.summary: ClassSummary | None = None
        self.deadline: float | None = None
        self.countdown_end: float | None = None
        self.message: Text | None = None
        self.note: Text | None = None  # why a card swiped over the current screen was not taken
        self.last_outcome: Outcome | None = None
        self.listeners: list[Listener] = list(listeners)
        self.status = ""
        self.shown_at = -math.inf  # when the current screen appeared (booth clock, s)
        self.shown_link_problem: Text | None = None
        self.preview: np.ndarray | None = None  # the countdown's live frame, its guidance, its seconds left
        self.guidance: tuple[Text, ...] = ()
        self.seconds_left = 0
        self._allowed: frozenset[State] = frozenset()  # what the running handler may enter
        self.missing: dict[str, Text] = {}  # "reader" / "camera": what is wrong, shown on BLOCKED
        self.menu: MenuState | None = None  # the operator's keypad or menu, while on the screen
        self.pin_guard = PinGuard()  # wrong PINs at the keypad, for the booth's life
        self._run(Trigger.START, None)  # a class closed before a crash, its fee not settled, is shown again

    # ---------------------------------------------------------------- dispatch
    def handle(self, event: Event) -> None:
        """Feed one event; never raises (a failure becomes the ERROR state)."""
        try:
            self._dispatch(event)
        except Exception as error:  # the booth process must not die
            log.error("booth: failure in state %s on %s: %s", self.state, type(event).__name__,
                      masked_traceback(error))
            self._fail(Text("设备故障,请重新刷卡", f"Device fault ({type(error).__name__}): swipe again"),
                       code=type(error).__name__)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, OperatorCommand):
            self._operator(event)
            return
        if isinstance(event, OfficePhotographed):
            self._recount_summary(event.session_id)
            return
        if isinstance(event, ButtonPressed | RetakePressed | KeyTapped):
            at = self.clock() if event.at is None else event.at
            if not self._answers_screen(at, type(event).__name__):
                return
        self._run(self._trigger(event), event)

    def _trigger(self, event: Event) -> Trigger:
        if isinstance(event, Tick):
            now = self.clock()
            if self.state is State.COUNTDOWN:
                over = self.countdown_end is not None and now >= self.countdown_end
                return Trigger.COUNTDOWN_OVER if over else Trigger.TICK
            return Trigger.TIMEOUT if self.deadline is not None and now >= self.deadline else Trigger.TICK
        if isinstance(event, CardPresented):
            return Trigger.CARD
        if isinstance(event, ReaderFault):
            return Trigger.READER_FAULT
        if isinstance(event, ReaderBack):
            return Trigger.READER_BACK
        if isinstance(event, ButtonPressed):
            return Trigger.BUTTON
        if isinstance(event, RetakePressed):
            return Trigger.RETAKE
        if isinstance(event, OperatorCalled):
            return Trigger.CALL_OPERATOR
        if isinstance(event, KeyTapped):
            return Trigger.KEY
        assert isinstance(event, OperatorCommand), "central's news is no trigger of the table (_dispatch)"
        return OPERATOR_TRIGGERS[event.action]

    def _run(self, trigger: Trigger, event: Event | None) -> None:
        """Run the table's handler for ``trigger`` in the current state (none: the trigger is ignored)."""
        transition = LOOKUP.get((self.state, trigger))
        if transition is None:
            return
        outer, self._allowed = self._allowed, transition.targets
        try:
            getattr(self, transition.handler)(event)
        finally:
            self._allowed = outer  # a menu action runs its own row inside the menu's

    # ---------------------------------------------------------------- states
    def _resting_state(self) -> State:
        if self.missing:
            return State.BLOCKED
        if self.session is None:
            open_now = self.hours.is_open("class", self.now()) or self.hours.is_open("makeup", self.now())
            return State.NO_SESSION if open_now else State.CLOSED
        return State.IDLE if self.hours.is_open(self.session.kind, self.now()) else State.CLOSED

    def _enter(self, state: State, timeout: float | None = None) -> None:
        if state not in self._allowed:
            log.error("booth: undeclared transition %s -> %s (see flow/transitions.py)", self.state, state)
            raise UndeclaredTransition(f"{self.state} -> {state}")
        previous, self.state = self.state, state
        self.note = None
        self.shown_at = self.clock()
        self.deadline = self.shown_at + timeout if timeout else None
        if state not in KEEPS_CYCLE:
            self.cycle = None
        if state not in OPERATING:
            self.menu = None
        # The header's class progress changes only between states: not queried per preview frame.
        self.status = self.status_line()
        for listener in self.listeners:  # LEDs and the uplink status follow even if the screen fails
            listener(previous, state)
        self._render()

    def _rest(self) -> None:
        self.cycle = None
        self.pending = None
        self._enter(self._resting_state())

    def _show_message(self, state: State, message: Text) -> None:
        self.message = message
        self._enter(state, self.config.capture.message_timeout_s)

    def _fail(self, message: Text, code: str) -> None:
        try:
            self._discard_cycle()
            self._publish(BoothFailed(code=code, message=message.en))
        except Exception:
            log.exception("booth: cannot record the failure")
        self.cycle = None
        self._allowed = frozenset({State.ERROR})  # the failsafe: reachable from any state
        try:
            self._show_message(State.ERROR, message)
        except Exception:  # a broken display must not take the loop down either
            log.exception("booth: cannot show the error screen")
            self.state, self.shown_at = State.ERROR, self.clock()
            self.deadline = self.shown_at + self.config.capture.message_timeout_s
        finally:
            self._allowed = frozenset()

    def _start(self, _event: None) -> None:
        try:  # the camera may have failed to open before the booth was built: BLOCKED until it delivers
            self.camera.preview_frame()
        except CameraUnavailable as error:
            self._note_camera_missing(error)
        self._end_session()

    def _follow_hours(self, _event: Tick) -> None:
        """Resting: follow the opening hours, the camera coming back, and the office link in the header."""
        if "camera" in self.missing:
            self._probe_camera()
        resting = self._resting_state()
        if resting is not self.state:
            self._enter(resting)
        elif self._link_problem() != self.shown_link_problem:
            self.status = self.status_line()
            self._render()

    def _probe_camera(self) -> None:
        """While BLOCKED for the camera: one preview frame tells whether it delivers again."""
        try:
            self.camera.preview_frame()
        except CameraUnavailable:
            return
        log.info("booth: the camera delivers frames again")
        del self.missing["camera"]

    def _camera_failed(self, error: CameraUnavailable) -> None:
        """The camera stopped delivering: the cycle is cancelled (the student starts over) and the booth
        shows BLOCKED until a preview frame comes again."""
        cycle = self.cycle
        if cycle is not None:
            log.warning("booth: the cycle of %s is cancelled: the camera stopped (attempt %d)",
                        mask_id(cycle.entry.id_number), cycle.attempt)
        self._discard_cycle()
        self._note_camera_missing(error)
        self._rest()

    def _note_camera_missing(self, error: CameraUnavailable) -> None:
        log.error("booth: camera unavailable: %s", error)
        self._publish(BoothFailed(code="camera_unavailable", message=f"camera unavailable: {error}"))
        self.missing["camera"] = CAMERA_MISSING

    def _preview(self, _event: Tick | None = None) -> None:
        """The countdown's frame: live preview, the guidance for it, the whole seconds left."""
        try:
            self.preview = self.camera.preview_frame()
        except CameraUnavailable as error:
            self._camera_failed(error)
            return
        self.guidance = tuple(self.checker.guide(self.preview).messages)
        self.seconds_left = max(0, math.ceil((self.countdown_end or 0) - self.clock()))
        if self.state is State.COUNTDOWN:
            self._render()

    def _answers_screen(self, at: float, what: str) -> bool:
        """Whether an input made at ``at`` can answer the screen now shown: made at least
        ``input_guard_s`` after it appeared. Earlier ones (queued before it, or already under way
        when it changed) were meant for the screen before, and are ignored."""
        after = at - self.shown_at
        if after >= self.config.capture.input_guard_s:
            return True
        log.info("booth: %s made %.0f ms after the %s screen appeared: ignored (meant for the screen before)",
                 what, after * 1000, self.state)
        return False

    def _timeout(self, _event: Tick) -> None:
        if self.state is State.SUMMARY:  # a make-up tally or a class with nothing to pay (a fee waits)
            self._end_session()
            return
        if self._keeps_reviewed_photo():
            self._save()  # a compliant photo the student walked away from is kept, not lost
            return
        self._discard_cycle()
        self._rest()

    def _keeps_reviewed_photo(self) -> bool:
        """True on a review of a compliant photo of this cycle's own student (its countdown started by
        a press after the student's READY screen): leaving that screen, by its timeout or by the next
        card, keeps the photo rather than losing a compliant student's only capture."""
        cycle = self.cycle
        return bool(self.state is State.REVIEW and cycle and self._passed(cycle.report)
                    and cycle.countdown_follows_ready())

    # ---------------------------------------------------------------- card
    def _reader_fault(self, event: ReaderFault) -> None:
        """A missing reader blocks the booth (at once when no cycle runs, else when it ends); any other
        reader error (a card moved away) is shown where the booth waits for cards."""
        log.warning("booth: card reader: %s", mask_ids_in(event.error.en))
        message = event.error.text
        if isinstance(event.error, ReaderUnavailable):
            self.missing["reader"] = message
            if self.state in BLOCKABLE:
                self._rest()
        elif self.state in (State.IDLE, State.REFUSED, State.SAVED):
            self._show_message(State.ERROR, message)

    def _reader_back(self, _event: ReaderBack) -> None:
        if self.missing.pop("reader", None) is None:
            return
        log.info("booth: the card reader is back")
        if self.state is State.BLOCKED:
            self._rest()

    def _card(self, event: CardPresented) -> None:
        card = event.card
        if self.state not in SWIPE_STATES or self.session is None:
            # Closed, or a summary / payment screen waiting for the operator: the card is ignored.
            if self.state is State.NO_SESSION or (self.state in SWIPE_STATES and self.session is None):
                self._show_message(State.REFUSED, NO_SESSION_MESSAGE)
            return
        if self._keeps_reviewed_photo():
            # The monitor moved on from a compliant photo: kept as the review's timeout would keep it
            # (the photo is of the reviewed cycle's own student, never of the new card's).
            log.info("booth: new card %s over a compliant photo in review: that photo is kept", mask_id(card.id_number))
            self._save()
            if self.state is State.PAYMENT:  # a make-up student pays first; the card waits
                self._card_waits(event)
                return
        if self.cycle is not None:
            log.info("booth: new card %s mid-cycle: the previous cycle is cancelled", mask_id(card.id_number))
            self._discard_cycle()
        blocked = self.office.capture_blocked() if self.office else None
        if blocked:
            self._show_message(State.REFUSED, blocked)
            return
        decision = self.eligibility.decide(card, self.session)
        entry, reason = decision.entry, decision.reason
        if reason is None and entry is not None:
            self._begin_cycle(card, entry)
            return
        assert reason is not None
        self.ledger.record_refusal(self.session.id, reason.value, card.id_number)
        self._publish(CardRefused(reason=reason.value, session_id=self.session.id))
        log.info("booth: card %s refused: %s", mask_id(card.id_number), reason.value)
        if decision.needs_operator and entry is not None:
            self.pending = decision
            self.cycle = Cycle(card=card, entry=entry, session_id=self.session.id)
            self._enter(State.CONFIRM, self.config.capture.ready_timeout_s)
        else:
            self._show_message(State.REFUSED, MESSAGES[reason])

    def _card_waits(self, event: CardPresented) -> None:
        """A card over a make-up payment or a summary: those screens wait for the operator, so the card
        is not taken; the screen says why (it was ignored unseen: the monitor took it as read)."""
        log.info("booth: card %s swiped over the %s screen: not taken", mask_id(event.card.id_number), self.state)
        self.note = PAY_FIRST if self.state is State.PAYMENT else SESSION_CLOSED
        self._render()

    def _begin_cycle(self, card: IdentityCard, entry: RosterEntry) -> None:
        assert self.session is not None
        self.pending = None
        self.cycle = cycle = Cycle(card=card, entry=entry, session_id=self.session.id)
        self._enter(State.READY, self.config.capture.ready_timeout_s)
        cycle.ready_at = self.shown_at

    def _discard_cycle(self) -> None:
        """Record a compliant photo that will not be kept, so the ledger shows every capture."""
        cycle = self.cycle
        if cycle and cycle.photo_id is None and self.state is State.REVIEW and self._passed(cycle.report):
            self._record_attempt(cycle, Verdict.DISCARDED)
        self.cycle = None
        self.pending = None

    # ---------------------------------------------------------------- button
    def _button(self, event: ButtonPressed) -> None:
        at = self.clock() if event.at is None else event.at
        if self.state is State.READY:
            self._start_countdown(at)
        elif self.state is State.REVIEW and self.cycle:
            if self._passed(self.cycle.report):
                self._save()
            elif self._can_retake():
                self._start_countdown(at)
        elif self.state in (State.SAVED, State.REFUSED, State.ERROR):
            self._rest()

    def _retake(self, event: RetakePressed) -> None:
        at = self.clock() if event.at is None else event.at
        if self.state is State.REVIEW and self.cycle and self._can_retake():
            if self._passed(self.cycle.report):
                self._record_attempt(self.cycle, Verdict.DISCARDED)
            self._start_countdown(at)

    def _can_retake(self) -> bool:
        return self.cycle is not None and self.cycle.attempt < self.config.capture.retake_limit

    def _start_countdown(self, pressed_at: float) -> None:
        assert self.cycle is not None
        self.cycle.frame = None
        self.cycle.report = None
        self.cycle.countdown_pressed_at = pressed_at
        self.countdown_end = self.clock() + self.config.capture.countdown_s
        self._preview()  # the first frame is on the screen the moment the countdown starts
        if self.state is not State.BLOCKED:  # else the camera gave no frame
            self._enter(State.COUNTDOWN)

    # ---------------------------------------------------------------- capture, check, save
    def _capture_and_check(self, _event: Tick) -> None:
        cycle = self.cycle
        assert cycle is not None
        self.preview, self.guidance = None, ()
        cycle.attempt += 1
        try:
            cycle.frame = self.camera.capture()
        except CameraUnavailable as error:
            self._camera_failed(error)
            return
        cycle.report = self.checker.check(cycle.frame)
        if not self._passed(cycle.report):
            failed = [result.id for result in cycle.report.failed()]
            if cycle.report.verdict == "confirm":  # the operator may keep it: not a failure yet
                log.info("booth: attempt %d has warnings only (the operator may keep it): %s", cycle.attempt,
                         ", ".join(failed))
            else:
                log.info("booth: attempt %d failed: %s", cycle.attempt, ", ".join(failed))
            self._record_attempt(cycle, Verdict.REJECTED, failed)
            self._publish(RetakeNeeded(session_id=cycle.session_id, attempt=cycle.attempt, failed=tuple(failed)))
        self._enter(State.REVIEW, self.config.capture.review_timeout_s)

    @staticmethod
    def _passed(report: QualityReport | None) -> bool:
        return bool(report is not None and report.accepted)

    def _operator_may_keep(self) -> bool:
        """Whether the photo in review failed only checks of severity "confirm" ([quality.severity])."""
        cycle = self.cycle
        return bool(cycle and cycle.report is not None and cycle.report.verdict == "confirm"
                    and cycle.countdown_follows_ready())

    def _record_attempt(self, cycle: Cycle, verdict: Verdict, failed: list[str] | None = None) -> None:
        self.ledger.record_capture(photo_id=new_id(), session_id=cycle.session_id,
                                   id_number=cycle.entry.id_number, attempt=cycle.attempt, verdict=verdict,
                                   failed_checks=failed or [])

    def _save(self) -> None:
        cycle = self.cycle
        assert cycle is not None and cycle.frame is not None and cycle.report is not None
        assert self._passed(cycle.report) or self._operator_may_keep()
        # The photo is of the person whose card opened this cycle, and of nobody else.
        id_number = cycle.entry.id_number
        assert cycle.card.id_number == id_number and cycle.countdown_follows_ready()
        photo_id = new_id()
        saved = self.photo_output(cycle.frame, cycle.report, id_number, self.photo_dir / photo_id)
        path = saved.path
        # An accepted row with failed checks is a photo the operator kept despite those warnings.
        kept_despite = [result.id for result in cycle.report.failed()]
        self.ledger.record_capture(photo_id=photo_id, session_id=cycle.session_id, id_number=id_number,
                                   attempt=cycle.attempt, verdict=Verdict.ACCEPTED, failed_checks=kept_despite,
                                   sha256=saved.sha256, path=str(path))
        cycle.photo_id = photo_id
        self.last_outcome = Outcome(photo_id, id_number, path, cycle.attempt)
        if self.office:
            self.office.photo_saved(PhotoSaved(photo_id, path, photo_meta(cycle.entry, self.ledger.capture(photo_id),
                                                                          cycle.report)))
        self._publish(PhotoAccepted(photo_id=photo_id, session_id=cycle.session_id, attempt=cycle.attempt))
        log.info("booth: photo of %s saved (attempt %d%s)", mask_id(id_number), cycle.attempt,
                 f", kept by the operator despite {', '.join(kept_despite)}" if kept_despite else "")
        if self.session and self.session.kind == "makeup" and fee_for(1, self.config.fees) > 0:
            self._enter(State.PAYMENT, self.config.capture.summary_timeout_s)  # free (price 0): nothing to pay
        else:
            self._enter(State.SAVED, self.config.capture.message_timeout_s)

    # ---------------------------------------------------------------- operator
    def _operator(self, command: OperatorCommand) -> None:
        """A command from the office (trusted) or given with the PIN; refusals go back in ``reply``."""
        source: ActionSource = "central" if command.trusted else "kiosk"
        try:
            outcome = self._perform(command, source, pin_checked=command.trusted, guard=True)
        except SessionError as error:
            self.message = error.text
            self._render()
            if command.reply:
                command.reply.set_exception(error)
        else:
            if command.reply:
                command.reply.set_result(outcome)

    def _perform(self, command: OperatorCommand, source: ActionSource, *, pin_checked: bool, guard: bool) -> str:
        """Run ``command`` in the current state under its row and record it (ledger and office),
        refused ones too; raises SessionError when refused. ``guard``: a command answering a screen
        must be given after that screen appeared (the menu's key tap was already checked so)."""
        before, session = self.state, self._session_id()
        try:
            if not pin_checked and not self.config.operator.accepts(command.pin):
                raise SessionError("wrong PIN", WRONG_PIN.zh)
            at = self.clock() if command.at is None else command.at
            if guard and command.action in SCREEN_BOUND and not self._answers_screen(at, f"operator {command.action}"):
                raise SessionError("the screen changed just before this command: check it and give it again",
                                   "画面刚刚变化,请看清后重新操作")
            self._run(OPERATOR_TRIGGERS[command.action], command)
        except SessionError as error:
            log.warning("booth: operator command %s refused: %s", command.action, error)
            self._record(command.action.value, source, False, session, error.en)
            raise
        outcome = f"{command.action}: {before} -> {self.state}"
        self._record(command.action.value, source, True, self._session_id() or session, outcome)
        return outcome

    def _session_id(self) -> str | None:
        """The session an operator action concerns: the open one, else the closed one awaiting payment."""
        if self.session is not None:
            return self.session.id
        return self.summary.session.id if self.summary else None

    def _record(self, action: str, source: ActionSource, ok: bool, session_id: str | None, detail: str = "") -> None:
        """Every operator action, in the ledger and to the office (``operator_action``); never a name."""
        self.ledger.record_operator_action(action, source, ok, session_id, detail)
        self._publish(OperatorActed(action=action, source=source, ok=ok, session_id=session_id, detail=detail))

    def _operator_busy(self, _command: OperatorCommand) -> None:
        raise SessionError("the operator menu is open on the booth: give the command when it is closed",
                           "设备上正在使用老师菜单,请退出后再操作")

    # ---------------------------------------------------------------- the keypad and the menu
    def _call_operator(self, _event: OperatorCalled) -> None:
        """The operator button held or the corner tapped: the PIN keypad, over the current screen."""
        self.menu = MenuState(origin=self.state)
        self._enter(State.OPERATOR_PIN, MENU_IDLE_S)

    def _the_menu(self) -> MenuState:
        if self.menu is None:  # entered only through _call_operator, which sets it
            raise RuntimeError(f"no operator menu state in {self.state}")
        return self.menu

    def _keypad_key(self, event: KeyTapped) -> None:
        menu = self._the_menu()
        if event.key == CANCEL:
            self._return_to_origin()
            return
        if self.pin_guard.locked_for(self.clock()) > 0:
            return  # locked: only Cancel works
        if event.key in DIGIT_KEYS and len(menu.digits) < PIN_MAX_DIGITS:
            menu.digits += event.key
            menu.message = None
        elif event.key == DELETE:
            menu.digits = menu.digits[:-1]
        elif event.key == OK and menu.digits:
            self._check_pin(menu)
            return
        else:
            return
        self.deadline = self.clock() + MENU_IDLE_S  # typing: the page stays, its taps are not re-guarded
        self._render()

    def _check_pin(self, menu: MenuState) -> None:
        pin, menu.digits = menu.digits, ""
        if self.config.operator.accepts(pin):
            self.pin_guard.passed()
            self._record("menu_opened", "kiosk", True, self._session_id())
            menu.page, menu.message = Page.MAIN, None
            self._enter(State.OPERATOR_MENU, MENU_IDLE_S)
            return
        locked = self.pin_guard.failed(self.clock())
        detail = (f"{PIN_ATTEMPTS} wrong PINs in a row: keypad locked for {self.pin_guard.lock_s:.0f} s" if locked
                  else f"wrong PIN ({self.pin_guard.wrong} of {PIN_ATTEMPTS})")
        log.warning("booth: keypad: %s", detail)
        self._record("keypad_locked" if locked else "pin_wrong", "kiosk", False, self._session_id(), detail)
        menu.message = WRONG_PIN
        self.deadline = self.clock() + MENU_IDLE_S
        self._render()

    def _keypad_tick(self, _event: Tick) -> None:
        """While locked, the seconds left are shown; the keypad opens again when they run out."""
        menu = self._the_menu()
        seconds = math.ceil(self.pin_guard.locked_for(self.clock()))
        if seconds != menu.lock_shown:
            menu.lock_shown = seconds
            self._render()

    def _menu_key(self, event: KeyTapped) -> None:
        menu, key = self._the_menu(), event.key
        menu.message = None
        if key == LEAVE:
            self._record("menu_left", "kiosk", True, self._session_id())
            self._return_to_origin()
            return
        if key == HEALTH:
            menu.health = booth_health(self.missing, self.office.link_health() if self.office else None,
                                       self.config.data_dir, self.config.uplink.min_free_mb, self.config.quality)
            self._record("health", "kiosk", True, self._session_id(),
                         "; ".join(f"{item.part.en}: {item.reading.en}" for item in menu.health if not item.ok))
            menu.page = Page.HEALTH
        elif key == BACK:
            menu.page, menu.offset = (Page.COLLEGES if menu.page is Page.CLASSES else Page.MAIN), 0
        elif key == MORE and menu.page in (Page.COLLEGES, Page.CLASSES):
            menu.offset = menu.offset + LIST_PAGE if menu.offset + LIST_PAGE < menu.listed() else 0
        elif key.startswith(PICK) and menu.page in (Page.COLLEGES, Page.CLASSES):
            if not self._pick(menu, key):
                return  # a class was picked (opened, or refused with the menu back), or no such item
        elif key == OperatorAction.OPEN_CLASS and OperatorAction.OPEN_CLASS in self._menu_actions(menu):
            menu.colleges = tuple(sorted({college for college, _, _ in self.roster.classes()}))
            menu.page, menu.offset = Page.COLLEGES, 0
        elif key in set(self._menu_actions(menu)) and menu.page is Page.MAIN:
            self._menu_command(menu, OperatorAction(key))
            return
        else:
            return  # a key of another page (tapped as the page changed): ignored
        self._enter(State.OPERATOR_MENU, MENU_IDLE_S)

    def _pick(self, menu: MenuState, key: str) -> bool:
        """A college (its classes are listed next: True, the page to show) or a class (it is opened
        under the OPEN row: False, as for an item that is not there)."""
        try:
            index = int(key.removeprefix(PICK))
        except ValueError:
            return False
        if not 0 <= index < menu.listed():
            return False
        if menu.page is Page.COLLEGES:
            menu.classes = self._class_choices(menu.colleges[index])
            menu.page, menu.offset = Page.CLASSES, 0
            return True
        choice = menu.classes[index]
        self._menu_command(menu, OperatorAction.OPEN_CLASS, college=choice.college, class_name=choice.class_name)
        return False

    def _class_choices(self, college: str) -> tuple[ClassChoice, ...]:
        """Each class of ``college`` with its progress: members due this year, and how many have a photo."""
        choices = []
        for class_college, class_name, _ in self.roster.classes():
            if class_college != college:
                continue
            due = [member for member in self.roster.class_members(college, class_name)
                   if self.eligibility.excluded(member) is None]
            done = sum(1 for member in due if self.ledger.accepted_for(member.id_number))
            choices.append(ClassChoice(college, class_name, done, len(due)))
        return tuple(choices)

    def _menu_actions(self, menu: MenuState) -> list[OperatorAction]:
        """What the main page offers: only what can be done over the screen the menu was opened from."""
        actions = []
        if self.session is None:
            actions += [OperatorAction.OPEN_CLASS, OperatorAction.OPEN_MAKEUP]
        elif menu.origin in CLOSABLE:
            actions.append(OperatorAction.CLOSE_SESSION)
        if menu.origin is State.SUMMARY and self.summary is not None and self.summary.asks_class_fee:
            actions += [OperatorAction.CONFIRM_PAYMENT, OperatorAction.DEFER_PAYMENT]
        elif menu.origin is State.PAYMENT and self.cycle is not None:
            actions.append(OperatorAction.CONFIRM_PAYMENT)
        if menu.origin is State.CONFIRM and self.pending is not None:
            actions += [OperatorAction.ALLOW, OperatorAction.DENY]
        elif menu.origin is State.REVIEW and self._operator_may_keep():
            actions.append(OperatorAction.ALLOW)  # keep the photo despite its warnings
        return actions

    def _menu_command(self, menu: MenuState, action: OperatorAction, **args: str) -> None:
        """Go back to the screen the menu was opened over and run ``action`` there, under that state's
        own row; refused, the menu's main page comes back with the reason."""
        self._return_to_origin()
        try:
            self._perform(OperatorCommand(action, args=dict(args), trusted=True), "kiosk", pin_checked=True,
                          guard=False)
        except SessionError as error:
            menu.origin, menu.page, menu.offset = self.state, Page.MAIN, 0
            menu.message = error.text
            self.menu = menu
            self._enter(State.OPERATOR_MENU, MENU_IDLE_S)

    def _leave_menu(self, _event: Tick) -> None:
        """The keypad or the menu was left alone for ``MENU_IDLE_S``: back to the screen under it."""
        if self.state is State.OPERATOR_MENU:
            self._record("menu_left", "kiosk", True, self._session_id(), f"idle for {MENU_IDLE_S:.0f} s")
        self._return_to_origin()

    def _return_to_origin(self) -> None:
        """The screen the keypad or menu was opened over, if it still stands; else where the booth rests."""
        origin = self.menu.origin if self.menu else None
        if origin is State.CONFIRM and self.cycle is not None and self.pending is not None:
            self._enter(State.CONFIRM, self.config.capture.ready_timeout_s)
        elif origin is State.PAYMENT and self.cycle is not None and self.session is not None:
            self._enter(State.PAYMENT, self.config.capture.summary_timeout_s)
        elif origin is State.SUMMARY and self.summary is not None:
            self._show_summary()
        elif origin is State.REVIEW and self.cycle is not None and self.cycle.report is not None:
            self._enter(State.REVIEW, self.config.capture.review_timeout_s)
        else:
            self._rest()

    def _allow(self, _command: OperatorCommand) -> None:
        if self.state is State.CONFIRM and self.cycle is not None:
            self._begin_cycle(self.cycle.card, self.cycle.entry)
        elif self.state is State.REVIEW and self._operator_may_keep():
            self._save()  # only "confirm" checks failed: the operator keeps it (the ledger names them)
        else:
            raise SessionError("nothing to confirm now", "当前无需确认")

    def _deny(self, _command: OperatorCommand) -> None:
        if self.state is not State.CONFIRM:
            raise SessionError("nothing to confirm now", "当前无需确认")
        self._rest()

    def _open(self, command: OperatorCommand) -> None:
        kind: SessionKind = "class" if command.action is OperatorAction.OPEN_CLASS else "makeup"
        college = command.args.get("college") if kind == "class" else None
        class_name = command.args.get("class_name") if kind == "class" else None
        if self.session is not None:
            raise SessionError(f"a session is already open ({self.session.label}): close it first",
                               f"已有进行中的采集({self.session.label}),请先结束")
        if not self.hours.is_open(kind, self.now()):
            hours = self.hours.describe(kind)
            raise SessionError(f"outside service hours ({hours})", f"不在采集时间内({hours})")
        if kind == "class" and not (college and class_name and self.roster.class_members(college, class_name)):
            raise SessionError(f"class {college} {class_name} is not on the roster",
                               f"名单中没有{college}{class_name}")
        # Opening the next session puts a waiting summary away (as "pay later" does): its fee stays unpaid.
        for waiting in self.ledger.unpaid_sessions():
            self._defer(waiting.id, "the operator opened the next session")
        self.summary = None
        self.session = self.ledger.open_session(kind, college, class_name, fee_for(1, self.config.fees))
        self._publish(ClassOpened(session_id=self.session.id, college=college or "", class_name=class_name or ""))
        self._rest()

    def _close_session(self, _command: OperatorCommand) -> None:
        if self.session is None:
            raise SessionError("no session is open", "没有进行中的采集")
        if self.state in CYCLE_STATES:
            raise SessionError("a student is being photographed: close after this photo",
                               "正在拍摄,请拍完后再结束")
        self.summary = summarize(self.session, self.eligibility, self.config.fees)
        self.ledger.close_session(self.session.id, self.summary.photographed, self.summary.fee_cny)
        self._publish(ClassClosed(session_id=self.session.id, college=self.session.college or "",
                                  class_name=self.session.class_name or "", count=self.summary.photographed,
                                  fee_cny=self.summary.fee_cny, missing=len(self.summary.missing)))
        self.session = None
        self._show_summary()

    def _recount_summary(self, session_id: str) -> None:
        """The summary on the screen drops the students central says another booth photographed."""
        if self.state is State.SUMMARY and self.summary is not None and self.summary.session.id == session_id:
            self.summary = summarize(self.ledger.session(session_id), self.eligibility, self.config.fees)
            self._render()

    def _show_summary(self) -> None:
        """A class's summary stays until its payment is confirmed or deferred, across restarts; a make-up
        session's tally, or a class closed with nobody photographed (nothing to pay now), for
        ``capture.summary_timeout_s``, or until the next session."""
        assert self.summary is not None
        self._enter(State.SUMMARY, None if self.summary.asks_class_fee else self.config.capture.summary_timeout_s)

    def _confirm_payment(self, _command: OperatorCommand) -> None:
        if self.state is State.SUMMARY and self.summary and self.summary.asks_class_fee:
            amount, people, who = self.summary.fee_cny, self.summary.photographed, None
            session_id = self.summary.session.id
        elif self.state is State.PAYMENT and self.cycle and self.session:
            amount, people, who = fee_for(1, self.config.fees), 1, self.cycle.entry.id_number
            session_id = self.session.id
        else:
            raise SessionError("no payment is waiting", "当前没有待确认的缴费")
        self.ledger.record_payment(session_id, amount, people, who)
        self._publish(PaymentConfirmed(session_id=session_id, amount_cny=amount))
        if self.state is State.SUMMARY:
            self._end_session()
        else:
            self._rest()

    def _defer_payment(self, _command: OperatorCommand) -> None:
        if self.state is not State.SUMMARY or self.summary is None or not self.summary.asks_class_fee:
            raise SessionError("no class payment is waiting", "当前没有待确认的班级缴费")
        self._defer(self.summary.session.id, "deferred by the operator")
        self._end_session()

    def _defer(self, session_id: str, why: str) -> None:
        self.ledger.defer_payment(session_id)
        closed = self.ledger.session(session_id)  # the record as closed, with the fee asked for
        log.warning("booth: payment of %s (%.2f CNY) %s: it stays unpaid", closed.label, closed.fee_cny or 0.0, why)

    def _end_session(self) -> None:
        """Show the next closed session whose fee is not settled (one left by a crash), or rest."""
        unpaid = self.ledger.unpaid_sessions()
        self.summary = summarize(unpaid[0], self.eligibility, self.config.fees) if unpaid else None
        if self.summary is None:
            self._rest()
            return
        log.warning("booth: the summary of %s (fee %.2f CNY) is shown again: its payment was neither"
                    " confirmed nor deferred", self.summary.session.label, self.summary.fee_cny)
        self._enter(State.SUMMARY)

    # ---------------------------------------------------------------- output
    def _publish(self, event: DomainEvent) -> None:
        if self.office:
            self.office.publish(event)

    def _link_problem(self) -> Text | None:
        return self.office.link_problem() if self.office else None

    def status_line(self) -> str:
        """The header: the office link's trouble first (it is cut to one line), then booth and class."""
        self.shown_link_problem = problem = self._link_problem()
        base = self._booth_status()
        return f"{problem.zh} {problem.en} · {base}" if problem else base

    def _booth_status(self) -> str:
        if self.session is None:
            return self.config.booth.id
        return f"{self.config.booth.id} · {self.session.label} · {self._progress(self.session)}"

    def _progress(self, session: SessionRecord) -> str:
        """Photos kept in ``session``: "done/size" for a class (its members due this year), "done" for a make-up."""
        done = len(self.ledger.accepted_in_session(session.id))
        if session.kind == "class" and session.college and session.class_name:
            members = self.roster.class_members(session.college, session.class_name)
            size = sum(1 for member in members if self.eligibility.excluded(member) is None)
            return f"{done}/{size}"
        return f"{done}"

    def view(self) -> View:
        """The screen for the current state: a pure function of the booth's state (the countdown's
        preview and guidance are taken by its tick handler, ``_preview``)."""
        status = self.status
        state, cycle = self.state, self.cycle
        if state is State.CLOSED:
            kind = self.session.kind if self.session else "class"
            return views.closed(self.hours.describe(kind))
        if state is State.NO_SESSION:
            return views.no_session(status)
        if state is State.IDLE:
            return views.idle(status, bool(self.session and self.session.kind == "makeup"))
        if state is State.REFUSED:
            return views.refused(self.message or NO_SESSION_MESSAGE, status)
        if state is State.CONFIRM:
            reasons = [MESSAGES[reason] for reason in self.pending.reasons] if self.pending else []
            return views.confirm(self.pending.entry if self.pending else None, reasons, status)
        if state is State.READY and cycle:
            return views.ready(cycle.entry, cycle.attempt + 1, self.config.capture.retake_limit, status)
        if state is State.COUNTDOWN:
            return views.countdown(self.seconds_left, self.preview, self.guidance, status)
        if state is State.REVIEW and cycle:
            fixes = review_fixes(cycle.report)
            return views.review(review_image(cycle.frame, cycle.report), self._passed(cycle.report), fixes,
                                self._can_retake(), status, may_keep=self._operator_may_keep())
        if state is State.SAVED and cycle:
            return views.saved(cycle.entry, status)
        if state is State.PAYMENT:
            return views.payment(fee_for(1, self.config.fees), self.config.fees.payment_qr, status)
        if state is State.SUMMARY and self.summary and self.summary.session.kind == "makeup":
            return views.makeup_summary(self.summary.photographed, self.summary.paid_people, self.summary.paid_cny,
                                        status, self.summary.price_cny)
        if state is State.SUMMARY and self.summary:
            summary = self.summary
            return views.summary(summary.session.label, summary.photographed,
                                 [member.name for member in summary.missing], summary.price_cny,
                                 summary.fee_cny, summary.payment_qr, status)
        if state is State.BLOCKED:
            return blocked(self.missing.values(), self.config.booth.id, self.config.booth.staff_contact)
        if state in OPERATING and self.menu is not None:
            return self._menu_view(self.menu, status)
        return views.error(self.message or Text("请稍候", "One moment"), status)

    def _menu_view(self, menu: MenuState, status: str) -> View:
        if menu.page is Page.KEYPAD:
            return menu_views.keypad(len(menu.digits), self.pin_guard.locked_for(self.clock()), menu.message, status)
        if menu.page is Page.COLLEGES:
            return menu_views.menu_colleges(menu.colleges, menu.offset, status)
        if menu.page is Page.CLASSES:
            college = menu.classes[0].college if menu.classes else ""
            return menu_views.menu_classes(college, menu.classes, menu.offset, status)
        if menu.page is Page.HEALTH:
            return menu_views.menu_health(menu.health, status)
        return menu_views.menu_main(self._menu_actions(menu), self._menu_facts(menu), menu.message, status,
                                    over_review=menu.origin is State.REVIEW)

    def _menu_facts(self, menu: MenuState) -> list[Text]:
        """The main page's lines: the open session and its progress, what waits on the screen below."""
        facts = [Text(f"正在拍摄:{self.session.label} {self._progress(self.session)}",
                      f"Open: {self.session.label} {self._progress(self.session)}") if self.session
                 else Text("当前没有进行中的拍摄", "No session is open")]
        if menu.origin is State.CONFIRM and self.pending is not None and self.pending.entry is not None:
            who = mask_name(self.pending.entry.name)
            for reason in self.pending.reasons:
                facts.append(Text(f"待确认 {who}:{MESSAGES[reason].zh}", f"To confirm, {who}: {MESSAGES[reason].en}"))
        if menu.origin is State.SUMMARY and self.summary is not None and self.summary.asks_class_fee:
            fee = self.summary.fee_cny
            facts.append(Text(f"{self.summary.session.label} 待缴费 {cny(fee)} 元",
                              f"{self.summary.session.label}: {cny(fee)} CNY to pay"))
        elif menu.origin is State.PAYMENT and self.cycle is not None:
            fee = fee_for(1, self.config.fees)
            facts.append(Text(f"补拍待缴费 {cny(fee)} 元", f"Make-up: {cny(fee)} CNY to pay"))
        elif menu.origin is State.REVIEW and self._operator_may_keep():
            assert self.cycle is not None and self.cycle.report is not None
            facts += [Text(f"提醒:{result.message.zh}", f"Warning: {result.message.en}")
                      for result in self.cycle.report.review()]
        facts += self.missing.values()
        return facts

    def _render(self) -> None:
        view = self.view()
        if self.note is not None:
            view = replace(view, lines=(*view.lines, self.note))
        self.display.show(view)


class SessionError(BilingualError):
    """An operator action that cannot be done now, phrased for the operator."""
