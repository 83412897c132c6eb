"""Keyboard-wedge readers (USB HID): they type the ID number followed by Enter.

The device is grabbed (``EVIOCGRAB``) so the digits never reach the booth's screen or any other
program. A typed number carries no name and any keyboard can fake it, so every card from here is
marked ``needs_operator_confirmation``: the operator checks the card before the photo.
"""

from __future__ import annotations

import logging
import select
import time
from typing import TYPE_CHECKING

from appliance.cardreader.base import IdentityCard, ReaderRecovery, ReaderUnavailable
from boothcore.cardkind import CardKind
from boothcore.idnumber import normalize
from boothcore.privacy import mask_id

if TYPE_CHECKING:  # evdev is imported when a reader opens (the `readers` extra, Linux only)
    import evdev

log = logging.getLogger(__name__)

EV_KEY = 0x01
KEY_DOWN = 1
KEY_ENTER, KEY_KPENTER, KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 28, 96, 42, 54
# Top-row and keypad digits (linux/input-event-codes.h).
DIGITS = {2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6", 8: "7", 9: "8", 10: "9", 11: "0",
          79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9", 82: "0"}
# Letter keys (linux/input-event-codes.h): the 2017 foreigner's card number starts with the
# 3-letter country code (KOR110002031512); case does not matter, the number is upper-cased.
LETTERS = dict(zip((30, 48, 46, 32, 18, 33, 34, 35, 23, 36, 37, 38, 50, 49, 24, 25, 16, 19, 31, 20, 22, 47, 17,
                    45, 21, 44), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", strict=True))
MAX_TYPED = 32  # longer input without Enter is noise, not a number


class WedgeDecoder:
    """Turns key-down events into typed lines; everything but digits and letters is ignored."""

    def __init__(self) -> None:
        self._typed: list[str] = []
        self._overflow = False  # too long to be a number: drop it all up to the next Enter

    def key(self, code: int, value: int) -> str | None:
        """Feed one key event; returns the typed number when Enter completes it."""
        if value != KEY_DOWN:
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            line, self._typed = "".join(self._typed), []
            overflow, self._overflow = self._overflow, False
            return None if overflow else normalize(line) or None
        if code in DIGITS:
            self._typed.append(DIGITS[code])
        elif code in LETTERS:
            self._typed.append(LETTERS[code])
        if len(self._typed) > MAX_TYPED:
            self._typed, self._overflow = [], True
        return None


class WedgeReader:
    """``CardReader`` for a keyboard-wedge device such as ``/dev/input/by-id/...-event-kbd``."""

    def __init__(self, device_path: str, *, reopen_interval: float = 0.5) -> None:
        self.device_path = device_path
        self._device: evdev.InputDevice | None = None
        self._decoder = WedgeDecoder()
        self._closed = False
        self._recovery = ReaderRecovery(reopen_interval)

    def open(self) -> None:
        if self._device is not None:
            return
        import evdev

        try:
            device = evdev.InputDevice(self.device_path)
        except OSError as error:
            raise ReaderUnavailable(f"keyboard-wedge reader {self.device_path}: cannot open ({error.strerror})",
                                    f"键盘式读卡器{self.device_path}无法打开") from None
        try:
            device.grab()
        except OSError as error:
            device.close()
            raise ReaderUnavailable(
                f"keyboard-wedge reader {self.device_path}: cannot grab it ({error.strerror}); another program "
                "holds it", f"键盘式读卡器{self.device_path}被其他程序占用") from None
        self._device = device
        self._decoder = WedgeDecoder()
        log.info("keyboard-wedge reader: grabbed %s (%s)", self.device_path, device.name)

    def _drop(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.ungrab()
            except OSError:
                log.debug("ungrab of %s failed", self.device_path)
            device.close()

    def close(self) -> None:
        self._closed = True
        self._drop()

    def _read_until(self, deadline: float) -> str | None:
        device = self._device
        assert device is not None
        while not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                ready, _, _ = select.select([device.fd], [], [], min(remaining, 0.25))
                if not ready:
                    continue
                for event in device.read():
                    if event.type == EV_KEY and (number := self._decoder.key(event.code, event.value)):
                        return number
            except (OSError, ValueError) as error:
                self._drop()
                raise ReaderUnavailable(f"keyboard-wedge reader {self.device_path}: disconnected ({error})",
                                        "键盘式读卡器已断开") from None
        return None

    def wait_for_card(self, timeout: float) -> IdentityCard | None:
        deadline = time.monotonic() + max(timeout, 0.0)

        def typed_number() -> str | None:
            self.open()
            return self._read_until(deadline)

        number = self._recovery.attempt(deadline, typed_number, lambda: self._closed)
        if number is None:
            return None
        log.info("keyboard-wedge reader: typed number %s", mask_id(number))
        return IdentityCard(kind=CardKind.TYPED_NUMBER, id_number=number, needs_operator_confirmation=True)
