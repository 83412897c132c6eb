"""The GPIO panel on gpiozero's MockFactory: the real gpiozero devices, mock pins (the hardware edge).

Buttons are pressed by driving their pins low (``appliance.simulation.panel.press``); the LEDs and
the relay are read at their pins.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from appliance.config import HardwareSection, load_config
from appliance.flow.indicators import PanelIndicator, panel_lights
from appliance.flow.states import State
from appliance.hardware.gpio import BOUNCE_S, BoothPanel, GpioError, Lamp, PanelLights, open_panel, open_pin_factory
from appliance.simulation.panel import press
from boothcore.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
WITH_RELAY = HardwareSection(lights_relay=True, operator_hold_s=0.5)


@pytest.fixture
def panel(clock):
    shown = BoothPanel(WITH_RELAY, MockFactory(), clock=clock)
    yield shown
    shown.close()


def record(panel: BoothPanel) -> dict[str, list[int]]:
    calls: dict[str, list[int]] = {"button": [], "retake": [], "operator": []}
    panel.when_button = lambda: calls["button"].append(1)
    panel.when_retake = lambda: calls["retake"].append(1)
    panel.when_operator_held = lambda: calls["operator"].append(1)
    return calls


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_each_button_calls_its_own_callback_once_per_press(panel, clock) -> None:
    calls = record(panel)
    press(panel)
    assert calls == {"button": [1], "retake": [], "operator": []}
    press(panel, part="retake")
    assert calls == {"button": [1], "retake": [1], "operator": []}
    clock.now += 1
    press(panel)
    assert calls["button"] == [1, 1] and not panel.is_active("button")


def test_contact_bounce_is_one_press_per_button(panel, clock) -> None:
    calls = record(panel)
    pin = panel.pin("button")
    for _ in range(5):  # contacts chatter within a few ms: one press
        pin.drive_low()
        pin.drive_high()
    assert calls["button"] == [1]
    press(panel, part="retake")  # another button in the same instant is its own press
    assert calls["retake"] == [1]
    clock.now += BOUNCE_S + 0.01
    press(panel)
    assert calls["button"] == [1, 1]


def test_buttons_are_wired_active_low_with_pull_up(panel) -> None:
    calls = record(panel)
    for part in ("button", "retake", "operator"):
        pin = panel.pin(part)
        assert pin.pull == "up" and pin.state == 1  # idle: pulled high
        pin.drive_low()  # the contact closes to GND
        assert panel.is_active(part)
        pin.drive_high()
    assert calls["button"] == [1] and calls["retake"] == [1]


def test_the_operator_button_held_for_its_time_asks_for_the_menu_once(panel) -> None:
    calls = record(panel)
    press(panel, part="operator", hold_s=0.1)  # a brief press opens nothing
    time.sleep(0.6)
    assert calls["operator"] == []
    pin = panel.pin("operator")
    pin.drive_low()
    try:
        assert wait_until(lambda: calls["operator"] == [1], timeout=3)
        time.sleep(0.6)  # held on: still one request
        assert calls["operator"] == [1]
    finally:
        pin.drive_high()
    assert calls["button"] == [] and calls["retake"] == []


def test_leds_and_relay_show_what_they_are_told(panel) -> None:
    panel.show(PanelLights(ready=Lamp.ON, lights=True))
    assert panel.pin("ready").state and not panel.pin("busy").state and not panel.pin("error").state
    assert panel.pin("relay").state and panel.is_active("relay")
    panel.show(PanelLights(error=Lamp.ON))
    assert not panel.pin("ready").state and panel.pin("error").state and not panel.pin("relay").state
    panel.show(PanelLights())
    assert not any(panel.pin(part).state for part in ("ready", "busy", "error", "relay"))


def test_a_blinking_led_blinks_and_is_not_restarted_by_the_same_lights(panel) -> None:
    busy = panel.pin("busy")
    busy.clear_states()
    lights = PanelLights(busy=Lamp.BLINK, lights=True)
    panel.show(lights)
    panel.show(lights)  # shown again every state entered: must not restart the blink
    time.sleep(1.1)
    changes = [state for _, state in busy.states]
    assert changes.count(True) >= 2 and changes.count(False) >= 2  # 2 Hz: about 4 edges of each
    panel.show(PanelLights(ready=Lamp.ON))
    assert not busy.state and panel.pin("ready").state and panel.lights == PanelLights(ready=Lamp.ON)


def test_a_relay_board_switching_on_low_is_driven_low_for_on() -> None:
    panel = BoothPanel(HardwareSection(lights_relay=True, lights_relay_active_high=False), MockFactory())
    try:
        relay = panel.pin("relay")
        assert relay.state == 1  # off: the input is held high from the start
        panel.show(PanelLights(lights=True))
        assert relay.state == 0 and panel.is_active("relay")
    finally:
        panel.close()
    assert relay.state == 1  # closed: the lights are off


def test_without_a_relay_the_lights_flag_changes_nothing() -> None:
    panel = BoothPanel(HardwareSection(), MockFactory())
    try:
        assert not panel.has_relay
        panel.show(PanelLights(lights=True))
        assert panel.lights.lights
    finally:
        panel.close()


def test_a_failing_callback_does_not_break_the_button(clock) -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("flow bug")

    panel = BoothPanel(HardwareSection(), MockFactory(), clock=clock)
    panel.when_button = broken
    try:
        press(panel)
        clock.now += 1
        press(panel)
        assert calls == [1, 1]
    finally:
        panel.close()


def test_close_turns_every_output_off_and_releases_the_pins() -> None:
    panel = BoothPanel(WITH_RELAY, MockFactory())
    panel.show(PanelLights(ready=Lamp.ON, busy=Lamp.BLINK, error=Lamp.ON, lights=True))
    pins = [panel.pin(part) for part in ("ready", "busy", "error", "relay")]
    panel.close()
    assert [pin.state for pin in pins] == [False, False, False, False]
    assert all(pin.function == "input" for pin in pins)  # released: a mock pin returns to input on close


@pytest.mark.parametrize("state", list(State))
def test_the_indicator_shows_each_state_on_the_pins(panel, state) -> None:
    PanelIndicator(panel)(State.NO_SESSION, state)
    lights = panel_lights(state)
    assert panel.lights == lights
    for part in ("ready", "busy", "error"):
        lamp = getattr(lights, part)
        if lamp is not Lamp.BLINK:
            assert bool(panel.pin(part).state) is (lamp is Lamp.ON), part
    assert bool(panel.pin("relay").state) is lights.lights


def test_the_indicator_table() -> None:
    assert panel_lights(State.IDLE) == PanelLights(ready=Lamp.ON)
    assert panel_lights(State.READY) == PanelLights(ready=Lamp.ON, lights=True)
    assert panel_lights(State.CONFIRM) == PanelLights(lights=True)
    assert panel_lights(State.COUNTDOWN) == PanelLights(busy=Lamp.BLINK, lights=True)
    assert panel_lights(State.REVIEW) == PanelLights(busy=Lamp.ON, lights=True)
    assert panel_lights(State.REFUSED) == PanelLights(error=Lamp.BLINK)
    assert panel_lights(State.ERROR) == panel_lights(State.BLOCKED) == PanelLights(error=Lamp.ON)
    for state in (State.CLOSED, State.NO_SESSION, State.SAVED, State.PAYMENT, State.SUMMARY):
        assert panel_lights(state) == PanelLights(), state


# ---------------------------------------------------------------- configuration and pin factories
def test_a_pin_used_twice_is_one_config_error_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"hardware": {"retake_button_pin": 27}})
    assert str(caught.value) == ("config error: hardware.retake_button_pin and hardware.ready_led_pin are both "
                                 "GPIO27: each part needs its own pin")
    load_config(None, {"hardware": {"lights_relay_pin": 17}})  # no relay fitted: its pin is not used
    with pytest.raises(ConfigError, match=re.escape("hardware.button_pin and hardware.lights_relay_pin are both "
                                                    "GPIO17")):
        load_config(None, {"hardware": {"lights_relay": True, "lights_relay_pin": 17}})


def test_pins_outside_the_header_are_refused() -> None:
    with pytest.raises(ConfigError, match=re.escape("hardware.error_led_pin = 1:")):
        load_config(None, {"hardware": {"error_led_pin": 1}})  # the HAT EEPROM's bus
    with pytest.raises(ConfigError, match=re.escape("hardware.pin_factory = 'pigpio':")):
        load_config(None, {"hardware": {"pin_factory": "pigpio"}})


def test_the_mock_pin_factory_follows_the_config() -> None:
    panel = open_panel(HardwareSection(pin_factory="mock"))
    try:
        assert isinstance(panel.pin("button").factory, MockFactory)
    finally:
        panel.close()


@pytest.mark.parametrize(("name", "package", "install"), [
    ("lgpio", "lgpio", "apt install python3-lgpio, or pip install lgpio"),
    ("rpigpio", "RPi", "apt install python3-rpi.gpio, or pip install RPi.GPIO"),
])
def test_a_real_pin_factory_whose_package_is_absent_stops_with_what_to_install(monkeypatch, name, package,
                                                                             install) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # the package is absent: importing it fails
    for module in [key for key in sys.modules if key.startswith("gpiozero.pins.") and key != "gpiozero.pins.mock"]:
        monkeypatch.delitem(sys.modules, module)
    default = Device.pin_factory
    with pytest.raises(GpioError) as caught:
        open_panel(HardwareSection(pin_factory=name))
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"hardware.pin_factory = {name!r}: gpiozero's ")
    assert f"cannot load (No module named '{package}'" in line or "import of" in line
    assert install in line
    assert Device.pin_factory is default  # nothing fell back to a mock (or any) factory


@pytest.mark.skipif(Path("/proc/device-tree/model").exists(), reason="a real board has a GPIO header")
def test_the_native_factory_off_a_pi_is_one_clear_error() -> None:
    with pytest.raises(GpioError, match=re.escape("hardware.pin_factory = 'native': gpiozero's NativeFactory cannot "
                                                  "open the GPIO header (")):
        open_pin_factory("native")


@pytest.mark.skipif(importlib.util.find_spec("RPi") is not None, reason="RPi.GPIO is installed here")
def test_booth_run_asking_for_an_absent_pin_factory_stops_with_one_line_and_exit_2(tmp_path) -> None:
    """A real ``booth run`` process, as systemd starts it: RPi.GPIO is not installed in this venv."""
    config = tmp_path / "booth.toml"
    config.write_text(f'[booth]\ndata_dir = "{tmp_path / "data"}"\n[hardware]\npin_factory = "rpigpio"\n'
                      'screen = "headless"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "appliance.cli", "run", "--config", str(config)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "hardware.pin_factory = 'rpigpio'" in lines[0] and "RPiGPIOFactory" in lines[0]
    assert "pip install RPi.GPIO" in lines[0]
    assert not (tmp_path / "data" / "booth.db").exists()  # stopped before anything was opened


def test_booth_run_with_a_pin_used_twice_stops_with_one_line_and_exit_2(tmp_path) -> None:
    config = tmp_path / "booth.toml"
    config.write_text(f'[booth]\ndata_dir = "{tmp_path / "data"}"\n[hardware]\nerror_led_pin = 17\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "appliance.cli", "run", "--config", str(config)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == ("config error: hardware.button_pin and hardware.error_led_pin are both GPIO17: "
                                     "each part needs its own pin")


@pytest.mark.parametrize(("name", "package"), [("lgpio", "lgpio"), ("rpigpio", "RPi")])
def test_booth_doctor_names_the_package_a_real_pin_factory_needs(monkeypatch, name, package) -> None:
    from appliance.device.doctor import Doctor

    monkeypatch.setitem(sys.modules, package, None)
    for module in [key for key in sys.modules if key.startswith("gpiozero.pins.") and key != "gpiozero.pins.mock"]:
        monkeypatch.delitem(sys.modules, module)
    config = load_config(None, {"hardware": {"pin_factory": name}})
    check = Doctor(config, command=lambda argv: None).check_gpio(config)
    assert check.status == "fail" and check.detail.startswith(f"hardware.pin_factory = {name!r}: gpiozero's ")
    assert "install" in check.detail
    ok = Doctor(config, command=lambda argv: None).check_gpio(load_config(None, {}))
    assert ok.status == "warn" and "mock pin factory" in ok.detail
