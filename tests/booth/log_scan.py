"""Finds personal numbers printed in full in log text (masked ones, 110105********002X, pass)."""

from __future__ import annotations

import re

# A resident ID number (18 characters, the last may be X) and a foreigner's permanent residence card
# of 2017 (three letters, twelve digits), not part of a longer word or number.
UNMASKED = (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
            re.compile(r"(?<![0-9A-Za-z])[A-Z]{3}\d{12}(?![0-9A-Za-z])"))


def unmasked_ids(text: str) -> list[str]:
    """Every full ID or card number in ``text``, in order."""
    return [match.group() for pattern in UNMASKED for match in pattern.finditer(text)]
