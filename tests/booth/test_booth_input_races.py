"""Never the wrong person: an input only acts on the screen the person saw.

The scenario of issue 9: student A is on the review screen with a compliant photo, the monitor
swipes B's card, and A presses the button 20 ms (or 150 ms) later to keep the photo. That press
must not start B's countdown (A, still seated, would be captured and saved under B's number when
the review timed out). The same kind of crossing is tried for retake, operator commands, a card
during the countdown and presses queued in the booth loop before the screen changed.
"""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from appliance.flow.booth import SessionError
from appliance.flow.events import ButtonPressed, CardPresented, OperatorAction, OperatorCommand, RetakePressed
from appliance.flow.states import State
from appliance.runtime import BoothInbox
from appliance.simulation.roster_gen import card_for
from tests.booth.test_booth_flow import PIN, Rig


@pytest.fixture
def rig(config, roster, ledger, sim_camera, checker, photo_output):
    return Rig(config, roster, ledger, sim_camera, checker, photo_output)


def _on_review_with_a_compliant_photo(rig, entry, subject=0):
    rig.open_class(entry)
    assert rig.send(CardPresented(card_for(entry))) is State.READY
    assert rig.shoot(subject) is State.REVIEW and rig.booth.cycle.report.accepted


def _accepted_ids(rig) -> set[str]:
    return {row[0] for row in rig.ledger.conn.execute("SELECT id_number FROM captures WHERE verdict = 'accepted'")}


@pytest.mark.parametrize("late_s", [0.020, 0.150])
def test_press_meant_for_the_review_does_not_capture_the_next_student(rig, students, late_s):
    a, b = students[0], students[1]
    _on_review_with_a_compliant_photo(rig, a, subject=0)
    assert rig.send(CardPresented(card_for(b))) is State.READY
    rig.clock.advance(late_s)
    assert rig.send(ButtonPressed()) is State.READY, "A's press started B's countdown"
    # Let every timer run out: nothing is ever saved under B's number; A's compliant photo was kept
    # when B's card came (as the review's timeout keeps it), under A's number.
    rig.wait(rig.config.capture.countdown_s + 0.01)
    rig.wait(rig.config.capture.review_timeout_s + 0.1)
    assert _accepted_ids(rig) == {a.id_number}
    assert rig.booth.state is State.READY and rig.booth.cycle.entry == b and rig.booth.cycle.attempt == 0
    # B's own photo: only after B's READY screen was seen and B pressed.
    assert rig.shoot(subject=1) is State.REVIEW
    assert rig.wait(rig.config.capture.review_timeout_s + 0.1) is State.SAVED
    assert _accepted_ids(rig) == {a.id_number, b.id_number}
    assert rig.booth.last_outcome.path.name == f"{b.id_number}.jpg"


def test_press_queued_before_the_next_card_is_ignored_however_late_it_is_handled(rig, students):
    a, b = students[0], students[1]
    _on_review_with_a_compliant_photo(rig, a)
    pressed_at = rig.clock.now  # A presses; the booth is busy and handles B's card first
    assert rig.send(CardPresented(card_for(b))) is State.READY
    rig.clock.advance(2.0)
    assert rig.send(ButtonPressed(at=pressed_at)) is State.READY
    assert rig.send(RetakePressed(at=pressed_at)) is State.READY
    assert rig.booth.cycle.countdown_pressed_at is None


def test_the_booth_loop_stamps_a_press_when_it_is_made_not_when_it_is_handled(rig, students):
    a, b = students[0], students[1]
    _on_review_with_a_compliant_photo(rig, a)
    inbox = BoothInbox(rig.booth.clock)  # the booth loop's queue
    inbox.post(CardPresented(card_for(b)))
    inbox.press_button()  # A's thumb, while B's card waits in the queue
    rig.clock.advance(1.0)
    while not inbox.events.empty():
        rig.booth.handle(inbox.events.get_nowait())
    assert rig.booth.state is State.READY and rig.booth.cycle.entry == b
    rig.react()
    inbox.press_button()  # B, after reading the READY screen
    assert rig.send(inbox.events.get_nowait()) is State.COUNTDOWN


def test_a_press_under_way_when_the_review_appears_does_not_keep_the_photo_unseen(rig, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot() is State.REVIEW
    rig.clock.advance(0.1)
    assert rig.send(ButtonPressed()) is State.REVIEW and rig.ledger.accepted_for(students[0].id_number) == []
    assert rig.press() is State.SAVED


def test_retake_meant_for_a_failed_review_does_not_start_the_next_students_countdown(rig, students):
    a, b = students[0], students[1]
    rig.open_class(a)
    rig.send(CardPresented(card_for(a)))
    assert rig.shoot(0, ["blur"]) is State.REVIEW and not rig.booth.cycle.report.accepted
    assert rig.send(CardPresented(card_for(b))) is State.READY
    rig.clock.advance(0.05)
    assert rig.send(ButtonPressed()) is State.READY
    assert rig.send(RetakePressed()) is State.READY


def test_card_during_the_countdown_restarts_for_the_new_card_and_the_old_press_is_void(rig, students):
    a, b = students[0], students[1]
    rig.open_class(a)
    rig.send(CardPresented(card_for(a)))
    assert rig.press() is State.COUNTDOWN
    assert rig.send(CardPresented(card_for(b))) is State.READY
    rig.clock.advance(0.15)
    assert rig.send(ButtonPressed()) is State.READY  # A pressing again, impatient
    rig.wait(rig.config.capture.countdown_s + rig.config.capture.review_timeout_s + 1)
    assert rig.ledger.conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 0


def test_operator_allow_meant_for_one_student_does_not_let_the_next_one_through(rig, students):
    a, b = students[0], students[1]
    rig.open_class(a)
    rig.photograph(a, subject=0)
    rig.photograph(b, subject=1)
    rig.wait(10)
    assert rig.send(CardPresented(card_for(a))) is State.CONFIRM  # already photographed: operator decides
    assert rig.send(CardPresented(card_for(b))) is State.CONFIRM  # the monitor swipes B meanwhile
    rig.clock.advance(0.15)
    reply: Future[str] = Future()
    rig.send(OperatorCommand(OperatorAction.ALLOW, pin=PIN, reply=reply))  # meant for A
    assert isinstance(reply.exception(), SessionError) and "screen changed" in str(reply.exception())
    assert rig.booth.state is State.CONFIRM and rig.booth.pending.entry == b
    assert rig.operator(OperatorAction.ALLOW) is State.READY and rig.booth.cycle.entry == b


def test_payment_confirmation_needs_the_summary_to_have_been_seen(rig, students):
    rig.open_class(students[0])
    rig.photograph(students[0])
    rig.wait(10)
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    rig.clock.advance(0.02)
    assert rig.send(OperatorCommand(OperatorAction.CONFIRM_PAYMENT, pin=PIN)) is State.SUMMARY
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.NO_SESSION
