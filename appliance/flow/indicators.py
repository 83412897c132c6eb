"""What the panel's LEDs and the lights' relay show in each state: a listener of the state machine.

The flow never switches a lamp itself; ``PanelIndicator`` follows each state the booth enters.

    state                        ready (green)  busy (amber)  error (red)  lights relay
    IDLE                         on             -             -            -
    CONFIRM                      -              -             -            on
    READY                        on             -             -            on
    COUNTDOWN                    -              blinks 2 Hz   -            on
    REVIEW                       -              on            -            on
    REFUSED                      -              -             blinks       -
    ERROR, BLOCKED               -              -             on           -
    CLOSED, NO_SESSION, SAVED,   -              -             -            -
    PAYMENT, SUMMARY,
    OPERATOR_PIN, OPERATOR_MENU

Green: the booth waits for a card or a press. Amber: the camera is at work or its photo is shown.
Red: staff is needed (steady) or a card was refused (blinking). The lights burn from the card read
to the end of the review (the cycle's states), not while the booth waits.
"""

from __future__ import annotations

from typing import Protocol

from appliance.flow.states import CYCLE_STATES, State
from appliance.hardware.gpio import Lamp, PanelLights

_READY = frozenset({State.IDLE, State.READY})
_BUSY = {State.COUNTDOWN: Lamp.BLINK, State.REVIEW: Lamp.ON}
_ERROR = {State.ERROR: Lamp.ON, State.BLOCKED: Lamp.ON, State.REFUSED: Lamp.BLINK}


def panel_lights(state: State) -> PanelLights:
    """The LEDs and the relay for ``state`` (the table above)."""
    return PanelLights(ready=Lamp.ON if state in _READY else Lamp.OFF, busy=_BUSY.get(state, Lamp.OFF),
                       error=_ERROR.get(state, Lamp.OFF), lights=state in CYCLE_STATES)


class LightPanel(Protocol):
    def show(self, lights: PanelLights) -> None: ...


class PanelIndicator:
    """A booth listener: the panel shows ``panel_lights`` of each state entered."""

    def __init__(self, panel: LightPanel) -> None:
        self.panel = panel

    def __call__(self, previous: State, state: State) -> None:
        self.panel.show(panel_lights(state))
