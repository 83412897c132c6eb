"""The button and LED panel on gpiozero's MockFactory: the real gpiozero devices, mock pins."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.config import HardwareSection
from appliance.hardware.gpio import BOUNCE_S, BoothPanel, GpioError, pin_factory
from appliance.simulation.panel import press


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def panel_and_presses():
    presses: list[int] = []
    clock = FakeClock()
    panel = BoothPanel(HardwareSection(), factory=MockFactory(), when_pressed=lambda: presses.append(1), clock=clock)
    yield panel, presses, clock
    panel.close()


def test_a_press_calls_the_callback_once(panel_and_presses) -> None:
    panel, presses, clock = panel_and_presses
    press(panel)
    assert presses == [1]
    assert not panel.button_pressed
    clock.now += BOUNCE_S * 2
    press(panel)
    assert presses == [1, 1]


def test_contact_bounce_is_one_press(panel_and_presses) -> None:
    panel, presses, clock = panel_and_presses
    pin = panel.pin("button")
    for _ in range(5):  # a bouncing contact: low/high/low/high... within the bounce window
        pin.drive_low()
        pin.drive_high()
        clock.now += BOUNCE_S / 10
    assert presses == [1]
    clock.now += BOUNCE_S
    pin.drive_low()
    assert panel.button_pressed
    pin.drive_high()
    assert presses == [1, 1]


def test_button_is_wired_active_low_with_pull_up(panel_and_presses) -> None:
    panel, presses, _ = panel_and_presses
    pin = panel.pin("button")
    assert pin.pull == "up" and pin.state  # idle high through the pull-up
    pin.drive_low()
    assert panel.button_pressed and presses == [1]
    pin.drive_high()


def test_leds_follow_the_state(panel_and_presses) -> None:
    panel, _, _ = panel_and_presses
    ready, busy = panel.pin("ready"), panel.pin("busy")
    panel.set_state(ready=True, busy=False)
    assert (ready.state, busy.state) == (True, False)
    assert panel.ready_lit and not panel.busy_lit
    panel.set_state(ready=False, busy=True)
    assert (ready.state, busy.state) == (False, True)
    panel.set_state(ready=False, busy=False)
    assert (ready.state, busy.state) == (False, False)


def test_busy_led_blinks_during_the_countdown(panel_and_presses) -> None:
    panel, _, _ = panel_and_presses
    busy = panel.pin("busy")
    busy.clear_states()
    panel.set_state(ready=False, busy=True, blink=True)
    panel.set_state(ready=False, busy=True, blink=True)  # every loop tick: must not restart the blink
    deadline = time.monotonic() + 10
    while len(busy.states) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [s.state for s in busy.states[1:5]] == [True, False, True, False]
    panel.set_state(ready=True, busy=False)
    assert not busy.state and panel.pin("ready").state


def test_a_failing_callback_does_not_break_the_button() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("flow bug")

    ticks = iter(range(0, 100, 1))
    panel = BoothPanel(HardwareSection(), factory=MockFactory(), when_pressed=broken, clock=lambda: float(next(ticks)))
    try:
        press(panel)
        press(panel)
        assert calls == [1, 1]
    finally:
        panel.close()


def test_close_turns_leds_off_and_releases_the_pins() -> None:
    panel = BoothPanel(HardwareSection(), factory=MockFactory())
    panel.set_state(ready=True, busy=True)
    ready = panel.pin("ready")
    panel.close()
    assert ready.state is False
    assert ready.function == "input"  # released: a mock pin returns to input on close


def test_pins_must_differ() -> None:
    with pytest.raises(GpioError, match=re.escape("hardware.button_pin = 17, hardware.ready_led_pin = 17")):
        BoothPanel(HardwareSection(ready_led_pin=17), factory=MockFactory())


def test_the_pin_factory_follows_the_config() -> None:
    factory = pin_factory(HardwareSection(gpio="simulated"))
    assert isinstance(factory, MockFactory)
    panel = BoothPanel(HardwareSection(gpio="simulated"), factory=factory)
    panel.close()
    assert pin_factory(HardwareSection(gpio="gpio")) is None  # gpiozero's default: the real header


@pytest.mark.skipif(Path("/proc/device-tree/model").exists(), reason="a real board has GPIO")
@pytest.mark.filterwarnings("ignore::gpiozero.exc.PinFactoryFallback")
def test_real_gpio_without_a_board_is_one_clear_error() -> None:
    with pytest.raises(GpioError, match=re.escape("hardware.gpio = 'gpio': cannot open the GPIO pins")):
        BoothPanel(HardwareSection(gpio="gpio"), factory=pin_factory(HardwareSection(gpio="gpio")))
    panel = BoothPanel(HardwareSection(), factory=MockFactory())
    panel.close()
