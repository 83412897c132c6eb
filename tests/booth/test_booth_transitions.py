"""The transition table: the docs are generated from it, every handler exists, and the booth
refuses a move the table does not declare (it lands in ERROR and says so in the log)."""

from __future__ import annotations

import logging
import re

import appliance.flow.states as states_module
from appliance.flow import transitions
from appliance.flow.booth import Booth
from appliance.flow.events import CardPresented, OperatorAction, Tick
from appliance.flow.states import State
from appliance.flow.transitions import TABLE, Transition, Trigger, compile_table, row
from appliance.simulation.roster_gen import card_for
from tests.booth.test_booth_flow import Rig


def test_the_docs_page_is_generated_from_the_table():
    page = transitions.DOC_PATH.read_text(encoding="utf-8")
    assert transitions.docs_page() in page, "run: python -m appliance.flow.transitions"


def test_the_states_docstring_is_generated_from_the_table():
    assert transitions.text_diagram() in (states_module.__doc__ or ""), "run: python -m appliance.flow.transitions"


def test_the_generated_text_changes_when_the_table_does():
    changed = (*TABLE[:-1], row(Trigger.DENY, {State.IDLE}, "_deny", {State.SUMMARY}))
    assert transitions.text_diagram(changed) != transitions.text_diagram()
    assert transitions.mermaid_diagram(changed) != transitions.mermaid_diagram()


def test_every_handler_is_a_booth_method_and_no_state_trigger_pair_is_claimed_twice():
    assert [t.handler for t in TABLE if not callable(getattr(Booth, t.handler, None))] == []
    duplicated = (*TABLE, Transition(Trigger.CARD, frozenset({State.IDLE}), "_card", frozenset()))
    try:
        compile_table(duplicated)
    except ValueError as error:
        assert "idle" in str(error) and "card" in str(error)
    else:
        raise AssertionError("a duplicated (state, trigger) was accepted")


def test_every_operator_command_has_a_row_in_every_state():
    from appliance.flow.booth import OPERATOR_TRIGGERS

    for trigger in set(OPERATOR_TRIGGERS.values()):
        assert {state for state in State if (state, trigger) not in transitions.LOOKUP} == set(), trigger


def test_an_undeclared_transition_lands_in_error_and_is_logged(config, roster, ledger, sim_camera, checker,
                                                              photo_output, students, caplog, monkeypatch):
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    assert rig.open_class(students[0]) is State.IDLE
    # A broken table: the card row of IDLE no longer lists READY.
    broken = dict(transitions.LOOKUP)
    broken[(State.IDLE, Trigger.CARD)] = row(Trigger.CARD, {State.IDLE}, "_card", {State.REFUSED})
    monkeypatch.setattr("appliance.flow.booth.LOOKUP", broken)
    with caplog.at_level(logging.ERROR):
        assert rig.send(CardPresented(card_for(students[0]))) is State.ERROR
    assert re.search(r"undeclared transition idle -> ready", caplog.text)
    assert rig.booth.cycle is None
    rig.wait(config.capture.message_timeout_s + 0.1)
    assert rig.booth.state is State.IDLE


def test_a_trigger_with_no_row_is_ignored(config, roster, ledger, sim_camera, checker, photo_output, students):
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    assert rig.open_class(students[0]) is State.IDLE
    assert rig.operator(OperatorAction.CLOSE_SESSION) is State.SUMMARY
    frames = rig.display.frames
    assert rig.press() is State.SUMMARY  # no (SUMMARY, button) row
    assert rig.send(Tick()) is State.SUMMARY
    assert rig.display.frames == frames
