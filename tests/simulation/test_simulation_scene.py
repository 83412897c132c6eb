"""The simulated scene: deterministic, CHSI-like when clean, and each fault measurably present."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.quality import landmarks as mesh
from appliance.simulation import (
    BACKGROUND_RGB,
    FAULT_CHECKS,
    FAULTS,
    edits,
    face_landmarks,
    render_scene,
    scene_faces,
)
from appliance.simulation import scene as scene_module
from appliance.simulation import source as src
from appliance.simulation.faults import expected_failures
from appliance.simulation.source import face_presence
from tests.simulation.measure import (
    SIZE,
    box_of,
    eye_line_degrees,
    eye_points,
    lip_gap,
    luminance,
    measured_landmarks,
    teeth_fraction,
)

BLUE = np.array(BACKGROUND_RGB, np.float32)
# Lip gap over face width (``lip_gap``) as the booth's face mesh reads it: 0.001-0.02 on the real
# compliant portraits of ../shared/faces (lips closed), 0.048 for lips just apart, 0.073-0.1 with
# teeth showing; the simulated student's former toothy smile read 0.047-0.051.
CLOSED_LIPS_MAX_GAP = 0.03


def clean(subject: int = 0) -> np.ndarray:
    return render_scene(subject, frozenset(), SIZE)


def with_fault(fault: str, subject: int = 0) -> np.ndarray:
    return render_scene(subject, {fault}, SIZE)


def top_band(frame: np.ndarray) -> np.ndarray:
    """The backdrop above the head: the top 6 % of the frame."""
    return frame[: frame.shape[0] * 6 // 100].reshape(-1, 3).astype(np.float32)


def test_same_arguments_give_the_same_pixels_even_after_the_cache_is_dropped():
    first = render_scene(3, {"shadow"}, (480, 640))
    scene_module._cached.cache_clear()
    second = render_scene(3, frozenset({"shadow"}), (480, 640))
    assert np.array_equal(first, second)


def test_caller_gets_a_writable_copy_that_does_not_touch_the_cache():
    frame = render_scene(0, size=(480, 640))
    frame[:] = 0
    assert render_scene(0, size=(480, 640)).max() > 0


@pytest.mark.parametrize("size", [(960, 1280), (640, 480), (1440, 1080)])
def test_output_is_rgb_uint8_of_the_asked_size(size):
    frame = render_scene(1, size=size)
    assert frame.shape == (size[1], size[0], 3)
    assert frame.dtype == np.uint8


def test_unknown_fault_and_tiny_frame_are_refused():
    with pytest.raises(ValueError, match="unknown fault"):
        render_scene(0, {"moustache"})
    with pytest.raises(ValueError, match="64x64"):
        render_scene(0, size=(32, 32))


def test_every_fault_has_a_check_and_a_clean_scene_expects_none():
    assert set(FAULT_CHECKS) == FAULTS
    assert expected_failures(()) == frozenset()
    assert expected_failures({"blur", "greyscale"}) == {"sharpness", "colour", "background"}


@pytest.mark.parametrize("subject", range(6))
def test_clean_backdrop_is_the_chsi_blue_and_uniform(subject):
    band = top_band(clean(subject))
    assert np.abs(band.mean(0) - BLUE).max() < 12
    assert band.std(0).max() < 4


@pytest.mark.parametrize("subject", range(6))
def test_clean_face_allows_the_chsi_crop_without_upscaling(subject):
    marks = face_landmarks(subject, size=SIZE)
    face_width = float(np.linalg.norm(marks[mesh.LEFT_CHEEK_EDGE] - marks[mesh.RIGHT_CHEEK_EDGE]))
    eyes_y = eye_points(marks)[:, 1].mean()
    # Face 180-300 px of 480 in the crop: a crop >= 480 wide needs a face of at least 180 px, and
    # a crop inside 960 px needs at most 300/480 of it.
    assert 180 <= face_width <= 0.625 * SIZE[0]
    assert 0.2 * SIZE[1] < eyes_y < 0.55 * SIZE[1]



def test_the_landmark_model_finds_the_face_where_the_scene_says(store):
    for subject in (0, 1):
        truth = face_landmarks(subject, size=SIZE)
        seen = measured_landmarks(store, clean(subject), truth)
        face_width = np.linalg.norm(truth[mesh.LEFT_CHEEK_EDGE] - truth[mesh.RIGHT_CHEEK_EDGE])
        assert np.linalg.norm(seen - truth, axis=1).mean() < 0.05 * face_width


def test_students_differ_from_each_other():
    frames = [clean(s).astype(np.int16) for s in range(4)]
    for a in range(4):
        for b in range(a + 1, 4):
            assert np.abs(frames[a] - frames[b]).mean() > 8


def test_greyscale_has_no_colour():
    grey, colour = with_fault("greyscale"), clean()
    spread = grey.max(2).astype(int) - grey.min(2)
    assert spread.max() <= 1
    assert (colour.max(2).astype(int) - colour.min(2)).mean() > 60


def test_blur_lowers_the_face_sharpness():
    marks = face_landmarks(0, size=SIZE)
    rows, cols = box_of(marks)
    # At the scale of the CHSI output (a face ~240 px wide), where sensor grain no longer dominates.
    factor = 240 / np.linalg.norm(marks[mesh.LEFT_CHEEK_EDGE] - marks[mesh.RIGHT_CHEEK_EDGE])

    def laplacian_variance(frame: np.ndarray) -> float:
        face = cv2.resize(luminance(frame)[rows, cols], None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        return float(cv2.Laplacian(face, cv2.CV_32F).var())

    assert laplacian_variance(with_fault("blur")) < laplacian_variance(clean()) / 4


def test_exposure_faults_light_the_face_wrongly_and_leave_the_backdrop():
    rows, cols = box_of(face_landmarks(0, size=SIZE)[[50, 280, 10, 152]])
    normal = luminance(clean())[rows, cols].mean()
    assert 100 < normal < 200
    assert luminance(with_fault("overexposed"))[rows, cols].mean() > 215
    assert luminance(with_fault("underexposed"))[rows, cols].mean() < 70
    for fault in ("overexposed", "underexposed"):
        assert np.abs(top_band(with_fault(fault)) - top_band(clean())).mean() < 0.5


def test_other_background_is_not_the_blue_backdrop():
    band = top_band(with_fault("other_background"))
    assert np.linalg.norm(band.mean(0) - BLUE) > 60 or band.std(0).max() > 20


def test_shadow_darkens_the_backdrop_beside_the_person():
    marks = face_landmarks(0, size=SIZE)
    right = int(marks[:, 0].max())
    y0 = int(marks[:, 1].min())
    # The backdrop right of the hair, down to the shoulder (the shadow falls down and to the right).
    clean_region = clean()[y0:y0 + 200, right + 80:].astype(np.float32)
    shaded_region = with_fault("shadow")[y0:y0 + 200, right + 80:].astype(np.float32)
    ratio = shaded_region.mean(2) / np.maximum(clean_region.mean(2), 1)
    assert ratio.min() < 0.75
    assert np.abs(top_band(with_fault("shadow"))[:10] - top_band(clean())[:10]).max() < 1


def test_rotation_rolls_the_head_as_the_landmark_model_sees_it(store):
    truth = face_landmarks(0, {"rotation"}, SIZE)
    rolled = eye_line_degrees(measured_landmarks(store, with_fault("rotation"), truth))
    level = eye_line_degrees(measured_landmarks(store, clean(), face_landmarks(0, size=SIZE)))
    assert abs(level) < 4
    assert abs(rolled - level) > 8


def test_two_people_shows_a_second_real_face_beside_the_first(store):
    faces = scene_faces(0, {"two_people"}, SIZE)
    assert len(faces) == 2 and len(scene_faces(0, (), SIZE)) == 1
    second = faces[1]
    low, high = second.min(0), second.max(0)
    box = (float((low + high)[0] / 2), float((low + high)[1] / 2), float((high - low).max() * 1.5))
    assert face_presence(store, with_fault("two_people"), box) > 0.9
    assert face_presence(store, clean(), box) < 0.1
    assert not np.array_equal(low, faces[0].min(0))


def test_too_small_face_needs_upscaling(store):
    truth = face_landmarks(0, {"too_small"}, SIZE)
    seen = measured_landmarks(store, with_fault("too_small"), truth)
    # Under 180 px wide: a 480 px crop with a face of at least 180 px would have to upscale.
    assert np.linalg.norm(seen[mesh.LEFT_CHEEK_EDGE] - seen[mesh.RIGHT_CHEEK_EDGE]) < 160


def shoulder_columns(subject: int) -> list[int]:
    """Columns through the upper arms, right and left of the face."""
    marks = face_landmarks(subject, size=SIZE)
    centre = marks[:, 0].mean()
    width = np.linalg.norm(marks[mesh.LEFT_CHEEK_EDGE] - marks[mesh.RIGHT_CHEEK_EDGE])
    return [int(centre - 0.9 * width), int(centre + 0.9 * width)]


def test_blue_clothes_match_the_backdrop_and_normal_clothes_do_not():
    def clothes(frame: np.ndarray, subject: int) -> np.ndarray:
        h = frame.shape[0]
        patches = [frame[h * 92 // 100: h * 98 // 100, x - 20:x + 20] for x in shoulder_columns(subject)]
        return np.concatenate([p.reshape(-1, 3) for p in patches]).astype(np.float32)

    assert np.linalg.norm(clothes(with_fault("blue_clothes"), 0).mean(0) - BLUE) < 50
    for subject in range(7):
        assert np.linalg.norm(clothes(clean(subject), subject).mean(0) - BLUE) > 120


def test_tilted_shoulders_raise_one_shoulder():
    def shoulder_tops(frame: np.ndarray) -> tuple[int, int]:
        distance = np.linalg.norm(frame.astype(np.float32) - BLUE, axis=2)
        tops = []
        for x in shoulder_columns(0):
            rows = np.nonzero(distance[:, x] > 60)[0]
            tops.append(int(rows[0]) if rows.size else frame.shape[0])
        return tops[0], tops[1]

    left, right = shoulder_tops(clean())
    tilted_left, tilted_right = shoulder_tops(with_fault("tilted_shoulders"))
    assert abs(tilted_left - tilted_right) > abs(left - right) + 80


def test_dark_glasses_darken_the_eyes():
    rows, cols = box_of(eye_points(face_landmarks(0, size=SIZE)))
    assert luminance(with_fault("dark_glasses"))[rows, cols].mean() < 50
    assert luminance(clean())[rows, cols].mean() > 90


def test_hair_over_eyes_covers_the_eyes_and_leaves_the_mouth():
    marks = face_landmarks(0, size=SIZE)
    eyes = box_of(eye_points(marks))
    mouth = box_of(marks[list(mesh.INNER_LIPS)], 0.3)
    diff = np.abs(with_fault("hair_over_eyes").astype(np.int16) - clean())
    assert diff[eyes].mean() > 15
    assert diff[mouth].mean() < 1


def test_eyes_closed_hides_the_irises():
    marks = face_landmarks(0, size=SIZE)
    for contour in (mesh.RIGHT_EYE_CONTOUR, mesh.LEFT_EYE_CONTOUR):
        eye = marks[list(contour)]
        centre, width = eye.mean(0), np.ptp(eye[:, 0])
        r = int(0.15 * width)
        rows = slice(int(centre[1]) - r, int(centre[1]) + r)
        cols = slice(int(centre[0]) - r, int(centre[0]) + r)
        assert luminance(clean())[rows, cols].mean() < 90  # the iris
        assert luminance(with_fault("eyes_closed"))[rows, cols].mean() > 110  # the eyelid


def test_mouth_open_shows_a_dark_opening_below_the_teeth():
    marks = face_landmarks(0, size=SIZE)
    lip = marks[mesh.LOWER_LIP_INNER]
    width = float(np.linalg.norm(marks[mesh.MOUTH_LEFT] - marks[mesh.MOUTH_RIGHT]))
    rows = slice(int(lip[1] + 0.08 * width), int(lip[1] + 0.2 * width))
    cols = slice(int(lip[0] - 0.15 * width), int(lip[0] + 0.15 * width))
    assert luminance(with_fault("mouth_open"))[rows, cols].mean() < 70
    assert luminance(clean())[rows, cols].mean() > 110


@pytest.mark.parametrize("subject", range(6))
def test_clean_students_close_their_lips_over_the_teeth(store, subject):
    frame = clean(subject)
    seen = measured_landmarks(store, frame, face_landmarks(subject, size=SIZE))
    assert lip_gap(seen) < CLOSED_LIPS_MAX_GAP
    # The former toothy smile: 0.17-0.25 of the opening was teeth.
    assert teeth_fraction(frame, seen) < 0.01


def test_mouth_open_still_parts_the_lips_and_shows_the_teeth(store):
    for subject in (0, 1):
        frame = with_fault("mouth_open", subject)
        seen = measured_landmarks(store, frame, face_landmarks(subject, size=SIZE))
        assert lip_gap(seen) > 0.08
        assert teeth_fraction(frame, seen) > 0.05


def test_closing_the_lips_leaves_the_face_above_the_mouth_untouched():
    person = src.person()
    closed, alpha = edits.close_lips(person.rgb.copy(), person.alpha.copy(), person)
    _, top, bottom = edits.lip_gap(person.rgb, person)
    assert (bottom - top).max() >= 3  # the source photo does show the teeth
    above = int(person.landmarks[list(edits.UPPER_INNER), 1].min()) - 2
    assert np.array_equal(closed[:above], person.rgb[:above])
    assert np.array_equal(alpha[:above], person.alpha[:above])
    below = int(2 * person.chin[1] - top.min()) + 3
    assert np.array_equal(closed[below:], person.rgb[below:])


def test_uneven_lighting_darkens_one_side_of_the_face():
    def cheeks(frame: np.ndarray) -> float:
        marks = face_landmarks(0, size=SIZE)
        r = int(0.06 * np.linalg.norm(marks[mesh.LEFT_CHEEK_EDGE] - marks[mesh.RIGHT_CHEEK_EDGE]))
        grey = luminance(frame)
        a, b = (grey[int(y) - r:int(y) + r, int(x) - r:int(x) + r].mean() for x, y in marks[[50, 280]])
        return min(a, b) / max(a, b)

    assert cheeks(clean()) > 0.75
    assert cheeks(with_fault("uneven_lighting")) < 0.55


def test_off_centre_moves_the_face_to_the_side():
    centre = face_landmarks(0, {"off_centre"}, SIZE)[:, 0].mean()
    assert abs(centre - SIZE[0] / 2) > 0.15 * SIZE[0]
    assert abs(face_landmarks(0, size=SIZE)[:, 0].mean() - SIZE[0] / 2) < 0.05 * SIZE[0]
