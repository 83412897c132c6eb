"""Finds personal numbers printed in full in log text (masked ones, 110105********002X, pass)."""

from __future__ import annotations

import logging
import re

import pytest

from boothcore.privacy import mask_id

# A resident ID number (18 characters, the last may be X) and a foreigner's permanent residence card
# of 2017 (three letters, twelve digits), not part of a longer word or number.
UNMASKED = (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),
            re.compile(r"(?<![0-9A-Za-z])[A-Z]{3}\d{12}(?![0-9A-Za-z])"))


def unmasked_ids(text: str) -> list[str]:
    """Every full ID or card number in ``text``, in order."""
    return [match.group() for pattern in UNMASKED for match in pattern.finditer(text)]


def assert_log_masked(caplog: pytest.LogCaptureFixture) -> None:
    """Fails when a log record of the test's setup or call (message and traceback, as a handler would
    format it) prints an ID or card number in full. The suites' autouse fixtures call it after a test."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    text = "\n".join(formatter.format(record) for phase in ("setup", "call")
                     for record in caplog.get_records(phase))
    leaks = unmasked_ids(text)
    assert not leaks, f"{len(leaks)} full ID number(s) in the log, e.g. {mask_id(leaks[0])}"
