"""The booth's transition table: (state, trigger) -> the handler that runs and the states it may enter.

``TABLE`` is the whole state machine on one screen. ``Booth.handle`` turns each event into a
``Trigger``, looks up the row for the current state and runs its handler; a trigger with no row in
that state is ignored. A handler may enter only the row's ``targets``: entering any other state is
a bug, logged and turned into ERROR (``UndeclaredTransition``). ERROR itself is the one failsafe
state, reachable from anywhere when a handler fails.

The diagram in ``docs/booth-states.md`` and in the docstring of ``appliance.flow.states`` is
generated from this table (``python -m appliance.flow.transitions`` rewrites both); a test fails
when they differ from it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from appliance.flow.states import OPERATING, SWIPE_STATES, State


class Trigger(enum.StrEnum):
    START = "start"  # the booth process starts (a summary left unpaid by a crash is shown again)
    TICK = "tick"  # time passes (live preview, opening hours, the office link in the header)
    TIMEOUT = "timeout"  # the screen's time is up
    COUNTDOWN_OVER = "countdown over"  # capture, check, show the verdict
    CARD = "card"
    READER_FAULT = "reader fault"
    READER_BACK = "reader back"
    BUTTON = "button"
    RETAKE = "retake"
    OPEN = "open"  # open_class / open_makeup
    CLOSE = "close"
    CONFIRM_PAYMENT = "payment confirmed"
    DEFER_PAYMENT = "payment deferred"
    ALLOW = "allow"
    DENY = "deny"
    CALL_OPERATOR = "operator called"  # the operator button held, or the screen's corner tapped
    KEY = "key"  # a tap on a key of the keypad or the operator menu


class UndeclaredTransition(RuntimeError):
    """A handler entered a state its table row does not list: a bug in the flow."""


@dataclass(frozen=True)
class Transition:
    trigger: Trigger
    sources: frozenset[State]
    handler: str  # the name of the ``Booth`` method that runs
    targets: frozenset[State]  # the states the handler may enter (empty: it stays)


ALL = frozenset(State)
# Where the booth waits between students; BLOCKED while the reader or the camera is missing.
RESTING = frozenset({State.CLOSED, State.NO_SESSION, State.IDLE, State.BLOCKED})
# Where a missing reader blocks the booth at once (in a cycle it waits for the cycle's end).
BLOCKABLE = RESTING | {State.REFUSED, State.SAVED, State.ERROR}
SAVING = frozenset({State.SAVED, State.PAYMENT})  # a kept photo (class / make-up)
NEW_CYCLE = frozenset({State.READY, State.CONFIRM, State.REFUSED})  # what a card read leads to


def row(trigger: Trigger, sources: Iterable[State], handler: str, targets: Iterable[State] = ()) -> Transition:
    return Transition(trigger, frozenset(sources), handler, frozenset(targets))


# States where no session may be open (only there can one be opened) and where one may be (closed).
SESSIONLESS = frozenset({State.CLOSED, State.NO_SESSION, State.SUMMARY, State.REFUSED, State.ERROR, State.BLOCKED})
CLOSABLE = frozenset({State.CLOSED, State.IDLE, State.REFUSED, State.ERROR, State.SAVED, State.PAYMENT,
                      State.BLOCKED})
# Where the operator may open the keypad (not while a student is being photographed: over a review,
# to keep a photo with warnings only), and the screens the keypad and the menu go back to (the one
# they were opened over, or where the booth rests).
MENU_ORIGINS = RESTING | {State.CONFIRM, State.SUMMARY, State.PAYMENT, State.REVIEW, State.REFUSED, State.SAVED,
                          State.ERROR}
MENU_RETURNS = RESTING | {State.CONFIRM, State.SUMMARY, State.PAYMENT, State.REVIEW}
# Office commands while the operator is at the keypad or the menu are refused, not run underneath it.
COMMANDABLE = ALL - OPERATING

S = State
TABLE: tuple[Transition, ...] = (
    row(Trigger.START, {S.NO_SESSION}, "_start", {S.SUMMARY} | RESTING),
    row(Trigger.TICK, RESTING, "_follow_hours", RESTING),
    row(Trigger.TICK, {S.COUNTDOWN}, "_preview", {S.BLOCKED}),  # the camera stopped delivering
    row(Trigger.TIMEOUT, {S.CONFIRM, S.READY, S.REFUSED, S.SAVED, S.PAYMENT, S.ERROR}, "_timeout", RESTING),
    row(Trigger.TIMEOUT, {S.REVIEW}, "_timeout", RESTING | SAVING),  # a compliant photo is kept
    row(Trigger.TIMEOUT, {S.SUMMARY}, "_timeout", RESTING | {S.SUMMARY}),  # a tally with no fee (a class fee waits)
    row(Trigger.COUNTDOWN_OVER, {S.COUNTDOWN}, "_capture_and_check", {S.REVIEW, S.BLOCKED}),
    row(Trigger.CARD, SWIPE_STATES - {S.REVIEW}, "_card", NEW_CYCLE),  # in a cycle: that cycle is cancelled
    row(Trigger.CARD, {S.REVIEW}, "_card", NEW_CYCLE | SAVING),  # a compliant photo is kept first
    row(Trigger.CARD, {S.NO_SESSION}, "_card", {S.REFUSED}),
    row(Trigger.CARD, {S.PAYMENT, S.SUMMARY}, "_card_waits"),  # told to wait for the operator
    row(Trigger.READER_FAULT, BLOCKABLE, "_reader_fault", {S.ERROR, S.BLOCKED}),  # missing: BLOCKED
    row(Trigger.READER_FAULT, ALL - BLOCKABLE, "_reader_fault"),  # noted: BLOCKED when the cycle ends
    row(Trigger.READER_BACK, {S.BLOCKED}, "_reader_back", RESTING),
    row(Trigger.READER_BACK, ALL - {S.BLOCKED}, "_reader_back"),  # noted
    row(Trigger.BUTTON, {S.READY}, "_button", {S.COUNTDOWN, S.BLOCKED}),  # BLOCKED: no camera frame
    row(Trigger.BUTTON, {S.REVIEW}, "_button", {S.COUNTDOWN, S.BLOCKED} | SAVING),  # retake a failed one / keep
    row(Trigger.BUTTON, {S.SAVED, S.REFUSED, S.ERROR}, "_button", RESTING),
    row(Trigger.RETAKE, {S.REVIEW}, "_retake", {S.COUNTDOWN, S.BLOCKED}),
    row(Trigger.OPEN, SESSIONLESS, "_open", RESTING),
    row(Trigger.OPEN, COMMANDABLE - SESSIONLESS, "_open"),  # refused: a session is open
    row(Trigger.CLOSE, CLOSABLE, "_close_session", {S.SUMMARY}),
    row(Trigger.CLOSE, COMMANDABLE - CLOSABLE, "_close_session"),  # refused: no session, or a student in a cycle
    row(Trigger.CONFIRM_PAYMENT, {S.SUMMARY}, "_confirm_payment", {S.SUMMARY} | RESTING),  # the next unpaid
    row(Trigger.CONFIRM_PAYMENT, {S.PAYMENT}, "_confirm_payment", RESTING),
    row(Trigger.CONFIRM_PAYMENT, COMMANDABLE - {S.SUMMARY, S.PAYMENT}, "_confirm_payment"),  # refused: none waiting
    row(Trigger.DEFER_PAYMENT, {S.SUMMARY}, "_defer_payment", {S.SUMMARY} | RESTING),
    row(Trigger.DEFER_PAYMENT, COMMANDABLE - {S.SUMMARY}, "_defer_payment"),  # refused: no class payment waiting
    row(Trigger.ALLOW, {S.CONFIRM}, "_allow", {S.READY}),
    row(Trigger.ALLOW, {S.REVIEW}, "_allow", SAVING),  # kept despite "confirm" checks; else refused
    row(Trigger.DENY, {S.CONFIRM}, "_deny", RESTING),
    row(Trigger.ALLOW, COMMANDABLE - {S.CONFIRM, S.REVIEW}, "_allow"),  # refused: nothing to confirm
    row(Trigger.DENY, COMMANDABLE - {S.CONFIRM}, "_deny"),  # refused: nothing to confirm
    *(row(trigger, OPERATING, "_operator_busy") for trigger in (  # refused: the operator is at the booth
        Trigger.OPEN, Trigger.CLOSE, Trigger.CONFIRM_PAYMENT, Trigger.DEFER_PAYMENT, Trigger.ALLOW, Trigger.DENY)),
    row(Trigger.CALL_OPERATOR, MENU_ORIGINS, "_call_operator", {S.OPERATOR_PIN}),
    row(Trigger.KEY, {S.OPERATOR_PIN}, "_keypad_key", {S.OPERATOR_PIN, S.OPERATOR_MENU} | MENU_RETURNS),
    # A menu action goes back to the screen the menu was opened over and runs there, under that
    # state's own row (CONFIRM --allow--> READY); refused, the menu comes back with the reason.
    row(Trigger.KEY, {S.OPERATOR_MENU}, "_menu_key", {S.OPERATOR_MENU} | MENU_RETURNS),
    row(Trigger.TICK, {S.OPERATOR_PIN}, "_keypad_tick"),  # the lock's seconds left
    row(Trigger.TIMEOUT, OPERATING, "_leave_menu", MENU_RETURNS),  # the operator walked away
)


def compile_table(table: Iterable[Transition]) -> dict[tuple[State, Trigger], Transition]:
    """The lookup ``Booth.handle`` uses; raises ValueError when two rows claim the same (state, trigger)."""
    lookup: dict[tuple[State, Trigger], Transition] = {}
    for transition in table:
        for source in transition.sources:
            key = (source, transition.trigger)
            if key in lookup:
                raise ValueError(f"two rows for {source} on {transition.trigger}")
            lookup[key] = transition
    return lookup


LOOKUP = compile_table(TABLE)


# ---------------------------------------------------------------- the generated diagrams
def _names(states: frozenset[State]) -> str:
    if states == ALL:
        return "any state"
    if len(states) > len(ALL) // 2:
        return "any but " + ", ".join(state.name for state in State if state not in states)
    return ", ".join(state.name for state in State if state in states)


LINE_CHARS = 116  # the docstring it goes into keeps ruff's 120 columns


def text_diagram(table: Iterable[Transition] = TABLE) -> str:
    """One line per row: ``sources --trigger--> targets  (handler)``; ``stays`` when it enters none.
    A row longer than ``LINE_CHARS`` puts its targets on a second, indented line."""
    lines = []
    for transition in table:
        targets = " | ".join(state.name for state in State if state in transition.targets) or "stays"
        if len(transition.targets) > len(ALL) // 2:  # named by the states it cannot enter
            targets = _names(transition.targets)
        head, tail = f"    {_names(transition.sources)} --{transition.trigger}-->", f"{targets}  ({transition.handler})"
        if len(head) + 1 + len(tail) <= LINE_CHARS:
            lines.append(f"{head} {tail}")
        else:  # the targets go on the next line, indented under the row
            lines += [head, f"        {tail}"]
    lines.append("    any state --a handler fails--> ERROR  (failsafe)")
    return "\n".join(lines)


def mermaid_diagram(table: Iterable[Transition] = TABLE) -> str:
    """A Mermaid ``stateDiagram-v2`` of every declared move (GitHub renders it); staying put is left out."""
    edges: dict[tuple[State, State], list[str]] = {}
    for transition in table:
        for source in sorted(transition.sources, key=list(State).index):
            for target in sorted(transition.targets, key=list(State).index):
                labels = edges.setdefault((source, target), [])
                if transition.trigger not in labels:
                    labels.append(transition.trigger)
    lines = ["stateDiagram-v2", "    [*] --> NO_SESSION"]
    lines += [f"    {source.name} --> {target.name}: {', '.join(labels)}" for (source, target), labels in edges.items()]
    return "\n".join(lines)


DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "booth-states.md"
STATES_PATH = Path(__file__).resolve().with_name("states.py")
BEGIN, END = "<!-- generated from appliance/flow/transitions.py: begin -->", "<!-- generated: end -->"
DOC_BEGIN, DOC_END = "Transitions (generated from ``transitions.TABLE``):\n\n", "\n\nA press, a retake"


def docs_page() -> str:
    """The block of ``docs/booth-states.md`` between its markers."""
    return f"{BEGIN}\n```mermaid\n{mermaid_diagram()}\n```\n\n```text\n{text_diagram()}\n```\n{END}"


def _replace_between(text: str, begin: str, end: str, body: str) -> str:
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"markers {begin!r} ... {end!r} not found")
    return pattern.sub(lambda _: begin + body + end, text, count=1)


def write_diagrams() -> None:
    """Rewrite the generated parts of the docs page and of ``states.py``'s docstring."""
    page = DOC_PATH.read_text(encoding="utf-8")
    DOC_PATH.write_text(_replace_between(page, BEGIN, END, docs_page()[len(BEGIN):-len(END)]), encoding="utf-8")
    source = STATES_PATH.read_text(encoding="utf-8")
    STATES_PATH.write_text(_replace_between(source, DOC_BEGIN, DOC_END, text_diagram()), encoding="utf-8")


if __name__ == "__main__":
    write_diagrams()
