"""The booth state machine, end to end with the real checks, the simulated sensor and a fake clock.

The clock is injected so the countdown and the timeouts are tested as wall-clock time without
sleeping; everything else (checks, crop, CHSI file, ledger) is the real code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from appliance.flow.booth import PAY_FIRST, Booth
from appliance.flow.events import (
    ButtonPressed,
    CardPresented,
    OperatorAction,
    OperatorCommand,
    RetakePressed,
    Tick,
)
from appliance.flow.states import State
from appliance.ledger import Verdict
from appliance.simulation.roster_gen import card_for, stranger_card
from appliance.ui.headless_display import HeadlessDisplay
from appliance.ui.view import Screen, Tone
from tests.fakes import FakeClock

PIN = "2468"


class Rig:
    """A booth and the people around it."""

    def __init__(self, config, roster, ledger, camera, checker, photo_output, now=None, office=None):
        self.clock = FakeClock()
        self.display = HeadlessDisplay()
        self.camera = camera
        self.config = config
        self.booth = Booth(config, camera=camera, checker=checker, roster=roster, ledger=ledger,
                           display=self.display, photo_output=photo_output, office=office, clock=self.clock,
                           now=now or (lambda: dt.datetime(2026, 12, 28, 9, 0)))
        self.ledger = ledger

    def send(self, event):
        self.booth.handle(event)
        return self.booth.state

    def react(self):
        """A person answers a screen no sooner than the booth's input guard after it appeared."""
        self.clock.advance(self.config.capture.input_guard_s + 0.01)

    def press(self, event=None):
        self.react()
        return self.send(event or ButtonPressed())

    def operator(self, action, pin=PIN, **args):
        self.react()
        return self.send(OperatorCommand(action, pin=pin, args=args))

    def open_class(self, entry):
        return self.operator(OperatorAction.OPEN_CLASS, college=entry.college, class_name=entry.class_name)

    def wait(self, seconds):
        self.clock.advance(seconds)
        return self.send(Tick())

    def shoot(self, subject=0, faults=()):
        """From READY (or a failed REVIEW): press, let the countdown run out, land in REVIEW."""
        self.camera.set_subject(subject, frozenset(faults))
        assert self.press() is State.COUNTDOWN
        return self.wait(self.config.capture.countdown_s + 0.01)

    def photograph(self, entry, subject=0, then=State.SAVED):
        assert self.send(CardPresented(card_for(entry))) is State.READY
        assert self.shoot(subject) is State.REVIEW, self.booth.cycle.report.failed()
        assert self.press() is then
        return self.booth.last_outcome


@pytest.fixture
def rig(config, roster, ledger, sim_camera, checker, photo_output):
    return Rig(config, roster, ledger, sim_camera, checker, photo_output)


def test_whole_cycle_saves_the_photo_under_the_swiped_number(rig, students):
    assert rig.booth.state is State.NO_SESSION
    assert rig.open_class(students[0]) is State.IDLE
    assert rig.send(CardPresented(card_for(students[0]))) is State.READY
    assert rig.display.last_view.screen is Screen.READY and students[0].name in rig.display.last_view.title.zh
    assert rig.shoot() is State.REVIEW
    assert rig.booth.cycle.report.accepted and rig.display.last_view.screen is Screen.REVIEW
    assert rig.press() is State.SAVED
    outcome = rig.booth.last_outcome
    assert outcome.path.name == f"{students[0].id_number}.jpg" and outcome.path.exists()
    (capture,) = rig.ledger.accepted_for(students[0].id_number)
    assert capture.verdict is Verdict.ACCEPTED and capture.upload_state == "pending"
    assert capture.sha256 == hashlib.sha256(outcome.path.read_bytes()).hexdigest()
    assert rig.wait(rig.config.capture.message_timeout_s + 0.1) is State.IDLE


