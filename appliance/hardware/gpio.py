"""The booth's panel on the Pi's GPIO header: the big button and the ready/busy LEDs (gpiozero).

The panel takes a pin factory, as gpiozero devices do. The composition root picks it with
``pin_factory(hardware)``: gpiozero's MockFactory for ``hardware.gpio = "simulated"`` (the simulated
booth and the tests run the real gpiozero code down to the pin; ``appliance.simulation.panel``
drives the mock pins like a finger would), None on the Pi (``hardware.gpio = "gpio"``: gpiozero
picks its default factory, lgpio on the Pi 5, or whatever GPIOZERO_PIN_FACTORY names). gpiozero is
imported only here.

Wiring (BCM numbers, defaults): button between GPIO17 and GND (internal pull-up, pressed = low);
ready LED (green) GPIO27 -> 330 ohm -> LED -> GND; busy LED (red) GPIO22 -> 330 ohm -> LED -> GND.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.config import HardwareSection

if TYPE_CHECKING:
    from gpiozero import Factory, Pin

log = logging.getLogger(__name__)

BOUNCE_S = 0.05  # contacts of arcade buttons settle within a few ms; 50 ms also stops a double tap
BLINK_ON_S = 0.25  # busy LED blink during the countdown: 2 Hz, visible from the seat
BLINK_OFF_S = 0.25


class GpioError(Exception):
    """The panel could not be set up; phrased as the one line the operator sees."""


def pin_factory(hardware: HardwareSection) -> Factory | None:
    """The pin factory ``hardware.gpio`` asks for: a MockFactory when simulated, else None (gpiozero's
    default, the real header)."""
    if hardware.gpio != "simulated":
        return None
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


class BoothPanel:
    """The big button (``when_pressed``) and the two LEDs (``set_state``), on ``factory``'s pins.

    The panel owns the factory it is given: ``close()`` closes it with the devices.
    """

    def __init__(self, hardware: HardwareSection, *, factory: Factory | None = None,
                 when_pressed: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        pins = {"hardware.button_pin": hardware.button_pin, "hardware.ready_led_pin": hardware.ready_led_pin,
                "hardware.busy_led_pin": hardware.busy_led_pin}
        if len(set(pins.values())) != len(pins):
            listed = ", ".join(f"{key} = {value}" for key, value in pins.items())
            raise GpioError(f"config error: {listed}: the three pins must differ")
        self.when_pressed = when_pressed
        self._clock = clock
        self._last_press: float | None = None
        self._lock = threading.Lock()
        self._state: tuple[bool, bool, bool] | None = None
        self._factory = factory
        try:
            from gpiozero import LED, Button

            self._button = Button(hardware.button_pin, pull_up=True, bounce_time=BOUNCE_S,
                                  pin_factory=self._factory)
            self._ready = LED(hardware.ready_led_pin, pin_factory=self._factory)
            self._busy = LED(hardware.busy_led_pin, pin_factory=self._factory)
        except Exception as error:  # gpiozero raises many kinds (BadPinFactory, GPIOPinInUse, OSError)
            self._close_built()
            raise GpioError(f"hardware.gpio = {hardware.gpio!r}: cannot open the GPIO pins "
                            f"({type(error).__name__}: {error})") from error
        self._button.when_pressed = self._pressed
        log.info("gpio: %s, button GPIO%d, ready LED GPIO%d, busy LED GPIO%d",
                 f"{type(factory).__name__} pins" if factory else "real pins", hardware.button_pin,
                 hardware.ready_led_pin, hardware.busy_led_pin)

    def _pressed(self) -> None:
        """Called by gpiozero (its own thread on real pins) on the falling edge."""
        now = self._clock()
        with self._lock:
            if self._last_press is not None and now - self._last_press < BOUNCE_S:
                return  # contact bounce the pin driver let through (the mock pin has no filter)
            self._last_press = now
        callback = self.when_pressed
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("gpio: the button callback failed")

    def set_state(self, ready: bool, busy: bool, *, blink: bool = False) -> None:
        """Ready LED on when the booth waits for a card/press; busy LED on (blinking: countdown)."""
        state = (ready, busy, blink)
        if state == self._state:
            return  # called every loop tick; restarting a blink would make it stutter
        self._state = state
        self._ready.value = ready
        if busy and blink:
            self._busy.blink(on_time=BLINK_ON_S, off_time=BLINK_OFF_S, background=True)
        else:
            self._busy.value = busy

    @property
    def ready_lit(self) -> bool:
        return bool(self._ready.is_lit)

    @property
    def busy_lit(self) -> bool:
        return bool(self._busy.is_lit)

    @property
    def button_pressed(self) -> bool:
        return bool(self._button.is_pressed)

    def pin(self, which: str) -> Pin:
        """The pin behind ``button``, ``ready`` or ``busy`` (a MockPin on a MockFactory)."""
        device = {"button": self._button, "ready": self._ready, "busy": self._busy}[which]
        return device.pin

    def close(self) -> None:
        """Turn the LEDs off and release the pins (a restarted booth can claim them again)."""
        for led in (getattr(self, "_ready", None), getattr(self, "_busy", None)):
            if led is not None and not led.closed:
                led.off()
        self._close_built()

    def _close_built(self) -> None:
        for name in ("_button", "_ready", "_busy"):
            device = getattr(self, name, None)
            if device is not None:
                device.close()
        if self._factory is not None:
            self._factory.close()
            self._factory = None

    def __enter__(self) -> BoothPanel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
