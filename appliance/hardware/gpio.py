"""The booth's panel on the Pi's GPIO header, through gpiozero: three buttons, three LEDs, the lights' relay.

The big button takes the photo and keeps it, the retake button asks for another, the operator
button held ``hardware.operator_hold_s`` (3 s) opens the operator menu. The LEDs (ready green, busy
amber, error red) and the relay only show what they are told (``show``): the booth's state decides
it (``appliance.flow.indicators``), the panel knows nothing of the flow.

Every device is built on the pin factory ``hardware.pin_factory`` names (``open_pin_factory``); a
real one that cannot load is a ``GpioError`` naming the package to install, never a quiet fall back
to gpiozero's MockFactory. With ``mock``, ``appliance.simulation.panel`` drives the mock pins like a
finger would, so the simulated booth and the tests run the real gpiozero code down to the pin.
gpiozero is imported only here.

Wiring (BCM numbers, defaults; README, Hardware wiring): buttons between their GPIO and GND
(internal pull-up, pressed = low); each LED GPIO -> 330 ohm -> LED -> GND; the relay board's IN on
its GPIO (``lights_relay_active_high`` = false for boards that switch on a low input).
"""

from __future__ import annotations

import enum
import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance.config import HardwareSection
from boothcore.cli import CommandError

if TYPE_CHECKING:
    from gpiozero import Factory, Pin

log = logging.getLogger(__name__)

BOUNCE_S = 0.05  # contacts of arcade buttons settle within a few ms; 50 ms also stops a double tap
BLINK_ON_S = 0.25  # a blinking LED: 2 Hz, visible from the seat
BLINK_OFF_S = 0.25

# hardware.pin_factory -> (gpiozero module, factory class, what to install when it cannot be imported)
PIN_FACTORIES: dict[str, tuple[str, str, str]] = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory",
              "the lgpio package (apt install python3-lgpio, or pip install lgpio: the [pi] extra)"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory",
                "the RPi.GPIO package (apt install python3-rpi.gpio, or pip install RPi.GPIO)"),
    "native": ("gpiozero.pins.native", "NativeFactory", "gpiozero 2 (pip install 'gpiozero>=2.0')"),
    "mock": ("gpiozero.pins.mock", "MockFactory", "gpiozero 2 (pip install 'gpiozero>=2.0')"),
}


class GpioError(CommandError):
    """The panel could not be set up; phrased as the one line the operator sees (exit 2 at start)."""


def open_pin_factory(name: str) -> Factory:
    """The gpiozero pin factory ``name`` (a ``hardware.pin_factory`` value), loaded now.

    Raises ``GpioError`` naming the factory and the package to install when its module cannot be
    imported, or the factory and the fix when it loads but cannot open the header (not a Pi, no
    access to /dev/gpiochip*).
    """
    module_name, class_name, package = PIN_FACTORIES[name]
    where = f"hardware.pin_factory = {name!r}"
    try:
        factory_class = getattr(importlib.import_module(module_name), class_name)
    except ImportError as error:
        raise GpioError(f"{where}: gpiozero's {class_name} cannot load ({error}); install {package}") from error
    try:
        factory: Factory = factory_class()
    except Exception as error:  # gpiozero's PinError kinds, OSError for /dev/gpiochip*, RuntimeError from RPi.GPIO
        raise GpioError(f"{where}: gpiozero's {class_name} cannot open the GPIO header "
                        f"({type(error).__name__}: {error}); run on a Raspberry Pi as a user in the gpio group, "
                        f"or set hardware.pin_factory = \"mock\" for the simulated booth") from error
    return factory


class Lamp(enum.StrEnum):
    OFF = "off"
    ON = "on"
    BLINK = "blink"  # BLINK_ON_S / BLINK_OFF_S


@dataclass(frozen=True)
class PanelLights:
    """What the panel's outputs show: the three LEDs and the lights' relay (on = the lights are on)."""

    ready: Lamp = Lamp.OFF
    busy: Lamp = Lamp.OFF
    error: Lamp = Lamp.OFF
    lights: bool = False


# Part names for ``pin`` and ``is_active``, by config key.
PARTS = {"button": "button_pin", "retake": "retake_button_pin", "operator": "operator_button_pin",
         "ready": "ready_led_pin", "busy": "busy_led_pin", "error": "error_led_pin", "relay": "lights_relay_pin"}


