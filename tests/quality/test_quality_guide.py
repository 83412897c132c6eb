"""Live guidance on preview frames: the instruction a student can act on before the countdown ends."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.quality.checks import MSG

from .conftest import scene

PREVIEW = (640, 480)


@pytest.mark.parametrize("size", [(640, 480), (480, 640)])
@pytest.mark.parametrize("subject", range(6))
def test_clean_preview_is_ok(checker, subject, size):
    guidance = checker.guide(scene(subject, size=size))
    assert guidance.ok and guidance.messages == []


@pytest.mark.parametrize("size", [(640, 480), (480, 640)])
@pytest.mark.parametrize("subject", range(6))
def test_a_face_too_small_for_the_crop_is_asked_closer_in_either_orientation(checker, subject, size):
    assert MSG["closer"] in checker.guide(scene(subject, ("too_small",), size)).messages


@pytest.mark.parametrize(("fault", "message"), [
    ("off_centre", "move_left"),
    ("too_small", "closer"),
    ("rotation", "roll"),
    ("underexposed", "too_dark"),
    ("overexposed", "too_bright"),
    ("uneven_lighting", "lighting"),
])
@pytest.mark.parametrize("subject", [0, 2])
def test_faults_give_the_matching_instruction(checker, fault, message, subject):
    guidance = checker.guide(scene(subject, (fault,), PREVIEW))
    assert not guidance.ok
    assert MSG[message] in guidance.messages


def test_nobody_and_two_people(checker):
    empty = checker.guide(np.full((480, 640, 3), (100, 197, 255), np.uint8))
    assert not empty.ok and empty.messages == [MSG["no_face"]]
    two = checker.guide(scene(0, ("two_people",), (480, 640)))
    assert not two.ok and two.messages == [MSG["many_faces"]]


def test_mirrored_offset_asks_for_the_other_side(checker):
    frame = scene(0, ("off_centre",), PREVIEW)
    assert MSG["move_left"] in checker.guide(frame).messages
    assert MSG["move_right"] in checker.guide(np.ascontiguousarray(frame[:, ::-1])).messages
