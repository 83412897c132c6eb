"""Why a booth refused a card: the reason codes of the ``card_refused`` event (protocol v1).

The booth decides them (``appliance.eligibility``, with the student's full message); the office
counts them per class and shows each under the short zh/en label below.
"""

from __future__ import annotations

import enum

from boothcore.text import Text


class Reason(enum.StrEnum):
    INVALID_NUMBER = "invalid_number"
    ROSTER_ENTRY_INVALID = "roster_entry_invalid"
    NOT_ON_ROSTER = "not_on_roster"
    NOT_THIS_YEAR = "not_this_year"
    ENTRUSTED_TRAINING = "entrusted_training"
    PHOTOGRAPHED_BEFORE = "photographed_before"
    ALREADY_PHOTOGRAPHED = "already_photographed"
    OTHER_CLASS = "other_class"
    TYPED_NUMBER = "typed_number"


OFFICE_LABELS: dict[Reason, Text] = {
    Reason.INVALID_NUMBER: Text("证号无效", "invalid ID number"),
    Reason.ROSTER_ENTRY_INVALID: Text("名单信息有误", "roster row invalid"),
    Reason.NOT_ON_ROSTER: Text("不在名单", "not on the roster"),
    Reason.NOT_THIS_YEAR: Text("非本届", "not this year"),
    Reason.ENTRUSTED_TRAINING: Text("委培", "entrusted training"),
    Reason.PHOTOGRAPHED_BEFORE: Text("往年已采集", "photographed before"),
    Reason.ALREADY_PHOTOGRAPHED: Text("已拍摄", "already photographed"),
    Reason.OTHER_CLASS: Text("非本班", "other class"),
    Reason.TYPED_NUMBER: Text("手输证号", "typed number"),
}


def office_label(code: str) -> Text:
    """The short label of a refusal ``code``; a code this version does not know is shown as it is."""
    try:
        return OFFICE_LABELS[Reason(code)]
    except ValueError:
        return Text(code, code)
