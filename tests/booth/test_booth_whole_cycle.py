"""Issue 14's whole cycle on the kiosk, with nothing but the hardware edge simulated: SDL's dummy video
driver (the real pygame screen, fingers posted as SDL touch events), gpiozero's MockFactory pins (the
real gpiozero buttons, LEDs and relay), the simulated camera sensor and card reader; the booth runs
as ``booth run`` wires it (``app.build_service``, ``[hardware] pin_factory = "mock"``), its loop on
this test's main thread.

The operator holds the operator button, types the PIN on the keypad, opens a class from the menu; a
card is read; the big button starts the countdown; capture; review; keep. At each step the three
LEDs and the lights' relay are read back from their pins.
"""

from __future__ import annotations

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"  # before pygame is first imported
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import threading
import time
from collections.abc import Callable

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.app import build_service
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.flow.indicators import panel_lights
from appliance.flow.operator_menu import PICK, Page
from appliance.flow.states import State
from appliance.hardware.gpio import Lamp, PanelLights
from appliance.simulation.panel import press
from appliance.simulation.roster_gen import card_for
from appliance.ui.pygame_display import PygameDisplay
from tests.booth.conftest import YEAR

OFF = PanelLights()


@pytest.fixture
def config(tmp_path):
    return load_config(None, {"booth": {"data_dir": str(tmp_path / "data"), "graduation_year": YEAR},
                              "hours": {"enforce": False}, "hardware": {"lights_relay": True, "pin_factory": "mock"},
                              "capture": {"countdown_s": 1.5}})


def finger(display: PygameDisplay, pos: tuple[int, int]) -> None:
    """A finger down at ``pos`` on the touch screen: SDL's FINGERDOWN (fractions of the window) and the
    mouse copy SDL makes of it."""
    import pygame

    width, height = display.size
    pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=pos[0] / width, y=pos[1] / height, touch_id=1,
                                         finger_id=0, pressure=1.0, dx=0.0, dy=0.0))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, touch=True))


def test_operator_button_keypad_menu_card_button_countdown_review_keep(config, roster, students, checker):
    display = PygameDisplay(size=(800, 480))
    reader = SimulatedCardReader()
    service = build_service(config, display=display, reader=reader, checker=checker)
    parts, panel, booth = service.parts, service.panel, service.parts.booth
    assert isinstance(panel.pin("operator").factory, MockFactory)
    react_s = config.capture.input_guard_s + 0.1  # a person reads the screen before acting on it
    seen: list[tuple[str, State, PanelLights, dict[str, bool]]] = []
    failures: list[str] = []

    def wait_until(what: str, done: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not reached; the booth is in {booth.state}")
            time.sleep(0.02)

    def observe(step: str) -> None:
        """What the panel shows now, read back from the pins (a blinking LED is read from ``lights``).
        The booth's state is set before its listeners run: wait until the panel has followed it (the
        review was once read with the countdown's blinking lamp)."""
        state = booth.state
        wait_until(f"{step}: the panel follows {state}", lambda: panel.lights == panel_lights(state), timeout=5)
        pins = {part: panel.is_active(part) for part in ("ready", "busy", "error", "relay")}
        seen.append((step, booth.state, panel.lights, pins))

    def tap(key: str) -> None:
        time.sleep(react_s)
        rects = dict(display.key_rects)
        assert key in rects, f"no key {key!r} on the screen: {sorted(rects)}"
        finger(display, rects[key].center)

    def people() -> None:
        try:
            wait_until("start", lambda: booth.state is State.NO_SESSION)
            observe("start")
            operator = panel.pin("operator")
            pressed_at = time.monotonic()
            operator.drive_low()  # type: ignore[attr-defined]  # MockPin's
            wait_until("operator button held", lambda: booth.state is State.OPERATOR_PIN, timeout=10)
            held_s = time.monotonic() - pressed_at
            operator.drive_high()  # type: ignore[attr-defined]
            observe(f"keypad after {held_s:.1f} s")
            assert held_s >= config.hardware.operator_hold_s - 0.05, held_s
            for digit in config.operator.pin:
                tap(digit)
            tap("ok")
            wait_until("menu", lambda: booth.state is State.OPERATOR_MENU)
            observe("menu")
            tap("open_class")
            wait_until("colleges", lambda: booth.menu is not None and booth.menu.page is Page.COLLEGES)
            tap(f"{PICK}{booth.menu.colleges.index(students[0].college)}")
            wait_until("classes", lambda: booth.menu is not None and booth.menu.page is Page.CLASSES)
            names = [choice.class_name for choice in booth.menu.classes]
            tap(f"{PICK}{names.index(students[0].class_name)}")
            wait_until("class open", lambda: booth.state is State.IDLE)
            observe("idle")
            reader.present(card_for(students[0]))
            wait_until("card read", lambda: booth.state is State.READY)
            observe("ready")
            time.sleep(react_s)
            press(panel)
            wait_until("countdown", lambda: booth.state is State.COUNTDOWN)
            observe("countdown")
            wait_until("capture", lambda: booth.state is State.REVIEW)
            observe("review")
            time.sleep(react_s)
            press(panel)
            wait_until("kept", lambda: booth.state is State.SAVED)
            observe("saved")
        except AssertionError as error:
            failures.append(str(error))
        finally:
            service.loop.stop()

    threading.Thread(target=people, daemon=True).start()
    service.run()  # closes the panel, the display and the parts when the loop stops
    assert not failures, failures
    steps = {step.split(" after ")[0]: (state, lights, pins) for step, state, lights, pins in seen}
    assert list(steps) == ["start", "keypad", "menu", "idle", "ready", "countdown", "review", "saved"]
    dark = {"ready": False, "busy": False, "error": False, "relay": False}
    assert steps["start"] == (State.NO_SESSION, OFF, dark)
    assert steps["keypad"] == (State.OPERATOR_PIN, OFF, dark)
    assert steps["menu"] == (State.OPERATOR_MENU, OFF, dark)
    assert steps["idle"] == (State.IDLE, PanelLights(ready=Lamp.ON), {**dark, "ready": True})
    assert steps["ready"] == (State.READY, PanelLights(ready=Lamp.ON, lights=True),
                              {**dark, "ready": True, "relay": True})
    state, lights, pins = steps["countdown"]
    assert (state, lights) == (State.COUNTDOWN, PanelLights(busy=Lamp.BLINK, lights=True))
    assert pins["relay"] and not pins["ready"] and not pins["error"]  # busy blinks: either phase
    assert steps["review"] == (State.REVIEW, PanelLights(busy=Lamp.ON, lights=True),
                               {**dark, "busy": True, "relay": True})
    assert steps["saved"] == (State.SAVED, OFF, dark)
    outcome = booth.last_outcome
    assert outcome is not None and outcome.id_number == students[0].id_number and outcome.path.exists()
    actions = [row["action"] for row in parts.ledger.operator_actions()]
    assert actions == ["menu_opened", "open_class"]
