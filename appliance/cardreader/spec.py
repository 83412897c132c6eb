"""Turn the configured reader spec (``hardware.card_reader``) into a reader.

Spec grammar (one line in booth.toml)::

    simulated
    sam:/dev/ttyUSB0          SAM frame protocol over serial, baud rate probed
    sam:/dev/ttyUSB0@115200   ... at a fixed baud rate (any pyserial URL works too: sam:socket://h:p)
    pcsc                      the first PC/SC reader
    pcsc:ACS ACR122U          the PC/SC reader whose name contains this text
    wedge:/dev/input/event3   keyboard-wedge reader (typed numbers, operator confirms)

Parsing is strict and happens at once, so a typo stops the booth at start with one line; the
hardware itself is opened lazily by ``wait_for_card``, so an unplugged reader is a fault the booth
shows and recovers from, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.cardreader.base import CardReader, ReaderError
from appliance.cardreader.sam_protocol import SAM_BAUD_RATES

# Maps a campus card UID (upper-case hex, e.g. "04A1B2C3D4E5F6") to the roster's ID number, or None.
UidLookup = Callable[[str], "str | None"]

_FORMS = "simulated | sam:/dev/ttyUSB0[@baud] | pcsc[:reader name] | wedge:/dev/input/eventN"


class ReaderSpecError(ReaderError, ValueError):
    """The reader spec cannot be understood; the message names the spec and the allowed forms."""

    code = "reader_spec"


@dataclass(frozen=True)
class ReaderSpec:
    kind: str  # simulated | sam | pcsc | wedge
    target: str = ""  # serial port / URL, PC/SC reader name (part), or input device path
    baudrate: int | None = None  # sam only; None = probe


def _bad(spec: str, why: str) -> ReaderSpecError:
    return ReaderSpecError(
        f"card reader spec '{spec}': {why} (expected {_FORMS})",
        f"读卡器配置'{spec}'无效:{why}(应为 {_FORMS})",
    )


def parse_spec(spec: str) -> ReaderSpec:
    """Parse without opening anything; raises ReaderSpecError for a bad spec."""
    text = spec.strip() if isinstance(spec, str) else ""
    if not text:
        raise _bad(str(spec), "empty")
    kind, sep, rest = text.partition(":")
    kind = kind.lower()
    if kind == "simulated":
        if sep:
            raise _bad(text, "'simulated' takes no argument")
        return ReaderSpec("simulated")
    if kind == "sam":
        if not rest:
            raise _bad(text, "sam needs a serial port, e.g. sam:/dev/ttyUSB0")
        port, at, baud_text = rest.rpartition("@")
        if not at:
            return ReaderSpec("sam", rest)
        if not port:
            raise _bad(text, "sam needs a serial port before '@'")
        if not baud_text.isdigit() or int(baud_text) not in SAM_BAUD_RATES:
            raise _bad(text, f"baud rate '{baud_text}' is not one of {', '.join(map(str, SAM_BAUD_RATES))}")
        return ReaderSpec("sam", port, int(baud_text))
    if kind == "pcsc":
        return ReaderSpec("pcsc", rest.strip())
    if kind == "wedge":
        if not rest.startswith("/"):
            raise _bad(text, "wedge needs an input device path, e.g. wedge:/dev/input/event3")
        return ReaderSpec("wedge", rest)
    raise _bad(text, f"unknown reader kind '{kind}'")


def open_reader(spec: str, *, uid_lookup: UidLookup | None = None) -> CardReader:
    """The reader for ``spec``. ``uid_lookup`` maps a campus card UID to an ID number (PC/SC only)."""
    parsed = parse_spec(spec)
    if parsed.kind == "simulated":
        from appliance.cardreader.simulated import SimulatedCardReader

        return SimulatedCardReader()
    if parsed.kind == "sam":
        from appliance.cardreader.sam_reader import SamReader

        return SamReader(parsed.target, parsed.baudrate)
    if parsed.kind == "pcsc":
        from appliance.cardreader.pcsc_reader import PcscReader

        return PcscReader(parsed.target or None, uid_lookup=uid_lookup)
    from appliance.cardreader.wedge_reader import WedgeReader

    return WedgeReader(parsed.target)
