"""Class and make-up sessions: opening, the closing summary (count, who is missing, fee)."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.config import FeesSection
from appliance.eligibility import Eligibility
from appliance.ledger import SessionRecord
from boothcore.roster import RosterEntry


@dataclass(frozen=True)
class ClassSummary:
    session: SessionRecord
    photographed: int
    missing: tuple[RosterEntry, ...]
    price_cny: float
    fee_cny: float  # asked of the monitor by QR code; 0 for a make-up session (each pays on the spot)
    #               and for a class closed with nobody photographed (nothing to pay)
    payment_qr: str
    paid_people: int = 0  # make-up: the students whose payment the operator confirmed after their photo
    paid_cny: float = 0.0

    @property
    def asks_class_fee(self) -> bool:
        """A class session's fee is paid by the monitor for the class; a make-up session's by each student.
        A class closed with nobody photographed owes nothing: its summary asks no payment."""
        return self.session.kind == "class" and self.fee_cny > 0


def fee_for(people: int, fees: FeesSection) -> float:
    """count x price, the price never above the cap (validated in config, enforced again here)."""
    return round(people * min(fees.price_cny, fees.cap_cny), 2)


def summarize(session: SessionRecord, eligibility: Eligibility, fees: FeesSection) -> ClassSummary:
    """What the operator sees when a class closes; the monitor pays ``fee_cny`` by the QR code.

    Missing: the class's graduates due this year (not excluded by the notice) with no accepted photo on
    this booth, nor a current photo at central (from another booth) by central's ``class_photographed``
    answer to the close.
    A closed session keeps the fee it was closed with (shown again after a restart, unchanged). A
    make-up session asks no fee at its close: its students paid one by one (``paid_people``, ``paid_cny``).
    """
    ledger, roster = eligibility.ledger, eligibility.roster
    photographed = len(ledger.accepted_in_session(session.id))
    if session.kind == "makeup":
        paid = [row for row in ledger.payments(session.id) if row["id_number"] is not None]
        return ClassSummary(session=session, photographed=photographed, missing=(),
                            price_cny=min(fees.price_cny, fees.cap_cny), fee_cny=0.0, payment_qr=fees.payment_qr,
                            paid_people=len(paid), paid_cny=round(sum(row["amount_cny"] for row in paid), 2))
    missing: tuple[RosterEntry, ...] = ()
    if session.kind == "class" and session.college and session.class_name:
        elsewhere = ledger.office_photographed(session.id)
        missing = tuple(member for member in roster.class_members(session.college, session.class_name)
                        if eligibility.excluded(member) is None and member.id_number not in elsewhere
                        and not ledger.accepted_for(member.id_number))
    price, fee = min(fees.price_cny, fees.cap_cny), fee_for(photographed, fees)
    if session.fee_cny is not None:  # closed: its fee, and the price it was reckoned at (the config may differ now)
        fee = session.fee_cny
        price = round(fee / photographed, 2) if photographed else price
    return ClassSummary(session=session, photographed=photographed, missing=missing, price_cny=price, fee_cny=fee,
                        payment_qr=fees.payment_qr)
