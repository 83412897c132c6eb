"""The flow's typed domain events reach the wire as the protocol's event kinds and data models."""

from __future__ import annotations

import typing

import pytest

from appliance.flow import outcomes
from appliance.flow.outcomes import (
    BoothFailed,
    CardRefused,
    ClassClosed,
    ClassOpened,
    OperatorActed,
    PaymentConfirmed,
    PhotoAccepted,
    PhotoMeta,
    RetakeNeeded,
)
from appliance.ledger import new_id
from appliance.uplink_bridge import wire_event, wire_meta
from boothcore.protocol import EVENT_DATA, PhotoInit

SESSION = new_id()
PHOTO = new_id()
EXAMPLES = (
    CardRefused(reason="not_on_roster", session_id=SESSION),
    PhotoAccepted(photo_id=PHOTO, session_id=SESSION, attempt=2),
    RetakeNeeded(session_id=SESSION, attempt=1, failed=("eyes_visible", "background")),
    ClassOpened(session_id=SESSION, college="计算机学院", class_name="软件2101"),
    ClassOpened(session_id=SESSION, college="", class_name=""),  # a make-up session
    ClassClosed(session_id=SESSION, college="计算机学院", class_name="软件2101", count=28, fee_cny=560.0,
                missing=2),
    PaymentConfirmed(session_id=SESSION, amount_cny=560.0),
    BoothFailed(code="OSError", message="Device fault (OSError): swipe again"),
    OperatorActed(action="keypad_locked", source="kiosk", ok=False, session_id=None,
                  detail="5 wrong PINs in a row: keypad locked for 60 s"),
    OperatorActed(action="open_class", source="central", ok=True, session_id=SESSION, detail="open_class: x -> y"),
)


def test_every_domain_event_has_an_example_here():
    assert {type(event) for event in EXAMPLES} == set(typing.get_args(outcomes.DomainEvent))


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: type(event).__name__)
def test_each_domain_event_maps_to_valid_protocol_data(event):
    kind, data = wire_event(event)
    model = EVENT_DATA[kind].model_validate(data)
    assert model.model_dump(by_alias=True) == data


def test_photo_meta_maps_to_the_photo_init_fields_and_never_the_name():
    meta = PhotoMeta(id_number="11010519491231002X", student_no="2021010203", college="计算机学院",
                     class_name="软件2101", session_id=SESSION, attempt=1,
                     captured_at="2027-06-02T09:00:00+08:00", sha256="ab" * 32)
    wire = wire_meta(meta)
    assert set(wire) <= set(PhotoInit.model_fields) | {field.alias for field in PhotoInit.model_fields.values()
                                                      if field.alias}
    assert wire["class"] == "软件2101" and "name" not in wire
