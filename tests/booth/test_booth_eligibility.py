"""Each rule of the notice: who is photographed, who is refused and with what message."""

from __future__ import annotations

import dataclasses

from appliance.cardreader.base import IdentityCard
from appliance.eligibility import OVERRIDABLE, Eligibility, Reason
from appliance.ledger import Verdict
from appliance.simulation.roster_gen import card_for, stranger_card
from boothcore.cardkind import CardKind
from tests.booth.conftest import YEAR


def decide(roster, ledger, session, card):
    return Eligibility(roster, ledger, YEAR).decide(card, session)


def class_session(ledger, entry):
    return ledger.open_session("class", entry.college, entry.class_name, 20.0)


def test_a_graduate_of_the_open_class_is_allowed(roster, ledger, students):
    decision = decide(roster, ledger, class_session(ledger, students[0]), card_for(students[0]))
    assert decision.allowed and decision.entry == students[0] and decision.message is None


def test_card_not_on_roster_is_refused_with_the_registry_message(roster, ledger, students):
    decision = decide(roster, ledger, class_session(ledger, students[0]), stranger_card())
    assert decision.reason is Reason.NOT_ON_ROSTER and not decision.needs_operator
    assert decision.message.zh == "身份证号与学信网不符,暂不采集"
    assert decision.message.en == "ID number does not match the registry: not photographed now"


def test_invalid_number_is_refused(roster, ledger, students):
    card = IdentityCard(kind=CardKind.RESIDENT, id_number="110105194912310021")
    assert decide(roster, ledger, class_session(ledger, students[0]), card).reason is Reason.INVALID_NUMBER


def test_hard_exclusions_of_the_notice(roster, ledger, students, excluded):
    session = class_session(ledger, students[0])
    for code, entry in excluded.items():
        decision = decide(roster, ledger, session, card_for(entry))
        assert decision.reason == Reason(code), code
        assert not decision.needs_operator and decision.message.zh and decision.message.en


def test_student_of_another_class_needs_the_operator(roster, ledger, students):
    session = ledger.open_session("class", students[0].college, "其他班", 20.0)
    decision = decide(roster, ledger, session, card_for(students[0]))
    assert decision.reasons == (Reason.OTHER_CLASS,) and decision.needs_operator


def test_makeup_session_takes_any_eligible_student(roster, ledger, students):
    session = ledger.open_session("makeup", None, None, 20.0)
    assert decide(roster, ledger, session, card_for(students[3])).allowed


def test_already_photographed_needs_the_operator(roster, ledger, students):
    session = class_session(ledger, students[0])
    ledger.record_capture(photo_id="a" * 32, session_id=session.id, id_number=students[0].id_number, attempt=1,
                          verdict=Verdict.ACCEPTED, sha256="0" * 64, path="/x.jpg")
    decision = decide(roster, ledger, session, card_for(students[0]))
    assert decision.reasons == (Reason.ALREADY_PHOTOGRAPHED,) and decision.needs_operator


def test_a_photo_central_flagged_for_a_retake_is_taken_once_more_without_the_operator(roster, ledger, students):
    session = class_session(ledger, students[0])
    number = students[0].id_number
    ledger.record_capture(photo_id="a" * 32, session_id=session.id, id_number=number, attempt=1,
                          verdict=Verdict.ACCEPTED, sha256="0" * 64, path="/x.jpg")
    assert ledger.allow_retake(number, "a" * 32) and not ledger.allow_retake(number, "a" * 32)  # once per flag
    assert decide(roster, ledger, session, card_for(students[0])).allowed
    assert decide(roster, ledger, session, card_for(students[1])).allowed  # nobody else's refusal changes
    ledger.record_capture(photo_id="c" * 32, session_id=session.id, id_number=number, attempt=1,
                          verdict=Verdict.REJECTED, failed_checks=["sharpness"])
    assert decide(roster, ledger, session, card_for(students[0])).allowed  # a failed retake keeps it
    ledger.record_capture(photo_id="d" * 32, session_id=session.id, id_number=number, attempt=2,
                          verdict=Verdict.ACCEPTED, sha256="1" * 64, path="/y.jpg")
    decision = decide(roster, ledger, session, card_for(students[0]))  # the retake used it up
    assert decision.reasons == (Reason.ALREADY_PHOTOGRAPHED,) and decision.needs_operator


def test_a_rejected_attempt_does_not_count_as_photographed(roster, ledger, students):
    session = class_session(ledger, students[0])
    ledger.record_capture(photo_id="b" * 32, session_id=session.id, id_number=students[0].id_number, attempt=1,
                          verdict=Verdict.REJECTED, failed_checks=["sharpness"])
    assert decide(roster, ledger, session, card_for(students[0])).allowed


def test_typed_number_needs_the_operator(roster, ledger, students):
    card = dataclasses.replace(card_for(students[1]), kind=CardKind.TYPED_NUMBER, name=None,
                               needs_operator_confirmation=True)
    decision = decide(roster, ledger, class_session(ledger, students[0]), card)
    assert decision.reasons == (Reason.TYPED_NUMBER,) and decision.needs_operator


def test_hard_refusals_are_never_overridable():
    assert OVERRIDABLE.isdisjoint({Reason.NOT_ON_ROSTER, Reason.NOT_THIS_YEAR, Reason.ENTRUSTED_TRAINING,
                                   Reason.PHOTOGRAPHED_BEFORE, Reason.INVALID_NUMBER})
