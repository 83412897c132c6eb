"""What a name may contain: one rule for college, class, person names and student numbers.

The same rule runs at roster import (booth and central), in the upload protocol (booth and
central) and on central's folder names, so a value the booth accepts is never refused later.
A name is NFC-normalised, trimmed of every kind of space, and refused when it holds an invisible
or control character (zero-width, soft hyphen, bidi overrides such as RLO, C0/C1 controls,
U+2028/2029), a path separator, a leading dot, or more than ``MAX_NAME_CHARS`` characters /
``MAX_NAME_BYTES`` UTF-8 bytes. Student numbers keep the upload's narrower character set.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# The protocol's limit for college and class (docs/mqtt.md), used for every name.
MAX_NAME_CHARS = 64
# NAME_MAX of ext4 and most Linux file systems: a college or class becomes a folder on central.
MAX_NAME_BYTES = 255
# Student numbers travel in the photo_init message: ASCII letters, digits, '-' and '_'.
MAX_STUDENT_NO_CHARS = 32
STUDENT_NO_PATTERN = rf"^[A-Za-z0-9_-]{{1,{MAX_STUDENT_NO_CHARS}}}$"
_STUDENT_NO_RE = re.compile(STUDENT_NO_PATTERN)

# Control (Cc), format (Cf: zero-width, soft hyphen, bidi controls, BOM), surrogate, private-use
# and unassigned code points, and the line/paragraph separators U+2028/U+2029.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) outside those categories:
# characters that render as nothing, e.g. the Hangul fillers U+3164/U+FFA0 and variation selectors.
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
                     (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))
_SEPARATORS = "/\\"
# Every space separator (Zs: no-break, ideographic U+3000, en/em spaces...) and the tab; line
# breaks are not spaces here, they are refused as control characters.
_SPACE_CHARS = "\t" + "".join(ch for ch in map(chr, range(0x3001)) if unicodedata.category(ch) == "Zs")
_SPACES = re.compile(f"[{re.escape(_SPACE_CHARS)}]+")


class BadName(ValueError):
    """Why a value cannot be a name; ``reason`` is one line for people (no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _invisible(ch: str) -> bool:
    if unicodedata.category(ch) in _REFUSED_CATEGORIES:
        return True
    code = ord(ch)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def describe(ch: str) -> str:
    """U+200B (ZERO WIDTH SPACE): how a refused character is named in messages."""
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')})"


def normalize_name(raw: str) -> str:
    """NFC, every run of spaces (ideographic, no-break, tabs) as one ASCII space, ends trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip(" ")


@functools.lru_cache(maxsize=4096)
def check_name(raw: str) -> str:
    """The canonical name for ``raw``, or BadName saying what is wrong with it.

    Canonical: ``normalize_name``; 1-64 characters and at most 255 UTF-8 bytes; no invisible or
    control character, no '/' or '\\', no leading '.'. Remembered for the last 4,096 names (a
    refusal is not): every photo's college and class pass here six times on its way to central's
    folder, a character-by-character check each.
    """
    text = normalize_name(raw)
    if not text:
        raise BadName("is empty")
    for position, ch in enumerate(text, start=1):
        if _invisible(ch):
            raise BadName(f"contains an invisible or control character {describe(ch)} at position {position}")
    if len(text) > MAX_NAME_CHARS:
        raise BadName(f"has {len(text)} characters, at most {MAX_NAME_CHARS} are allowed")
    if len(text.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadName(f"has {len(text.encode('utf-8'))} bytes in UTF-8, at most {MAX_NAME_BYTES} are allowed")
    if separator := next((ch for ch in text if ch in _SEPARATORS), None):
        raise BadName(f"contains '{separator}' (it becomes a folder name)")
    if text.startswith("."):
        raise BadName("starts with '.' (it becomes a folder name)")
    return text


def check_student_no(raw: str) -> str:
    """The canonical student number (NFKC, so full-width digits count), or BadName.

    The name rule first, then the upload's character set: 1-32 ASCII letters, digits, '-' or '_'.
    """
    text = check_name(unicodedata.normalize("NFKC", raw))
    if not _STUDENT_NO_RE.match(text):
        bad = next((ch for ch in text if not (ch.isascii() and (ch.isalnum() or ch in "-_"))), None)
        where = f": '{bad}' at position {text.index(bad) + 1}" if bad else f", got {len(text)} characters"
        raise BadName(f"may only have 1-{MAX_STUDENT_NO_CHARS} ASCII letters, digits, '-' or '_'{where}")
    return text


def printable(text: str) -> str:
    """``text`` with each character the name rule calls invisible or control written as its escape.

    For free text a peer sent (an event's error message) that is stored, logged and shown: ESC
    becomes ``\\x1b``, RLO ``\\u202e``, a newline ``\\n``, so no terminal acts on it and no bidi
    control reorders what is shown; everything else is kept as sent.
    """
    return "".join(ch.encode("unicode_escape").decode("ascii") if _invisible(ch) else ch for ch in text)
