"""A finger on the simulated booth's panel: drives the mock pins of a ``BoothPanel`` built on
gpiozero's MockFactory (``hardware.pin_factory = "mock"``), so the real gpiozero code runs down to the pin."""

from __future__ import annotations

import time

from appliance.hardware.gpio import BoothPanel


def press(panel: BoothPanel, hold_s: float = 0.0, part: str = "button") -> None:
    """Push a button (``button``, ``retake`` or ``operator``: pin low), hold ``hold_s`` seconds,
    release (pin high). The operator menu needs ``hold_s`` > ``hardware.operator_hold_s``."""
    pin = panel.pin(part)
    pin.drive_low()  # MockPin's (gpiozero has no type information: mypy sees Any)
    if hold_s:
        time.sleep(hold_s)
    pin.drive_high()
