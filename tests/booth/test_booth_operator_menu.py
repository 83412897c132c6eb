"""The operator's keypad and menu on the kiosk, through the state machine with the real checks, the
real ledger and a fake clock: the PIN, its lock, every menu action, each recorded in the ledger and
sent to the office as an ``operator_action`` event."""

from __future__ import annotations

import pytest

from appliance.flow.events import CardPresented, KeyTapped, OperatorAction, OperatorCalled, OperatorCommand
from appliance.flow.operator_menu import PIN_ATTEMPTS, PIN_LOCK_S, Page
from appliance.flow.outcomes import LinkHealth, OperatorActed
from appliance.flow.states import State
from appliance.simulation.roster_gen import card_for
from appliance.ui.view import Screen
from tests.booth.test_booth_flow import PIN, Rig


class RecordingOffice:
    """The flow's ``Office`` port, keeping what the booth publishes."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.photos: list[object] = []

    def photo_saved(self, photo) -> None:
        self.photos.append(photo)

    def publish(self, event) -> None:
        self.events.append(event)

    def capture_blocked(self):
        return None

    def link_problem(self):
        return None

    def link_health(self) -> LinkHealth:
        return LinkHealth(configured=True, connected=False, backlog=7)

    def operator_events(self) -> list[OperatorActed]:
        return [event for event in self.events if isinstance(event, OperatorActed)]


class MenuRig(Rig):
    def tap(self, key: str) -> State:
        self.react()
        return self.send(KeyTapped(key))

    def type_pin(self, pin: str) -> State:
        for digit in pin:
            self.tap(digit)
        return self.tap("ok")

    def open_menu(self, pin: str = PIN) -> State:
        assert self.send(OperatorCalled()) is State.OPERATOR_PIN
        assert self.display.last_view.screen is Screen.KEYPAD
        return self.type_pin(pin)

    def keys(self) -> list[str]:
        return [key.id for key in self.display.last_view.keys]

    def key_labelled(self, text: str) -> str:
        (key,) = [key.id for key in self.display.last_view.keys if key.label.zh == text]
        return key


@pytest.fixture
def office():
    return RecordingOffice()


@pytest.fixture
def rig(config, roster, ledger, sim_camera, checker, photo_output, office):
    return MenuRig(config, roster, ledger, sim_camera, checker, photo_output, office=office)


def actions(rig: MenuRig) -> list[tuple[str, str, bool]]:
    return [(row["action"], row["source"], bool(row["ok"])) for row in rig.ledger.operator_actions()]


def test_the_right_pin_opens_the_menu_and_a_class_is_opened_from_the_roster(rig, students, office):
    assert rig.booth.state is State.NO_SESSION
    assert rig.open_menu() is State.OPERATOR_MENU
    view = rig.display.last_view
    assert view.screen is Screen.MENU and "No session is open" in [line.en for line in view.lines]
    assert rig.keys() == ["open_class", "open_makeup", "health", "leave"]
    assert rig.tap("open_class") is State.OPERATOR_MENU and rig.booth.menu.page is Page.COLLEGES
    assert rig.keys() == ["pick:0", "back"]  # the roster's one college
    assert rig.display.last_view.keys[0].label.zh == students[0].college
    assert rig.tap("pick:0") is State.OPERATOR_MENU and rig.booth.menu.page is Page.CLASSES
    class_key = rig.key_labelled(students[0].class_name)
    label = next(key.label for key in rig.display.last_view.keys if key.id == class_key)
    assert label.en == f"0/{len(students)} photographed"
    assert rig.tap(class_key) is State.IDLE
    assert rig.booth.session.college == students[0].college
    assert rig.booth.session.class_name == students[0].class_name
    assert actions(rig) == [("menu_opened", "kiosk", True), ("open_class", "kiosk", True)]
    sent = office.operator_events()
    assert [event.action for event in sent] == ["menu_opened", "open_class"]
    assert sent[1].session_id == rig.booth.session.id and sent[1].ok


def test_the_class_list_shows_each_classes_progress(rig, students):
    rig.open_menu()
    rig.tap("open_class")
    rig.tap("pick:0")
    rig.tap(rig.key_labelled(students[0].class_name))
    rig.photograph(students[0])
    rig.wait(rig.config.capture.message_timeout_s + 0.1)
    rig.open_menu()
    assert rig.keys() == ["close_session", "health", "leave"]
    assert any(f"1/{len(students)}" in line.en for line in rig.display.last_view.lines)


def test_five_wrong_pins_lock_the_keypad_for_a_minute(rig, office):
    rig.send(OperatorCalled())
    for _ in range(1, PIN_ATTEMPTS):
        assert rig.type_pin("0000") is State.OPERATOR_PIN
        assert rig.display.last_view.lines[-1].en == "Wrong PIN"
    assert rig.type_pin("0000") is State.OPERATOR_PIN
    view = rig.display.last_view
    assert "try again in 60 s" in view.lines[0].en
    assert [key.id for key in view.keys if key.enabled] == ["cancel"]
    assert rig.type_pin(PIN) is State.OPERATOR_PIN, "locked: even the right PIN is not taken"
    # Cancelling and coming back does not lift the lock.
    assert rig.tap("cancel") is State.NO_SESSION
    assert rig.send(OperatorCalled()) is State.OPERATOR_PIN
    assert rig.type_pin(PIN) is State.OPERATOR_PIN
    rig.wait(PIN_LOCK_S / 2)
    assert "try again in" in rig.display.last_view.lines[0].en
    rig.clock.advance(PIN_LOCK_S / 2)
    rig.tap("cancel")
    rig.send(OperatorCalled())
    assert rig.display.last_view.keys[0].enabled, "the lock ran out"
    assert rig.type_pin(PIN) is State.OPERATOR_MENU
    recorded = actions(rig)
    assert recorded[:PIN_ATTEMPTS] == [("pin_wrong", "kiosk", False)] * (PIN_ATTEMPTS - 1) + [
        ("keypad_locked", "kiosk", False)]
    assert recorded[-1] == ("menu_opened", "kiosk", True)
    assert [event.action for event in office.operator_events()][:PIN_ATTEMPTS][-1] == "keypad_locked"


def test_a_wrong_pin_after_the_lock_counts_from_one_again(rig):
    rig.send(OperatorCalled())
    for _ in range(PIN_ATTEMPTS):
        rig.type_pin("1111")
    rig.wait(PIN_LOCK_S + 0.1)
    assert rig.booth.state is State.NO_SESSION, "the keypad left alone went back"
    rig.send(OperatorCalled())
    rig.type_pin("1111")
    assert rig.display.last_view.keys[0].enabled and rig.booth.pin_guard.wrong == 1


def test_typing_is_shown_as_dots_and_delete_removes_the_last_digit(rig):
    rig.send(OperatorCalled())
    for digit in "246":
        rig.tap(digit)
    assert rig.display.last_view.lines[0].zh == "● ● ●"
    rig.tap("del")
    assert rig.booth.menu.digits == "24"
    rig.tap("6")
    rig.tap("8")
    assert rig.tap("ok") is State.OPERATOR_MENU
    assert "2468" not in repr(rig.display.views), "the PIN is never on the screen"


def test_a_tap_made_as_the_page_changed_is_not_taken_for_the_new_page(rig):
    rig.send(OperatorCalled())
    rig.type_pin(PIN)
    rig.send(KeyTapped("open_class", at=rig.clock.now - 0.1))  # meant for the keypad
    assert rig.booth.menu.page is Page.MAIN


def test_close_then_confirm_the_classes_payment_from_the_menu(rig, students, office):
    rig.open_class(students[0])
    rig.photograph(students[0])
    rig.wait(rig.config.capture.message_timeout_s + 0.1)
    rig.open_menu()
    assert rig.tap("close_session") is State.SUMMARY
    assert rig.display.last_view.qr_text
    rig.open_menu()
    assert rig.keys() == ["open_class", "open_makeup", "confirm_payment", "defer_payment", "health", "leave"]
    assert any("CNY to pay" in line.en for line in rig.display.last_view.lines)
    assert rig.tap("confirm_payment") is State.NO_SESSION
    closed = [event for event in office.operator_events() if event.action == "confirm_payment"]
    assert closed and closed[0].ok and closed[0].session_id is not None
    assert len(rig.ledger.payments(closed[0].session_id)) == 1
    assert ("close_session", "kiosk", True) in actions(rig)


def test_the_pending_refusal_is_allowed_or_denied_from_the_menu(rig, students):
    rig.open_class(students[0])
    rig.photograph(students[0])
    rig.wait(10)
    assert rig.send(CardPresented(card_for(students[0]))) is State.CONFIRM  # already photographed
    rig.open_menu()
    assert rig.keys() == ["allow", "deny", "health", "leave"]  # no closing while a student waits
    assert any(line.en.startswith("To confirm") for line in rig.display.last_view.lines)
    assert students[0].name not in repr(rig.display.last_view.lines), "the menu shows the name masked"
    assert rig.tap("allow") is State.READY
    assert rig.booth.cycle.entry.id_number == students[0].id_number
    assert rig.send(CardPresented(card_for(students[0]))) is State.CONFIRM
    rig.open_menu()
    assert rig.tap("deny") is State.IDLE
    assert [action for action, _, _ in actions(rig)][-2:] == ["menu_opened", "deny"]


def test_leaving_goes_back_to_the_screen_below_and_is_recorded(rig, students):
    rig.open_class(students[0])
    rig.open_menu()
    assert rig.tap("leave") is State.IDLE
    rig.open_menu()
    assert rig.wait(120) is State.IDLE, "a menu left alone goes back"
    assert [action for action, _, _ in actions(rig)][-2:] == ["menu_opened", "menu_left"]


def test_the_health_page_names_every_part(rig, students):
    rig.open_menu()
    assert rig.tap("health") is State.OPERATOR_MENU
    lines = [line.en for line in rig.display.last_view.lines]
    for part in ("Card reader", "Camera", "Office broker", "Outbox backlog", "Disk", "Models"):
        assert any(part in line for line in lines), part
    assert any("7 item(s)" in line and line.startswith("PROBLEM") for line in lines)  # disconnected, 7 waiting
    assert any(line.startswith("OK · Models") for line in lines)
    assert rig.tap("back") is State.OPERATOR_MENU and rig.booth.menu.page is Page.MAIN


def test_office_commands_wait_while_the_operator_is_at_the_booth(rig, students):
    rig.send(OperatorCalled())
    reply_state = rig.operator(OperatorAction.OPEN_CLASS, college=students[0].college,
                               class_name=students[0].class_name)
    assert reply_state is State.OPERATOR_PIN and rig.booth.session is None
    assert actions(rig)[-1] == ("open_class", "kiosk", False)


def test_a_card_or_the_button_does_nothing_under_the_keypad(rig, students):
    rig.open_class(students[0])
    rig.send(OperatorCalled())
    assert rig.send(CardPresented(card_for(students[1]))) is State.OPERATOR_PIN
    assert rig.press() is State.OPERATOR_PIN


def test_office_commands_are_recorded_as_central_actions(rig, students):
    rig.react()
    rig.send(OperatorCommand(OperatorAction.OPEN_CLASS, trusted=True,
                             args={"college": students[0].college, "class_name": students[0].class_name}))
    assert actions(rig) == [("open_class", "central", True)]
    rig.operator(OperatorAction.OPEN_MAKEUP, pin="9999")
    assert actions(rig)[-1] == ("open_makeup", "kiosk", False)


def test_a_refused_action_brings_the_menu_back_with_the_reason(config, roster, ledger, sim_camera, checker,
                                                               photo_output, office, students):
    import datetime as dt

    closed_hours = config.model_copy(update={"hours": config.hours.model_copy(update={"enforce": True})})
    rig = MenuRig(closed_hours, roster, ledger, sim_camera, checker, photo_output, office=office,
                  now=lambda: dt.datetime(2026, 12, 28, 3, 0))
    assert rig.booth.state is State.CLOSED
    rig.open_menu()
    rig.tap("open_class")
    rig.tap("pick:0")
    assert rig.tap(rig.key_labelled(students[0].class_name)) is State.OPERATOR_MENU
    assert rig.booth.menu.page is Page.MAIN and rig.booth.session is None
    assert "outside service hours" in rig.display.last_view.lines[-1].en
    assert actions(rig)[-1] == ("open_class", "kiosk", False)
    assert rig.tap("leave") is State.CLOSED


def test_closing_a_makeup_session_asks_no_class_fee(rig, students, office):
    """补拍: each student paid on the spot after the photo; closing the session tallies those payments
    and asks nobody for a class fee (it showed "the monitor pays by QR code" for 2 x 20 again, sent a
    fee central added to the fees page, and waited for that payment across restarts)."""
    from appliance.flow.booth import Booth
    from appliance.flow.outcomes import ClassClosed

    assert rig.operator(OperatorAction.OPEN_MAKEUP) is State.IDLE
    rig.photograph(students[0], subject=0, then=State.PAYMENT)
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.IDLE
    rig.photograph(students[1], subject=1, then=State.PAYMENT)
    assert rig.wait(rig.config.capture.summary_timeout_s + 0.1) is State.IDLE  # walked away unpaid
    session = rig.booth.session
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    view = rig.display.last_view
    assert view.qr_text is None and "QR" not in view.title.en
    lines = [line.en for line in view.lines]
    assert "补拍 make-up: 2 photographed" in lines
    assert "Paid on the spot: 1 of 2, 20.00 CNY" in lines
    (closed,) = [event for event in office.events if isinstance(event, ClassClosed)]
    assert closed.fee_cny == 0 and closed.count == 2
    assert rig.ledger.unpaid_sessions() == []
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.SUMMARY, "no class payment to confirm"
    assert rig.ledger.payments(session.id)[-1]["id_number"] is not None  # only the student's own payment
    rig.open_menu()
    assert rig.keys() == ["open_class", "open_makeup", "health", "leave"]
    assert rig.tap("leave") is State.SUMMARY
    assert rig.wait(rig.config.capture.summary_timeout_s + 0.1) is State.NO_SESSION
    restarted = Booth(rig.config, camera=rig.camera, checker=rig.booth.checker, roster=rig.booth.roster,
                      ledger=rig.ledger, display=rig.display, photo_output=rig.booth.photo_output, clock=rig.clock)
    assert restarted.state is State.NO_SESSION


def test_a_card_swiped_over_a_payment_or_a_summary_is_told_to_wait(rig, students):
    """The next student's card on the make-up payment screen, or the next class's on the summary: the
    card was silently ignored (the monitor took it as read, the student pressed the button in vain).
    Now the screen says why it waits, and keeps the payment and its QR code."""
    assert rig.operator(OperatorAction.OPEN_MAKEUP) is State.IDLE
    rig.photograph(students[0], subject=0, then=State.PAYMENT)
    assert rig.send(CardPresented(card_for(students[1]))) is State.PAYMENT
    view = rig.display.last_view
    assert view.qr_text and view.lines[-1].en == "Finish this payment first, then swipe the next card"
    assert rig.booth.cycle.entry == students[0]  # the payment is still the first student's
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.IDLE
    assert rig.ledger.payments(rig.booth.session.id)[0]["id_number"] == students[0].id_number
    assert students[1].id_number not in {row["id_number"] for row in rig.ledger.payments(rig.booth.session.id)}
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    rig.react()
    assert rig.send(CardPresented(card_for(students[1]))) is State.SUMMARY
    assert rig.display.last_view.lines[-1].en == "The session is closed: the operator opens the next one first"
    assert rig.wait(rig.config.capture.input_guard_s) is State.SUMMARY  # the note stays with the screen
    assert rig.display.last_view.lines[-1].en.startswith("The session is closed")


def test_a_photo_with_warnings_only_is_kept_from_the_menu_over_its_review(rig, students):
    """The review of a warnings-only photo says the operator may keep it: the operator opens the menu
    over it (corner or button, then the PIN), reads the warnings and keeps it, or leaves back to it.
    The menu was not offered over a review, so only the office could keep such a photo."""
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot(0, ["uneven_lighting"]) is State.REVIEW and rig.booth.cycle.report.verdict == "confirm"
    rig.open_menu()
    assert rig.keys() == ["allow", "health", "leave"] and rig.key_labelled("保留此照片") == "allow"
    assert [line.en for line in rig.display.last_view.lines if line.en.startswith("Warning: ")] == [
        f"Warning: {rig.booth.cycle.report.checks['lighting'].message.en}"]
    assert rig.tap("leave") is State.REVIEW, "leaving goes back to the review"
    rig.open_menu()
    assert rig.tap("allow") is State.SAVED
    (kept,) = rig.ledger.accepted_for(students[0].id_number)
    assert kept.failed_checks == ("lighting",) and rig.booth.last_outcome.path.exists()
    assert [action for action, _, _ in actions(rig)][-2:] == ["menu_opened", "allow"]


def test_the_menu_over_a_refused_photo_offers_no_keeping(rig, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot(0, ["dark_glasses"]) is State.REVIEW and rig.booth.cycle.report.verdict == "rejected"
    rig.open_menu()
    assert rig.keys() == ["health", "leave"]
    assert rig.tap("leave") is State.REVIEW
    assert rig.shoot(0, []) is State.REVIEW and rig.press() is State.SAVED, "the student retakes as before"
    (kept,) = rig.ledger.accepted_for(students[0].id_number)
    assert kept.attempt == 2
