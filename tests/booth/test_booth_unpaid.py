"""A crash while the class summary is shown: the closed session and its unpaid fee survive.

"Restart" here is a new ``Booth`` over the same database (what ``booth run`` builds at start);
the kill test (test_booth_kill.py) does it with SIGKILLs, and the last test with the real
central over MQTT.
"""

from __future__ import annotations

import threading
import time

from appliance.app import build_service
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.flow.events import ButtonPressed, CardPresented, OperatorAction, OperatorCommand, Tick
from appliance.flow.states import State
from appliance.ledger import Ledger
from appliance.simulation.roster_gen import card_for, generate_roster
from appliance.ui.headless_display import HeadlessDisplay
from appliance.ui.view import Screen
from appliance.uplink_bridge import UplinkOffice
from boothcore import db
from boothcore.roster import Roster
from central.embedded import EmbeddedCentral
from tests.booth.test_booth_flow import Rig


class Events:
    """The booth's uplink, as far as the flow sees it: the events it queues for central."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def event(self, kind, data):
        if kind != "operator_action":  # every operator action is sent too: tested in test_booth_operator_menu
            self.sent.append((kind, data))

    def capture_blocked(self):
        return None

    def link_problem(self):
        return None

    def photo_saved(self, photo_id, path, meta):
        pass

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.sent]


def _restart(config, roster, ledger, sim_camera, checker, photo_output, events=None):
    return Rig(config, roster, ledger, sim_camera, checker, photo_output,
               office=UplinkOffice(events) if events else None)



def _class_of_two_closed(rig: Rig, students) -> Rig:
    """A class opened, two students photographed, closed: its summary waits for the payment."""
    rig.open_class(students[0])
    for index in range(2):
        rig.photograph(students[index], subject=index)
        rig.wait(10)
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    return rig


def test_a_restart_during_the_summary_shows_it_again_until_paid(config, roster, ledger, sim_camera, checker,
                                                                 photo_output, students):
    rig = _class_of_two_closed(Rig(config, roster, ledger, sim_camera, checker, photo_output), students)
    shown = rig.display.last_view
    session_id = rig.booth.summary.session.id
    events = Events()
    for _ in range(2):  # crashed twice before anyone paid
        rig = _restart(config, roster, ledger, sim_camera, checker, photo_output, events)
        assert rig.booth.state is State.SUMMARY and rig.booth.summary.session.id == session_id
        assert rig.booth.summary.fee_cny == 40.0 and rig.booth.summary.photographed == 2
        view = rig.display.last_view
        assert view.screen is Screen.SUMMARY and view.qr_text == shown.qr_text and view.lines == shown.lines
    assert rig.send(CardPresented(card_for(students[3]))) is State.SUMMARY
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.NO_SESSION
    (payment,) = ledger.payments(session_id)
    assert payment["amount_cny"] == 40.0 and payment["people"] == 2
    assert events.sent == [("payment_confirmed", {"session_id": session_id, "amount_cny": 40.0})]
    assert _restart(config, roster, ledger, sim_camera, checker, photo_output).booth.state is State.NO_SESSION


def test_a_deferred_payment_is_not_shown_again_and_stays_unpaid(config, roster, ledger, sim_camera, checker,
                                                                photo_output, students):
    events = Events()
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output, office=UplinkOffice(events))
    rig.open_class(students[0])
    rig.photograph(students[0])
    rig.wait(10)
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    session_id = rig.booth.summary.session.id
    rig = _restart(config, roster, ledger, sim_camera, checker, photo_output, events)
    assert rig.operator(OperatorAction.DEFER_PAYMENT) is State.NO_SESSION
    assert ledger.payments(session_id) == [] and ledger.unpaid_sessions() == []
    assert events.kinds() == ["class_opened", "photo_accepted", "class_closed"]  # central: closed, not paid
    assert _restart(config, roster, ledger, sim_camera, checker, photo_output).booth.state is State.NO_SESSION


def test_summaries_left_unsettled_are_shown_oldest_first(config, roster, ledger, sim_camera, checker,
                                                          photo_output, students):
    # Two classes closed by an older booth that forgot their summaries at a restart.
    closed = []
    for entry in students[:2]:
        session = ledger.open_session("class", entry.college, entry.class_name, 20.0)
        ledger.close_session(session.id, 1, 20.0)
        closed.append(session.id)
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    assert rig.booth.state is State.SUMMARY and rig.booth.summary.session.id == closed[0]
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.SUMMARY
    assert rig.booth.summary.session.id == closed[1]
    assert rig.operator(OperatorAction.DEFER_PAYMENT) is State.NO_SESSION
    assert rig.open_class(students[0]) is State.IDLE


def test_central_sees_the_closed_class_unpaid_until_the_booth_confirms_after_a_restart(tmp_path, checker):
    students = generate_roster(3, graduation_year=2027)
    config = load_config(None, {"booth": {"data_dir": str(tmp_path / "booth"), "graduation_year": 2027},
                                "hours": {"enforce": False}, "hardware": {"screen": "headless"},
                                "capture": {"countdown_s": 1.0, "message_timeout_s": 1.0}})
    with EmbeddedCentral(tmp_path, workers=1) as central:
        store = central.open_store()

        def kinds_at_central() -> list[str]:
            # The operator's actions arrive as operator_action events too (after the event they caused),
            # and the booth's answer to central's class_photographed (sent on each class_closed) as a
            # command_result, whenever it comes.
            return sorted(event.kind for event in store.events(booth="booth-01")
                          if event.kind not in ("operator_action", "command_result"))

        def serve(steps, until) -> None:
            """``steps``: (the state to wait for, or None; then the event posted to the booth)."""
            service = build_service(config, broker_url=central.url, display=HeadlessDisplay(),
                                    reader=SimulatedCardReader(), checker=checker)
            parts = service.parts
            Roster(parts.ledger.conn).upsert(students)
            deadline = time.monotonic() + 60

            def operator() -> None:
                for state, event in steps:
                    while state is not None and parts.booth.state is not state and time.monotonic() < deadline:
                        time.sleep(0.05)
                    time.sleep(config.capture.input_guard_s + 0.1)
                    service.loop.inbox.post(event)

            threading.Thread(target=operator, daemon=True).start()
            service.run(until=lambda: until(parts.booth) or time.monotonic() > deadline)

        def command(action, **args):
            return OperatorCommand(action, pin=config.operator.pin, args=args)

        # One student photographed (a class closed with nobody photographed asks no payment).
        serve([(None, command(OperatorAction.OPEN_CLASS, college=students[0].college,
                              class_name=students[0].class_name)),
               (State.IDLE, CardPresented(card_for(students[0]))), (State.READY, ButtonPressed()),
               (State.REVIEW, ButtonPressed()), (State.SAVED, Tick()),
               (State.IDLE, command(OperatorAction.CLOSE_SESSION))],
              until=lambda booth: booth.state is State.SUMMARY and "class_closed" in kinds_at_central())
        assert kinds_at_central() == ["class_closed", "class_opened", "photo_accepted"]  # central: no payment
        conn = db.connect(config.data_dir / "booth.db")
        (session,) = Ledger(conn, config.booth.id).unpaid_sessions()
        conn.close()
        assert session.fee_cny == 20.0
        # The booth crashed on the summary (the service was stopped without a payment); it restarts:
        serve([(None, command(OperatorAction.CONFIRM_PAYMENT))],
              until=lambda booth: "payment_confirmed" in kinds_at_central())
        paid = [event for event in store.events(booth="booth-01") if event.kind == "payment_confirmed"]
        assert [event.data["session_id"] for event in paid] == [session.id]


def test_a_class_closed_with_nobody_photographed_asks_no_payment(config, roster, ledger, sim_camera, checker,
                                                                  photo_output, students):
    """The monitor opened the class by mistake (or nobody came): the summary counts 0 and shows no
    fee and no QR code; it goes away like a make-up tally, and a restart does not show it again."""
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    rig.open_class(students[0])
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    session_id = rig.booth.summary.session.id
    view = rig.display.last_view
    assert view.qr_text is None
    assert "0 photographed" in view.lines[0].en
    assert view.title.en == "Class closed: nothing to pay"
    assert not any("CNY" in line.en or "Fee" in line.en for line in view.lines), view.lines
    assert ledger.unpaid_sessions() == []
    assert ledger.session(session_id).photographed == 0 and ledger.session(session_id).fee_cny == 0.0
    assert _restart(config, roster, ledger, sim_camera, checker, photo_output).booth.state is State.NO_SESSION
    assert rig.operator(OperatorAction.CONFIRM_PAYMENT) is State.SUMMARY  # refused: nothing is waiting
    assert rig.wait(config.capture.summary_timeout_s + 1) is State.NO_SESSION
    assert ledger.payments(session_id) == []


def test_a_summary_shown_again_after_the_price_changed_keeps_its_own_price(config, roster, ledger, sim_camera,
                                                                           checker, photo_output, students):
    """The tendered price was set in booth.toml while a class summary waited for its payment: after
    the restart the summary read 'Fee 2 x 15.00 = 40.00 CNY' (today's price beside the fee it was
    closed with). The fee stays as closed, and so does its price."""
    rig = _class_of_two_closed(Rig(config, roster, ledger, sim_camera, checker, photo_output), students)
    cheaper = config.model_copy(update={"fees": config.fees.model_copy(update={"price_cny": 15.0})})
    rig = _restart(cheaper, roster, ledger, sim_camera, checker, photo_output)
    assert rig.booth.state is State.SUMMARY and rig.booth.summary.fee_cny == 40.0
    assert any(line.en == "Fee 2 x 20.00 = 40.00 CNY" for line in rig.display.last_view.lines), rig.display.last_view
