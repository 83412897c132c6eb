"""Booth configuration: one TOML file, validated at start.

A bad value stops the booth with one line naming the key, the value and what is allowed, e.g.
``config error: fees.price_cny = 25: must be at most fees.cap_cny (20)``.
Each subsystem owns its section model (quality, uplink); this module assembles them.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from appliance.operator_pin import PIN_PATTERN, check_hash_format, pin_matches
from appliance.quality.settings import QualitySettings
from appliance.uplink.settings import UplinkSettings
from boothcore.chsi import OutputSection
from boothcore.config import ConfigError, ConfigSection, one_line_error, read_raw
from boothcore.protocol import BOOTH_ID_PATTERN, BOOTH_ID_RULE

# A screen size as [hardware] screen_size and `booth screenshots --size` take it.
SCREEN_SIZE_RULE = "WIDTHxHEIGHT in pixels, each 100 to 9999 (e.g. 1024x600 or 1080x1920)"
_SCREEN_SIZE = re.compile(r"^([1-9][0-9]{2,3})x([1-9][0-9]{2,3})$")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class TimeWindow(BaseModel):
    """A daily window such as 08:00-12:00 (start inclusive, end exclusive)."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        match = _WINDOW.match(text.strip())
        if not match:
            raise ValueError(f"'{text}' is not a window like 08:00-12:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start = dt.time(h1, m1)
        end = dt.time(23, 59, 59) if h2 == 24 else dt.time(h2, m2)
        if end <= start:
            raise ValueError(f"'{text}' ends before it starts")
        return cls(start=start, end=end)

    def contains(self, moment: dt.time) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class BoothSection(ConfigSection):
    # Unique per booth; it names the MQTT topics and the client certificate.
    id: str = "booth-01"
    # Where the roster, ledger, outbox and photos live (its own partition on the Pi).
    data_dir: Path = Path("/var/lib/booth")
    # The graduating class being photographed (the notice: only this year's graduates).
    graduation_year: int = Field(default=2027, ge=2000, le=2100)
    # Days a photo file stays on the booth after central acknowledged storing it (then
    # `booth retention`, hourly by booth-retention.timer, deletes it); unacknowledged files are kept.
    photo_retention_days: float = Field(default=30.0, ge=0, le=3650)
    # Whom a student calls when the booth is blocked (camera or reader missing), shown on that
    # screen: e.g. "教务处 王老师 010-6275-0000"; "" = "the teaching secretary".
    staff_contact: str = Field(default="", max_length=60)

    @field_validator("id")
    @classmethod
    def _booth_id(cls, value: str) -> str:
        if not re.fullmatch(BOOTH_ID_PATTERN, value):
            raise ValueError(BOOTH_ID_RULE)
        return value


class HoursSection(ConfigSection):
    # Regular class sessions (the notice: 08:00-12:00 and 13:00-17:00).
    service: list[str] = Field(default_factory=lambda: ["08:00-12:00", "13:00-17:00"])
    # Make-up sessions (补拍): working days 8:30-11:30 and 13:30-17:00.
    makeup: list[str] = Field(default_factory=lambda: ["08:30-11:30", "13:30-17:00"])
    # Make-up only on working days (Monday-Friday).
    makeup_weekdays_only: bool = True
    # false = always open (the simulated demo, technicians at the bench).
    enforce: bool = True

    @field_validator("service", "makeup")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for text in value:
            TimeWindow.parse(text)
        return value

    def windows(self, kind: Literal["service", "makeup"]) -> list[TimeWindow]:
        return [TimeWindow.parse(text) for text in getattr(self, kind)]


# The embedded payment link: for the demo and development only. Provisioning refuses it and
# `booth doctor` warns about it, since a monitor who scans it pays nobody the office knows.
DEMO_PAYMENT_QR = "https://qr.alipay.com/booth-fee-demo"


class FeesSection(ConfigSection):
    # Charge per photographed person in CNY; the notice caps it at 20.
    price_cny: float = Field(default=20.0, ge=0)
    cap_cny: float = Field(default=20.0, ge=0)
    # The text encoded in the payment QR code (the collecting unit's Alipay/WeChat link).
    payment_qr: str = Field(default=DEMO_PAYMENT_QR, min_length=1)

    @model_validator(mode="after")
    def _within_cap(self) -> FeesSection:
        if self.price_cny > self.cap_cny:
            raise ValueError(f"fees.price_cny = {self.price_cny:g}: must be at most fees.cap_cny "
                             f"({self.cap_cny:g})")
        return self


# Keys whose value a config error never shows (the PIN, and its hash: 4-8 digits are quickly tried).
SECRET_KEYS = ("operator.pin", "operator.pin_hash")


class OperatorSection(ConfigSection):
    # The teaching secretary's / counsellor's PIN: opens and closes class sessions, allows retakes.
    pin: str = "2468"
    # The same PIN as an scrypt hash (`booth hash-pin`); when set, it replaces `pin`.
    pin_hash: str = ""

    @field_validator("pin")
    @classmethod
    def _pin_format(cls, value: str) -> str:
        if not PIN_PATTERN.fullmatch(value):
            raise ValueError("must be 4 to 8 digits, in quotes (pin = \"2468\")")
        return value

    @field_validator("pin_hash")
    @classmethod
    def _hash_format(cls, value: str) -> str:
        return check_hash_format(value) if value else value

    def accepts(self, pin: str | None) -> bool:
        """Whether ``pin`` is the operator's PIN (the hash when one is configured)."""
        if pin is None:
            return False
        if self.pin_hash:
            return pin_matches(self.pin_hash, pin)
        return hmac.compare_digest(pin.encode(), self.pin.encode())


MAX_COUNTDOWN_S = 10.0  # capture.countdown_s (also the bound of booth demo --countdown)


class CaptureSection(ConfigSection):
    # Seconds of countdown over the live preview (wall clock).
    countdown_s: float = Field(default=3.0, gt=0, le=MAX_COUNTDOWN_S)
    # Attempts per swipe before the student must see the operator.
    retake_limit: int = Field(default=3, ge=1, le=10)
    # Every waiting state falls back to idle after its timeout.
    ready_timeout_s: float = Field(default=60.0, gt=0)
    review_timeout_s: float = Field(default=30.0, gt=0)
    message_timeout_s: float = Field(default=6.0, gt=0)
    # The make-up payment screen waits this long for the operator (the class summary waits until
    # its payment is confirmed or deferred).
    summary_timeout_s: float = Field(default=600.0, gt=0)
    # A press (or screen-bound operator command) made within this many seconds after a screen
    # appeared, or before it, is ignored: it was meant for the screen before. 0.5 s covers the
    # stop-signal reaction time (about 0.2-0.3 s: a press already under way when the screen changes
    # cannot be held back; Logan & Cowan 1984, Verbruggen & Logan 2008) plus the loop's idle tick
    # (0.25 s), by which the window's key and touch input is stamped late.
    input_guard_s: float = Field(default=0.5, ge=0, le=2)


class HardwareSection(ConfigSection):
    # simulated | picamera2
    camera: Literal["simulated", "picamera2"] = "simulated"
    # simulated | sam:/dev/ttyUSB0[@baud] | pcsc[:reader name] | wedge:/dev/input/eventN
    card_reader: str = "simulated"
    # The gpiozero pin factory that drives the panel: lgpio (the Pi 5; any Pi on Bookworm), rpigpio
    # (RPi.GPIO), native (gpiozero's own, /dev/gpiomem) or mock (MockFactory: the simulated booth and
    # the tests). A real factory that cannot load stops the booth; it never falls back to the mock.
    pin_factory: Literal["lgpio", "rpigpio", "native", "mock"] = "mock"
    # BCM pin numbers of the panel (README, Hardware wiring), each used once. 2-27: GPIO0/1 are the
    # HAT EEPROM's bus. Buttons close to GND (internal pull-up); LEDs through 330 ohm to GND.
    button_pin: int = Field(default=17, ge=2, le=27)  # the big button: capture, keep
    retake_button_pin: int = Field(default=23, ge=2, le=27)
    operator_button_pin: int = Field(default=24, ge=2, le=27)  # held: the operator menu
    ready_led_pin: int = Field(default=27, ge=2, le=27)  # green
    busy_led_pin: int = Field(default=22, ge=2, le=27)  # amber
    error_led_pin: int = Field(default=25, ge=2, le=27)  # red
    # Seconds the operator button is held before it opens the operator menu (issue 14: 3 s; a
    # student leaning on it briefly opens nothing).
    operator_hold_s: float = Field(default=3.0, ge=0.5, le=10)
    # A relay for the lights, on from the card read to the end of the review. active_high = false
    # for the common relay boards that switch on a low input.
    lights_relay: bool = False
    lights_relay_pin: int = Field(default=16, ge=2, le=27)
    lights_relay_active_high: bool = True
    # A short tone on each countdown second and a shutter sound at the capture (pygame's mixer, the
    # default audio output); no sound device means silence and one warning in the log.
    sound: bool = False
    # pygame window: auto = a window when a display exists, else headless.
    screen: Literal["auto", "window", "fullscreen", "headless"] = "auto"
    # WxH, each side 100 to 9999 px (every screen is laid out for 800x480 to 1920x1080 and portrait
    # 1080x1920), or "auto": 1024x600 in a window, the display's own size in fullscreen.
    screen_size: str = "auto"
    # The live preview is shown like a mirror (what people expect); the saved photo never is.
    preview_mirror: bool = True

    @property
    def screen_pixels(self) -> tuple[int, int] | None:
        """``screen_size`` as (width, height), or None for "auto"."""
        if self.screen_size == "auto":
            return None
        return parse_screen_size(self.screen_size)

    def panel_pins(self) -> dict[str, int]:
        """The panel's parts by config key -> BCM pin (the relay only when fitted)."""
        keys = ["button_pin", "retake_button_pin", "operator_button_pin", "ready_led_pin", "busy_led_pin",
                "error_led_pin"] + (["lights_relay_pin"] if self.lights_relay else [])
        return {key: getattr(self, key) for key in keys}

    @model_validator(mode="after")
    def _pins_once(self) -> HardwareSection:
        seen: dict[int, str] = {}
        for key, pin in self.panel_pins().items():
            if pin in seen:
                raise ValueError(f"hardware.{seen[pin]} and hardware.{key} are both GPIO{pin}: each part "
                                 "needs its own pin")
            seen[pin] = key
        return self

    @field_validator("screen_size")
    @classmethod
    def _screen_size(cls, value: str) -> str:
        if value != "auto":
            try:
                parse_screen_size(value)
            except ValueError:
                raise ValueError(f"must be auto or {SCREEN_SIZE_RULE}") from None
        return value

    @field_validator("card_reader")
    @classmethod
    def _reader_spec(cls, value: str) -> str:
        """Parsed at start (the device itself is opened later, so an unplugged reader is not a crash)."""
        from appliance.cardreader.spec import parse_spec

        parse_spec(value)  # ReaderSpecError is a ValueError naming the spec and the allowed forms
        return value


def parse_screen_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` as (width, height) in pixels; ValueError naming ``SCREEN_SIZE_RULE`` otherwise."""
    match = _SCREEN_SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r}: expected {SCREEN_SIZE_RULE}")
    return int(match.group(1)), int(match.group(2))


class BoothConfig(ConfigSection):
    booth: BoothSection = BoothSection()
    hours: HoursSection = HoursSection()
    fees: FeesSection = FeesSection()
    operator: OperatorSection = OperatorSection()
    capture: CaptureSection = CaptureSection()
    output: OutputSection = OutputSection()
    hardware: HardwareSection = HardwareSection()
    quality: QualitySettings = QualitySettings()
    uplink: UplinkSettings = UplinkSettings()

    @property
    def data_dir(self) -> Path:
        return self.booth.data_dir


def parse_config(raw: dict[str, Any]) -> BoothConfig:
    try:
        return BoothConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(one_line_error(error, raw, SECRET_KEYS, BoothConfig)) from None


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> BoothConfig:
    """Load ``path`` (or the embedded defaults), apply ``{"section": {"key": value}}`` overrides.

    The embedded defaults are the models' defaults; ``config/booth.toml`` documents each of them
    and a test keeps the two equal.
    """
    return parse_config(read_raw(path, overrides))
