"""The booth's states and the transitions between them.

The transition table is ``appliance.flow.transitions.TABLE``; a trigger with no row in a state is
ignored there, and a new card in any cycle state cancels that cycle (a compliant photo in review
is kept first, as the review's timeout keeps it).

Transitions (generated from ``transitions.TABLE``):

    NO_SESSION --start--> CLOSED | NO_SESSION | IDLE | SUMMARY | BLOCKED  (_start)
    CLOSED, NO_SESSION, IDLE, BLOCKED --tick--> CLOSED | NO_SESSION | IDLE | BLOCKED  (_follow_hours)
    COUNTDOWN --tick--> BLOCKED  (_preview)
    CONFIRM, REFUSED, READY, SAVED, PAYMENT, ERROR --timeout--> CLOSED | NO_SESSION | IDLE | BLOCKED  (_timeout)
    REVIEW --timeout--> CLOSED | NO_SESSION | IDLE | SAVED | PAYMENT | BLOCKED  (_timeout)
    SUMMARY --timeout--> CLOSED | NO_SESSION | IDLE | SUMMARY | BLOCKED  (_timeout)
    COUNTDOWN --countdown over--> REVIEW | BLOCKED  (_capture_and_check)
    IDLE, CONFIRM, REFUSED, READY, COUNTDOWN, SAVED, ERROR --card--> CONFIRM | REFUSED | READY  (_card)
    REVIEW --card--> CONFIRM | REFUSED | READY | SAVED | PAYMENT  (_card)
    NO_SESSION --card--> REFUSED  (_card)
    PAYMENT, SUMMARY --card--> stays  (_card_waits)
    CLOSED, NO_SESSION, IDLE, REFUSED, SAVED, ERROR, BLOCKED --reader fault--> ERROR | BLOCKED  (_reader_fault)
    any but CLOSED, NO_SESSION, IDLE, REFUSED, SAVED, ERROR, BLOCKED --reader fault--> stays  (_reader_fault)
    BLOCKED --reader back--> CLOSED | NO_SESSION | IDLE | BLOCKED  (_reader_back)
    any but BLOCKED --reader back--> stays  (_reader_back)
    READY --button--> COUNTDOWN | BLOCKED  (_button)
    REVIEW --button--> COUNTDOWN | SAVED | PAYMENT | BLOCKED  (_button)
    REFUSED, SAVED, ERROR --button--> CLOSED | NO_SESSION | IDLE | BLOCKED  (_button)
    REVIEW --retake--> COUNTDOWN | BLOCKED  (_retake)
    CLOSED, NO_SESSION, REFUSED, SUMMARY, ERROR, BLOCKED --open--> CLOSED | NO_SESSION | IDLE | BLOCKED  (_open)
    IDLE, CONFIRM, READY, COUNTDOWN, REVIEW, SAVED, PAYMENT --open--> stays  (_open)
    CLOSED, IDLE, REFUSED, SAVED, PAYMENT, ERROR, BLOCKED --close--> SUMMARY  (_close_session)
    NO_SESSION, CONFIRM, READY, COUNTDOWN, REVIEW, SUMMARY --close--> stays  (_close_session)
    SUMMARY --payment confirmed--> CLOSED | NO_SESSION | IDLE | SUMMARY | BLOCKED  (_confirm_payment)
    PAYMENT --payment confirmed--> CLOSED | NO_SESSION | IDLE | BLOCKED  (_confirm_payment)
    any but PAYMENT, SUMMARY, OPERATOR_PIN, OPERATOR_MENU --payment confirmed--> stays  (_confirm_payment)
    SUMMARY --payment deferred--> CLOSED | NO_SESSION | IDLE | SUMMARY | BLOCKED  (_defer_payment)
    any but SUMMARY, OPERATOR_PIN, OPERATOR_MENU --payment deferred--> stays  (_defer_payment)
    CONFIRM --allow--> READY  (_allow)
    REVIEW --allow--> SAVED | PAYMENT  (_allow)
    CONFIRM --deny--> CLOSED | NO_SESSION | IDLE | BLOCKED  (_deny)
    any but CONFIRM, REVIEW, OPERATOR_PIN, OPERATOR_MENU --allow--> stays  (_allow)
    any but CONFIRM, OPERATOR_PIN, OPERATOR_MENU --deny--> stays  (_deny)
    OPERATOR_PIN, OPERATOR_MENU --open--> stays  (_operator_busy)
    OPERATOR_PIN, OPERATOR_MENU --close--> stays  (_operator_busy)
    OPERATOR_PIN, OPERATOR_MENU --payment confirmed--> stays  (_operator_busy)
    OPERATOR_PIN, OPERATOR_MENU --payment deferred--> stays  (_operator_busy)
    OPERATOR_PIN, OPERATOR_MENU --allow--> stays  (_operator_busy)
    OPERATOR_PIN, OPERATOR_MENU --deny--> stays  (_operator_busy)
    any but READY, COUNTDOWN, OPERATOR_PIN, OPERATOR_MENU --operator called--> OPERATOR_PIN  (_call_operator)
    OPERATOR_PIN --key--> any but REFUSED, READY, COUNTDOWN, SAVED, ERROR  (_keypad_key)
    OPERATOR_MENU --key--> any but REFUSED, READY, COUNTDOWN, SAVED, ERROR, OPERATOR_PIN  (_menu_key)
    OPERATOR_PIN --tick--> stays  (_keypad_tick)
    OPERATOR_PIN, OPERATOR_MENU --timeout-->
        any but REFUSED, READY, COUNTDOWN, SAVED, ERROR, OPERATOR_PIN, OPERATOR_MENU  (_leave_menu)
    any state --a handler fails--> ERROR  (failsafe)

A press, a retake or an operator command that answers a screen (allow, deny, payment) is taken only if
made at least ``capture.input_guard_s`` after that screen appeared; a review times out into a saved
photo only if its countdown was started by a press made after the student's own READY screen.

The operator's keypad and menu (OPERATOR_PIN, OPERATOR_MENU) open over the screen shown (not during a
student's photo) and go back to it; a menu action (allow, open a class, ...) goes back to that screen
and runs there under its own row. Office commands are refused while they are open.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    CLOSED = "closed"
    NO_SESSION = "no_session"
    IDLE = "idle"
    CONFIRM = "confirm"
    REFUSED = "refused"
    READY = "ready"
    COUNTDOWN = "countdown"
    REVIEW = "review"
    SAVED = "saved"
    PAYMENT = "payment"
    SUMMARY = "summary"
    ERROR = "error"
    BLOCKED = "blocked"  # the card reader or the camera is missing: no cards are taken until it is back
    OPERATOR_PIN = "operator_pin"  # the operator types the PIN on the keypad
    OPERATOR_MENU = "operator_menu"  # the operator menu (its pages), over the screen it was opened from


# States that belong to one student's cycle: a new card there cancels the cycle and starts over.
CYCLE_STATES = frozenset({State.CONFIRM, State.READY, State.COUNTDOWN, State.REVIEW})
# States that take a card swipe at all.
SWIPE_STATES = CYCLE_STATES | {State.IDLE, State.REFUSED, State.SAVED, State.ERROR}
# The operator's keypad and menu: cards and the big button wait until the operator leaves.
OPERATING = frozenset({State.OPERATOR_PIN, State.OPERATOR_MENU})
# States that still refer to the cycle's student (the saved screen, the make-up payment, and the
# operator's pages opened over a CONFIRM or a make-up payment).
KEEPS_CYCLE = CYCLE_STATES | OPERATING | {State.SAVED, State.PAYMENT}