class BoothPanel:
    """The panel's devices on ``factory``'s pins; the panel owns the factory (``close()`` closes it).

    Input: ``when_button``, ``when_retake`` (a press, on gpiozero's thread) and ``when_operator_held``
    (the operator button held ``hardware.operator_hold_s``); each a callable without arguments, set
    before or after construction. Output: ``show(PanelLights)``.
    """

    def __init__(self, hardware: HardwareSection, factory: Factory, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.when_button: Callable[[], None] | None = None
        self.when_retake: Callable[[], None] | None = None
        self.when_operator_held: Callable[[], None] | None = None
        self._clock = clock
        self._last_press: dict[str, float] = {}
        self._lock = threading.Lock()
        self._shown: PanelLights | None = None
        self._factory: Factory | None = factory
        self._devices: dict[str, Any] = {}
        try:
            from gpiozero import LED, Button, DigitalOutputDevice

            for part in ("button", "retake"):
                self._devices[part] = Button(getattr(hardware, PARTS[part]), pull_up=True, bounce_time=BOUNCE_S,
                                             pin_factory=factory)
            self._devices["operator"] = Button(hardware.operator_button_pin, pull_up=True, bounce_time=BOUNCE_S,
                                               hold_time=hardware.operator_hold_s, pin_factory=factory)
            for part in ("ready", "busy", "error"):
                self._devices[part] = LED(getattr(hardware, PARTS[part]), pin_factory=factory)
            if hardware.lights_relay:
                self._devices["relay"] = DigitalOutputDevice(
                    hardware.lights_relay_pin, active_high=hardware.lights_relay_active_high, initial_value=False,
                    pin_factory=factory)
        except Exception as error:  # gpiozero raises many kinds (GPIOPinInUse, PinInvalidPin, OSError)
            self._close_devices()
            raise GpioError(f"hardware.pin_factory = {hardware.pin_factory!r}: cannot open the panel's GPIO pins "
                            f"({type(error).__name__}: {error})") from error
        self._devices["button"].when_pressed = lambda: self._pressed("button", self.when_button)
        self._devices["retake"].when_pressed = lambda: self._pressed("retake", self.when_retake)
        self._devices["operator"].when_held = lambda: self._call("operator", self.when_operator_held)
        log.debug("gpio: %s; %s", type(factory).__name__,
                 ", ".join(f"{part} GPIO{getattr(hardware, PARTS[part])}" for part in self._devices))

    def _pressed(self, part: str, callback: Callable[[], None] | None) -> None:
        """A falling edge (gpiozero's thread on real pins): a press unless it bounces off the last one."""
        now = self._clock()
        with self._lock:
            last = self._last_press.get(part)
            if last is not None and now - last < BOUNCE_S:
                return  # contact bounce the pin driver let through (the mock pin has no filter)
            self._last_press[part] = now
        self._call(part, callback)

    @staticmethod
    def _call(part: str, callback: Callable[[], None] | None) -> None:
        if callback is None:
            return
        try:
            callback()
        except Exception:
            log.exception("gpio: the %s callback failed", part)

    def show(self, lights: PanelLights) -> None:
        """Set the LEDs and the relay; showing what is already shown changes nothing (a blink is not
        restarted)."""
        if lights == self._shown:
            return
        self._shown = lights
        for part in ("ready", "busy", "error"):
            led, lamp = self._devices[part], getattr(lights, part)
            if lamp is Lamp.BLINK:
                led.blink(on_time=BLINK_ON_S, off_time=BLINK_OFF_S, background=True)
            else:
                led.value = lamp is Lamp.ON
        relay = self._devices.get("relay")
        if relay is not None:
            relay.value = lights.lights

    @property
    def lights(self) -> PanelLights:
        """What ``show`` was last told (all off before)."""
        return self._shown or PanelLights()

    def is_active(self, part: str) -> bool:
        """A button pressed, an LED lit, the relay on: read from the device (a blinking LED reads its phase)."""
        return bool(self._devices[part].is_active)

    @property
    def has_relay(self) -> bool:
        return "relay" in self._devices

    def pin(self, part: str) -> Pin:
        """The pin behind a part of ``PARTS`` (a MockPin on a MockFactory)."""
        return self._devices[part].pin

    def close(self) -> None:
        """Turn every output off and release the pins (a restarted booth can claim them again)."""
        for part in ("ready", "busy", "error", "relay"):
            device = self._devices.get(part)
            if device is not None and not device.closed:
                device.off()
        self._close_devices()

    def _close_devices(self) -> None:
        for device in self._devices.values():
            device.close()
        self._devices.clear()
        if self._factory is not None:
            self._factory.close()
            self._factory = None

    def __enter__(self) -> BoothPanel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_panel(hardware: HardwareSection) -> BoothPanel:
    """The panel on the configured pin factory (``GpioError`` when it cannot load or the pins are taken)."""
    return BoothPanel(hardware, open_pin_factory(hardware.pin_factory))
