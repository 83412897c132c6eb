"""The booth loop: the reader thread, the GPIO button and the LEDs feed the state machine.

The loop runs on the test's main thread (as on the booth, where it owns the database and the
screen); the people act from another thread.
"""

from __future__ import annotations

import threading
import time

from gpiozero.pins.mock import MockFactory

from appliance.cardreader.base import ReaderUnavailable
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.flow.events import OperatorAction, OperatorCommand
from appliance.flow.states import State
from appliance.hardware.gpio import BoothPanel, Lamp, PanelLights
from appliance.runtime import BoothInbox, BoothLoop, panel_feeds
from appliance.simulation.panel import press
from appliance.simulation.roster_gen import card_for
from tests.booth.test_booth_flow import Rig


def test_card_reader_thread_and_gpio_button_drive_the_booth(config, roster, ledger, sim_camera, checker,
                                                            photo_output, students):
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    rig.booth.clock = time.monotonic
    reader = SimulatedCardReader()
    inbox = BoothInbox(rig.booth.clock)
    panel = BoothPanel(config.hardware, MockFactory())
    rig.booth.listeners.append(panel_feeds(panel, inbox))
    loop = BoothLoop(rig.booth, reader, inbox)
    seen: list[tuple[State, PanelLights]] = []
    rig.booth.listeners.append(lambda previous, state: seen.append((state, panel.lights)))
    failures: list[str] = []
    react_s = config.capture.input_guard_s + 0.1

    def wait_for(state: State, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while rig.booth.state is not state:
            if time.monotonic() > deadline:
                raise AssertionError(f"never reached {state}; at {rig.booth.state}")
            time.sleep(0.02)

    def people() -> None:
        try:
            inbox.post(OperatorCommand(OperatorAction.OPEN_CLASS, pin=config.operator.pin,
                                      args={"college": students[0].college, "class_name": students[0].class_name}))
            wait_for(State.IDLE)
            reader.fail(ReaderUnavailable("reader unplugged"))
            wait_for(State.BLOCKED)
            wait_for(State.IDLE)  # the reader's next wait succeeded: the thread posted that it is back
            reader.present(card_for(students[0]))  # the reader thread carried on after the fault
            wait_for(State.READY)
            time.sleep(react_s)  # the student reads the screen before pressing (the input guard)
            press(panel)
            wait_for(State.REVIEW)
            time.sleep(react_s)
            press(panel)
            wait_for(State.SAVED)
        except AssertionError as error:
            failures.append(str(error))
        finally:
            loop.stop()

    threading.Thread(target=people, daemon=True).start()
    try:
        loop.run()
    finally:
        panel.close()
    assert not failures, failures
    assert rig.booth.last_outcome.id_number == students[0].id_number
    assert (State.IDLE, PanelLights(ready=Lamp.ON)) in seen
    assert (State.COUNTDOWN, PanelLights(busy=Lamp.BLINK, lights=True)) in seen