def test_countdown_runs_on_the_wall_clock_not_on_frames(rig, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    rig.press()
    for _ in range(100):  # a hundred preview frames in no time: still counting down
        assert rig.send(Tick()) is State.COUNTDOWN
    assert rig.display.last_view.countdown == 3 and rig.display.last_view.image is not None
    assert rig.wait(1.2) is State.COUNTDOWN and rig.display.last_view.countdown == 2
    assert rig.wait(1.9) is State.REVIEW


def test_refused_card_shows_the_reason_and_returns_to_idle(rig, students):
    rig.open_class(students[0])
    card = stranger_card()
    assert rig.send(CardPresented(card)) is State.REFUSED
    assert rig.display.last_view.lines[0].en == "ID number does not match the registry: not photographed now"
    session = rig.booth.session
    assert rig.ledger.refusals(session.id) == {"not_on_roster": 1}
    row = rig.ledger.conn.execute("SELECT masked_id FROM refusals").fetchone()
    assert row[0] == card.id_number[:6] + "********" + card.id_number[-4:]
    assert rig.wait(rig.config.capture.message_timeout_s + 0.1) is State.IDLE


def test_card_before_a_session_is_opened_is_refused(rig, students):
    assert rig.send(CardPresented(card_for(students[0]))) is State.REFUSED
    assert rig.display.last_view.lines[0].en == "The operator must open a class first"
    assert rig.wait(rig.config.capture.message_timeout_s + 0.1) is State.NO_SESSION


def test_failed_photo_says_what_to_fix_and_retakes_up_to_the_limit(rig, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    for attempt in range(1, rig.config.capture.retake_limit + 1):
        assert rig.shoot(0, ["blur"]) is State.REVIEW
        assert not rig.booth.cycle.report.accepted
        assert "sharpness" in {result.id for result in rig.booth.cycle.report.failed()}
        assert rig.display.last_view.lines, "the student is told what to fix"
        assert rig.booth.cycle.attempt == attempt
    assert rig.display.last_view.button is None and rig.display.last_view.title.en == "No retakes left"
    assert rig.press() is State.REVIEW  # no further attempt
    assert rig.wait(rig.config.capture.review_timeout_s + 0.1) is State.IDLE
    rows = rig.ledger.conn.execute("SELECT verdict, attempt FROM captures ORDER BY id").fetchall()
    assert [tuple(row) for row in rows] == [("rejected", 1), ("rejected", 2), ("rejected", 3)]
    assert not list(rig.booth.photo_dir.glob("**/*.jpg"))


def test_retake_after_a_fault_then_saved(rig, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot(0, ["dark_glasses"]) is State.REVIEW and not rig.booth.cycle.report.accepted
    assert rig.shoot(0, []) is State.REVIEW and rig.booth.cycle.report.accepted
    assert rig.press() is State.SAVED and rig.booth.last_outcome.attempt == 2


def test_operator_may_keep_a_photo_with_only_confirm_warnings(rig, students):
    """lighting is a "confirm" check: the operator sees the warning and may keep the photo; the
    ledger records it as accepted with the warning it was kept despite. A "reject" fault cannot be
    kept."""
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot(0, ["dark_glasses"]) is State.REVIEW and rig.booth.cycle.report.verdict == "rejected"
    assert rig.operator(OperatorAction.ALLOW) is State.REVIEW  # refused: nothing to keep
    assert rig.shoot(0, ["uneven_lighting"]) is State.REVIEW and rig.booth.cycle.report.verdict == "confirm"
    assert rig.operator(OperatorAction.ALLOW) is State.SAVED
    (kept,) = rig.ledger.accepted_for(students[0].id_number)
    assert kept.failed_checks == ("lighting",) and kept.attempt == 2 and rig.booth.last_outcome.path.exists()


def test_a_refused_photo_names_what_refuses_it_first_and_its_warnings_as_warnings(rig, students):
    """Blue clothes (clothing_contrast, "reject") and uneven light (lighting, "confirm"): the review
    listed the light first and both alike, so the student fixed the light and was refused again."""
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot(0, ["uneven_lighting", "blue_clothes"]) is State.REVIEW
    report = rig.booth.cycle.report
    assert report.verdict == "rejected" and [r.id for r in report.review()] == ["lighting", "clothing_contrast"]
    shown = rig.display.last_view
    assert [line.en for line in shown.lines] == [report.checks["clothing_contrast"].message.en,
                                                 f"{report.checks['lighting'].message.en} (warning)"]
    assert shown.lines[1].zh == f"{report.checks['lighting'].message.zh}(提醒)" and shown.tone is Tone.BAD


def test_the_simulated_students_hair_over_her_ears_is_kept_by_the_operator(config, roster, ledger, sim_camera,
                                                                          strict_checker, photo_output, students,
                                                                          caplog):
    """With the checks as shipped, the simulated student's photo has only "confirm" warnings (her
    hair over her ears): the review says so and that the operator may keep it; the student's button
    retakes, the operator's allow saves it and the ledger names the warnings."""
    rig = Rig(config, roster, ledger, sim_camera, strict_checker, photo_output)
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot() is State.REVIEW and rig.booth.cycle.report.verdict == "confirm"
    shown = rig.display.last_view
    assert shown.title.en == "Warnings only: the operator may keep this photo" and shown.tone is Tone.WARN
    assert [line.en for line in shown.lines] == ["Tuck your hair behind your ears so both ears show"]
    assert rig.operator(OperatorAction.ALLOW) is State.SAVED
    (kept,) = rig.ledger.accepted_for(students[0].id_number)
    assert set(kept.failed_checks) == {"ears_visible", "hair_clear"} and rig.booth.last_outcome.path.exists()
    # make demo's log read "attempt 1 failed: hair_clear, ears_visible" then "saved (attempt 1)".
    log = [r.getMessage() for r in caplog.records if r.name == "appliance.flow.booth"]
    assert not any("failed" in line for line in log), log
    assert any("attempt 1 has warnings only (the operator may keep it)" in line for line in log), log
    assert any("saved (attempt 1, kept by the operator despite" in line for line in log), log


@pytest.mark.parametrize("where", [State.READY, State.COUNTDOWN, State.REVIEW])
def test_second_card_mid_cycle_starts_over_for_the_new_card(rig, students, where):
    first, second = students[0], students[1]
    rig.open_class(first)
    rig.send(CardPresented(card_for(first)))
    if where is not State.READY:
        rig.press()
    if where is State.REVIEW:
        rig.wait(rig.config.capture.countdown_s + 0.01)
    assert rig.booth.state is where
    assert rig.send(CardPresented(card_for(second))) is State.READY
    assert rig.booth.cycle.entry == second and rig.booth.cycle.frame is None
    assert rig.shoot(1) is State.REVIEW
    assert rig.press() is State.SAVED
    assert rig.booth.last_outcome.id_number == second.id_number
    assert rig.booth.last_outcome.path.name == f"{second.id_number}.jpg"
    # A compliant photo left in review is kept, as its timeout would keep it: the monitor moving on
    # must not make a photographed student missing. Before the review, nothing was taken.
    (kept,) = rig.ledger.accepted_for(first.id_number) if where is State.REVIEW else (None,)
    assert kept is None or Path(kept.path).name == f"{first.id_number}.jpg"
    assert where is State.REVIEW or rig.ledger.accepted_for(first.id_number) == []
    assert rig.ledger.conn.execute("SELECT COUNT(*) FROM captures WHERE verdict = 'discarded'").fetchone()[0] == 0


def test_a_card_over_a_failed_photo_in_review_keeps_nothing(rig, students):
    first, second = students[0], students[1]
    rig.open_class(first)
    rig.send(CardPresented(card_for(first)))
    assert rig.shoot(0, faults=("eyes_closed",)) is State.REVIEW
    assert not rig.booth.cycle.report.accepted
    assert rig.send(CardPresented(card_for(second))) is State.READY and rig.booth.cycle.entry == second
    assert rig.ledger.accepted_for(first.id_number) == []


def test_a_card_over_a_make_up_photo_in_review_keeps_it_and_waits_for_the_payment(rig, students):
    assert rig.operator(OperatorAction.OPEN_MAKEUP) is State.IDLE
    rig.send(CardPresented(card_for(students[2])))
    assert rig.shoot(2) is State.REVIEW
    assert rig.send(CardPresented(card_for(students[3]))) is State.PAYMENT
    assert len(rig.ledger.accepted_for(students[2].id_number)) == 1
    assert rig.booth.note is PAY_FIRST and rig.booth.cycle.entry == students[2]


def test_retake_of_a_passed_photo_discards_it(rig, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot() is State.REVIEW
    rig.camera.set_subject(0, frozenset())
    assert rig.press(RetakePressed()) is State.COUNTDOWN
    assert rig.wait(rig.config.capture.countdown_s + 0.01) is State.REVIEW
    assert rig.press() is State.SAVED
    verdicts = [row[0] for row in rig.ledger.conn.execute("SELECT verdict FROM captures ORDER BY id")]
    assert verdicts == ["discarded", "accepted"]


@pytest.mark.parametrize(("state", "timeout_key"), [(State.READY, "ready_timeout_s"),
                                                    (State.CONFIRM, "ready_timeout_s")])
def test_waiting_states_time_out_to_idle(rig, students, state, timeout_key):
    rig.open_class(students[0])
    if state is State.CONFIRM:
        rig.photograph(students[0])
        rig.wait(10)
    assert rig.send(CardPresented(card_for(students[0]))) is state
    timeout = getattr(rig.config.capture, timeout_key)
    assert rig.wait(timeout - 1) is state
    assert rig.wait(1.1) is State.IDLE and rig.booth.cycle is None


def test_a_compliant_photo_left_in_review_is_kept_when_it_times_out(rig, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    rig.shoot()
    assert rig.wait(rig.config.capture.review_timeout_s + 0.1) is State.SAVED
    assert len(rig.ledger.accepted_for(students[0].id_number)) == 1


def test_already_photographed_needs_the_operator_to_allow_a_retake(rig, students):
    rig.open_class(students[0])
    rig.photograph(students[0])
    rig.wait(10)
    assert rig.send(CardPresented(card_for(students[0]))) is State.CONFIRM
    assert rig.operator(OperatorAction.ALLOW, pin="0000") is State.CONFIRM  # wrong PIN: nothing happens
    assert rig.operator(OperatorAction.ALLOW) is State.READY
    assert rig.send(CardPresented(card_for(students[0]))) is State.CONFIRM
    assert rig.operator(OperatorAction.DENY) is State.IDLE


def test_a_crash_inside_a_state_goes_to_error_then_idle_and_the_booth_goes_on(rig, students, monkeypatch):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))

    def broken_capture():
        raise OSError(5, "camera sensor timed out")

    monkeypatch.setattr(rig.camera, "capture", broken_capture)
    assert rig.shoot() is State.ERROR
    assert rig.display.last_view.screen is Screen.ERROR and "OSError" in rig.display.last_view.lines[0].en
    assert rig.wait(rig.config.capture.message_timeout_s + 0.1) is State.IDLE
    monkeypatch.undo()
    assert rig.photograph(students[1], subject=1).id_number == students[1].id_number


def test_a_broken_display_does_not_kill_the_booth(rig, students, monkeypatch):
    rig.open_class(students[0])

    def broken_show(view):
        raise RuntimeError("screen gone")

    monkeypatch.setattr(rig.display, "show", broken_show)
    assert rig.send(CardPresented(card_for(students[0]))) is State.ERROR
    monkeypatch.undo()
    assert rig.wait(rig.config.capture.message_timeout_s + 0.1) is State.IDLE


def test_closing_the_class_shows_count_missing_and_fee_then_payment(rig, students, excluded):
    rig.open_class(students[0])
    for index, entry in enumerate(students[:4]):
        rig.photograph(entry, subject=index)
        rig.wait(10)
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    summary = rig.booth.summary
    assert summary.photographed == 4 and summary.fee_cny == 80.0
    assert {entry.id_number for entry in summary.missing} == {s.id_number for s in students[4:]}
    view = rig.display.last_view
    assert view.screen is Screen.SUMMARY and view.qr_text == rig.config.fees.payment_qr
    assert any("4 x 20.00 = 80.00" in line.en for line in view.lines)
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.NO_SESSION
    (payment,) = rig.ledger.payments(summary.session.id)
    assert payment["amount_cny"] == 80.0 and payment["people"] == 4


def test_makeup_session_takes_payment_per_person(rig, students):
    assert rig.operator(OperatorAction.OPEN_MAKEUP) is State.IDLE
    rig.photograph(students[2], subject=2, then=State.PAYMENT)
    assert rig.display.last_view.qr_text
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.IDLE
    (payment,) = rig.ledger.payments(rig.booth.session.id)
    assert payment["id_number"] == students[2].id_number and payment["amount_cny"] == 20.0


def test_a_free_photo_asks_no_payment(config, roster, ledger, sim_camera, checker, photo_output, students):
    """fees.price_cny = 0 (the university pays): a make-up photo is saved like a class's, with no
    'Please pay 0.00 CNY' screen waiting for the operator, and a class closes with nothing to pay."""
    free = config.model_copy(update={"fees": config.fees.model_copy(update={"price_cny": 0.0})})
    rig = Rig(free, roster, ledger, sim_camera, checker, photo_output)
    assert rig.operator(OperatorAction.OPEN_MAKEUP) is State.IDLE
    rig.photograph(students[2], subject=2, then=State.SAVED)
    assert rig.ledger.payments(rig.booth.session.id) == []
    assert rig.wait(free.capture.message_timeout_s + 0.1) is State.IDLE
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    assert [line.en for line in rig.display.last_view.lines] == ["补拍 make-up: 1 photographed"]  # no "0 of 1 paid"
    assert rig.operator(OperatorAction.OPEN_CLASS, college=students[0].college,
                        class_name=students[0].class_name) is State.IDLE
    rig.photograph(students[0], subject=0)
    rig.wait(10)
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    view = rig.display.last_view
    assert view.qr_text is None and view.title.en == "Class closed: nothing to pay"
    assert "1 photographed" in view.lines[0].en and rig.ledger.unpaid_sessions() == []


def test_opening_an_unknown_class_is_refused_with_a_message(rig):
    assert rig.operator(OperatorAction.OPEN_CLASS, college="无", class_name="无此班") is State.NO_SESSION
    assert rig.booth.session is None and "not on the roster" in rig.booth.message.en


def test_outside_service_hours_the_booth_is_closed(config, roster, ledger, sim_camera, checker, photo_output,
                                                  students):
    enforced = config.model_copy(update={"hours": config.hours.model_copy(update={"enforce": True})})
    moment = {"now": dt.datetime(2026, 12, 28, 12, 30)}
    rig = Rig(enforced, roster, ledger, sim_camera, checker, photo_output, now=lambda: moment["now"])
    assert rig.booth.state is State.CLOSED and rig.display.last_view.screen is Screen.CLOSED
    assert rig.open_class(students[0]) is State.CLOSED and rig.booth.session is None
    moment["now"] = dt.datetime(2026, 12, 28, 13, 0)
    assert rig.send(Tick()) is State.NO_SESSION
    assert rig.open_class(students[0]) is State.IDLE
    moment["now"] = dt.datetime(2026, 12, 28, 17, 0)
    assert rig.send(Tick()) is State.CLOSED


def test_every_message_screen_goes_back_to_idle_on_the_button(rig, students):
    rig.open_class(students[0])
    assert rig.send(CardPresented(stranger_card())) is State.REFUSED
    assert rig.press() is State.IDLE
    rig.photograph(students[0])
    assert rig.press() is State.IDLE


def test_card_read_error_is_shown_and_clears(rig, students):
    from appliance.cardreader.base import CardReadError
    from appliance.flow.events import ReaderFault

    rig.open_class(students[0])
    assert rig.send(ReaderFault(CardReadError("card moved away", "卡片移开了,请重新放置"))) is State.ERROR
    assert rig.display.last_view.lines[0].zh == "卡片移开了,请重新放置"
    assert rig.wait(rig.config.capture.message_timeout_s + 0.1) is State.IDLE


def test_summary_waits_for_the_operator_to_confirm_or_defer_the_payment(rig, students, caplog):
    rig.open_class(students[0])
    rig.photograph(students[0])
    rig.wait(10)
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    assert rig.display.last_view.status == rig.config.booth.id  # the class is closed: no count in the header
    assert rig.send(CardPresented(card_for(students[1]))) is State.SUMMARY  # cards wait for the operator
    assert rig.wait(rig.config.capture.summary_timeout_s * 10) is State.SUMMARY
    session_id = rig.booth.summary.session.id
    assert rig.operator(OperatorAction.DEFER_PAYMENT) is State.NO_SESSION
    assert rig.ledger.payments(session_id) == [] and rig.ledger.unpaid_sessions() == []
    assert "(20.00 CNY) deferred by the operator: it stays unpaid" in caplog.text


def test_opening_the_next_class_puts_the_waiting_summary_away_unpaid(rig, students):
    rig.open_class(students[0])
    rig.photograph(students[0])
    rig.wait(10)
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    session_id = rig.booth.summary.session.id
    assert rig.open_class(students[0]) is State.IDLE and rig.booth.summary is None
    assert rig.ledger.payments(session_id) == [] and rig.ledger.unpaid_sessions() == []


def test_operator_refusals_are_explained(rig, students):
    from concurrent.futures import Future

    from appliance.flow.booth import SessionError

    reply: Future[str] = Future()
    rig.send(OperatorCommand(OperatorAction.OPEN_CLASS, pin="1111", reply=reply,
                             args={"college": students[0].college, "class_name": students[0].class_name}))
    assert isinstance(reply.exception(), SessionError) and rig.booth.session is None
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    reply = Future()
    rig.send(OperatorCommand(OperatorAction.CLOSE_SESSION, pin=PIN, reply=reply))
    assert "being photographed" in str(reply.exception()) and rig.booth.state is State.READY
    reply = Future()
    rig.send(OperatorCommand(OperatorAction.OPEN_MAKEUP, trusted=True, reply=reply))
    assert "already open" in str(reply.exception())
