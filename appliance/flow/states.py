"""The booth's states and the transitions between them.

    CLOSED ⇄ NO_SESSION ──open──▶ IDLE ──card──▶ REFUSED ─timeout─▶ IDLE
                                    │             CONFIRM ─allow─▶ READY │ deny/timeout ▶ IDLE
                                    └──card──▶ READY ──button──▶ COUNTDOWN ──(wall clock)──▶ capture
    capture ▶ check ▶ REVIEW ──button (passed)──▶ SAVED ─timeout─▶ IDLE (make-up: ▶ PAYMENT)
                        │ button (failed), retake ──▶ COUNTDOWN   (up to the retake limit)
                        └ limit reached ▶ REFUSED
    IDLE ──close──▶ SUMMARY ──payment confirmed / deferred──▶ NO_SESSION   (shown again after a restart until then)
    any state ──exception──▶ ERROR ─timeout─▶ IDLE;   a new card in any cycle state restarts the cycle.

A press, a retake or an operator command that answers a screen (allow, deny, payment) is taken only if
made at least ``capture.input_guard_s`` after that screen appeared; a review times out into a saved
photo only if its countdown was started by a press made after the student's own READY screen.
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


# States that belong to one student's cycle: a new card there cancels the cycle and starts over.
CYCLE_STATES = frozenset({State.CONFIRM, State.READY, State.COUNTDOWN, State.REVIEW})
# States that take a card swipe at all.
SWIPE_STATES = CYCLE_STATES | {State.IDLE, State.REFUSED, State.SAVED, State.ERROR}
# States that still refer to the cycle's student (the saved screen, the make-up payment).
KEEPS_CYCLE = CYCLE_STATES | {State.SAVED, State.PAYMENT}
