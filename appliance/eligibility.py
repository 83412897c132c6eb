"""Who may be photographed now (the notice, sections 2.2 and 2.5).

Each refusal has a stable reason code (logged, counted, sent to central) and a zh/en message for
the student and the class monitor. Some refusals can be overridden by the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.cardreader.base import IdentityCard
from appliance.ledger import Ledger, SessionRecord
from boothcore.idnumber import IdNumberError, validate
from boothcore.refusals import Reason
from boothcore.roster import Category, Roster, RosterEntry, entry_problem
from boothcore.text import Text

MESSAGES: dict[Reason, Text] = {
    Reason.INVALID_NUMBER: Text("身份证号无效,请检查证件", "The ID number is not valid: check the card"),
    Reason.ROSTER_ENTRY_INVALID: Text("名单中该学生信息有误,请重新导入名单", "This student's roster row is not "
                                      "valid (the upload would refuse the photo): re-import the roster"),
    Reason.NOT_ON_ROSTER: Text("身份证号与学信网不符,暂不采集", "ID number does not match the registry: "
                               "not photographed now"),
    Reason.NOT_THIS_YEAR: Text("非本届毕业生,不参加本次采集", "Not a graduate of this year's class: "
                               "not photographed"),
    Reason.ENTRUSTED_TRAINING: Text("委托培养学生不参加本次采集", "Entrusted-training students are not "
                                    "photographed here"),
    Reason.PHOTOGRAPHED_BEFORE: Text("往年已采集图像,不再拍摄", "Already photographed in an earlier year: "
                                     "not photographed again"),
    Reason.ALREADY_PHOTOGRAPHED: Text("已拍摄过,重拍须经老师同意", "Already photographed: a retake needs "
                                      "the operator's permission"),
    Reason.OTHER_CLASS: Text("不是本班学生,须经老师同意", "Not in the class being photographed: the "
                             "operator must allow it"),
    Reason.TYPED_NUMBER: Text("手输证号须经老师核对证件", "A typed number: the operator must check the card"),
}

# Refusals the operator may override (with the PIN) and those nobody can.
OVERRIDABLE = frozenset({Reason.ALREADY_PHOTOGRAPHED, Reason.OTHER_CLASS, Reason.TYPED_NUMBER})


@dataclass(frozen=True)
class Decision:
    entry: RosterEntry | None
    reasons: tuple[Reason, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def needs_operator(self) -> bool:
        """Refused only for reasons an operator may override."""
        return bool(self.reasons) and all(reason in OVERRIDABLE for reason in self.reasons)

    @property
    def reason(self) -> Reason | None:
        return self.reasons[0] if self.reasons else None

    @property
    def message(self) -> Text | None:
        return MESSAGES[self.reasons[0]] if self.reasons else None


class Eligibility:
    def __init__(self, roster: Roster, ledger: Ledger, graduation_year: int) -> None:
        self.roster = roster
        self.ledger = ledger
        self.graduation_year = graduation_year

    def excluded(self, entry: RosterEntry) -> Reason | None:
        """Why a roster entry is not photographed at all this year (the notice, 2.5), or None."""
        if entry.graduation_year != self.graduation_year:
            return Reason.NOT_THIS_YEAR
        if entry.category == Category.ENTRUSTED:
            return Reason.ENTRUSTED_TRAINING
        if entry.captured_before:
            return Reason.PHOTOGRAPHED_BEFORE
        return None

    def decide(self, card: IdentityCard, session: SessionRecord) -> Decision:
        """Hard refusals first (nobody can override), then those the operator may allow.

        The number is checked by the rule of the card's kind; a roster row that breaks today's
        name rule is refused before any photo, so the booth never saves one the upload refuses.
        """
        try:
            number = validate(card.id_number, kind=card.kind)
        except IdNumberError:
            return Decision(None, (Reason.INVALID_NUMBER,))
        entry = self.roster.lookup(number)
        if entry is None:
            return Decision(None, (Reason.NOT_ON_ROSTER,))
        if entry_problem(entry):
            return Decision(entry, (Reason.ROSTER_ENTRY_INVALID,))
        hard = self.excluded(entry)
        if hard:
            return Decision(entry, (hard,))
        soft: list[Reason] = []
        if card.needs_operator_confirmation:
            soft.append(Reason.TYPED_NUMBER)
        if session.kind == "class" and (entry.college, entry.class_name) != (session.college,
                                                                              session.class_name):
            soft.append(Reason.OTHER_CLASS)
        if self.ledger.accepted_for(number) and not self.ledger.retake_allowed(number):
            soft.append(Reason.ALREADY_PHOTOGRAPHED)  # unless central flagged the photo for a retake
        return Decision(entry, tuple(soft))
