"""Masking of personal data (ID numbers, names) before anything reaches a log or a screen dump."""

from __future__ import annotations

import logging
import re
import traceback

# ID numbers inside free text: 15- to 18-character digit runs (whole or mistyped resident numbers,
# the last character possibly X) and foreigners' permanent residence cards of 2017 (three letters,
# twelve digits), not part of a longer run of letters or digits (a photo id's hex stays readable).
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:\d{14,17}[\dXx]|[A-Z]{3}\d{12})(?![0-9A-Za-z])")


def mask_id(id_number: str | None) -> str:
    """Keep the region prefix and the last four characters: 110105********002X."""
    if not id_number:
        return "<none>"
    text = str(id_number)
    if len(text) <= 10:
        return text[:2] + "*" * max(len(text) - 2, 0)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(name: str | None) -> str:
    """Keep the first character (the family name in Chinese): 张** / J***."""
    if not name:
        return "<none>"
    return name[0] + "*" * (len(name) - 1)


def mask_ids_in(text: str) -> str:
    """``text`` with every ID-like number in it masked (``110105********002X``)."""
    return _ID_LIKE.sub(lambda match: mask_id(match.group(0)), text)


def masked_traceback(error: BaseException) -> str:
    """The traceback of ``error`` for a log, ID numbers masked (file names and messages carry them)."""
    return mask_ids_in("".join(traceback.format_exception(error)).rstrip())


class MaskIdNumbers(logging.Filter):
    """A logger filter: the message and any traceback of each record get ``mask_ids_in``.

    For loggers whose records can carry text from elsewhere (an OSError naming a photo's path,
    a peer's payload), so no call site has to remember it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_ids_in(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_ids_in(logging.Formatter().formatException(record.exc_info))
        return True
