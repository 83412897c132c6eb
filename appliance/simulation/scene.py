"""The simulated booth scene: a real person on the CHSI blue backdrop, with faults on demand.

``render_scene(subject, faults, size)`` is deterministic: the same arguments give the same pixels.
The layout follows the CHSI crop (crown 50-110 px, eye line 200-300 px, face 180-300 px wide in
480x640): the person is placed so that a 3:4 crop of about 90 % of the frame height meets those
bands without upscaling, whatever the sensor size. ``subject`` varies the student (position,
scale, mirror image, skin, clothes, backdrop shade within tolerance) so a class does not look like
one photo. No booth logic and no display code here: frames in, frames out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from appliance.quality import landmarks as mesh
from appliance.simulation import edits
from appliance.simulation import source as src
from appliance.simulation.faults import FAULTS, check_faults

__all__ = ["BACKGROUND_RGB", "FAULTS", "face_landmarks", "render_scene", "scene_faces"]

# CHSI reference background (the spec): light blue.
BACKGROUND_RGB = (100, 197, 255)
# Target geometry in CHSI output pixels (480x640): crown and eye line mid-band.
CROWN_OUT, EYE_OUT, OUT_H = 80.0, 250.0, 640.0
# Share of the frame's largest 3:4 box the ideal crop takes (room for the subject jitter).
CROP_FILL = 0.68
# Suit colours per student: (hue in degrees or None to keep, saturation x, value x). None of
# them is close to the blue backdrop.
CLOTHES = (
    (None, 1.0, 1.0),  # the original orange
    (0.0, 1.0, 0.75),  # red
    (140.0, 0.55, 0.55),  # dark green
    (None, 0.06, 0.7),  # grey
    (345.0, 0.9, 0.45),  # wine
    (None, 0.1, 0.3),  # charcoal
    (35.0, 0.7, 0.85),  # mustard
)
# Fault magnitudes, in source pixels or degrees (why: clearly beyond any sensible limit, not
# borderline; the checks' own tests probe the limits).
HEAD_ROLL_DEG = 12.0
SHOULDER_TILT_DEG = 12.0
BLUR_SIGMA_SRC = 1.6
GRAIN_SIGMA = 1.6


@dataclass(frozen=True)
class Placement:
    """Source (512 px photo) to frame mapping: scale ``k``, eye centre lands at ``eye``."""

    k: float
    eye: tuple[float, float]

    def matrix(self, person: src.SourcePerson, roll_deg: float = 0.0,
               pivot: tuple[float, float] | None = None) -> np.ndarray:
        """2x3 affine source->frame matrix, optionally rolled by ``roll_deg`` about a source ``pivot``."""
        ex, ey = person.eye_centre
        k = self.k
        base = np.array([[k, 0, self.eye[0] - k * ex], [0, k, self.eye[1] - k * ey], [0, 0, 1]])
        if roll_deg and pivot is not None:
            rot = cv2.getRotationMatrix2D((float(pivot[0]), float(pivot[1])), roll_deg, 1.0)
            base = base @ np.vstack([rot, [0, 0, 1]])
        return base[:2]


def _mirrored(subject: int) -> bool:
    """Every other student is the mirror image: the parting and the key light swap sides."""
    return bool(int(subject) % 2)


def _subject_rng(subject: int, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng([abs(int(subject)), salt, 20270601])


def _placement(person: src.SourcePerson, subject: int, size: tuple[int, int], faults: frozenset[str]
               ) -> Placement:
    width, height = size
    crop_h = min(height, width * 4 / 3) * CROP_FILL
    unit = crop_h / OUT_H
    top = (height - crop_h) * 0.7
    rng = _subject_rng(subject)
    scale = 1 + rng.uniform(-0.05, 0.05)
    dx, dy = rng.uniform(-10, 10), rng.uniform(-10, 10)
    k = (EYE_OUT - CROWN_OUT) * unit / (person.eye_centre[1] - person.crown_y) * scale
    eye = (width / 2 + dx * unit, top + (EYE_OUT + dy) * unit)
    if "too_small" in faults:
        # Far from the camera: a face about 130 px wide at any sensor size, never wider than half
        # the normal one; the body still reaches the bottom edge.
        k = min(0.45 * k, 130 / person.face_width)
        eye = (eye[0], height - (src.BODY_ROWS - person.eye_centre[1]) * k)
    if "off_centre" in faults:
        # Sitting far to one side: a window centred on the face would stick out of the frame.
        eye = (0.32 * crop_h * 0.75, eye[1])
    return Placement(k=float(k), eye=(float(eye[0]), float(eye[1])))


def _head_region(person: src.SourcePerson) -> tuple[np.ndarray, np.ndarray]:
    """(hair, face): the hair above the jaw line within the hair's width, and the face oval.

    The collar ring rises beside the jaw, so the region follows the face outline there instead of
    a plain ellipse; the body layer keeps the ring.
    """
    fw = person.face_width
    cx = float(person.eye_centre[0])
    jaw_top = float(person.chin[1] - 0.3 * fw)
    hair = np.zeros(person.alpha.shape, np.float32)
    hair[: int(jaw_top), int(cx - 0.85 * fw): int(cx + 0.85 * fw)] = 1.0
    face: np.ndarray = np.zeros(person.alpha.shape, np.float32)
    oval = np.round(person.landmarks[list(mesh.FACE_OVAL)]).astype(np.int32)
    cv2.fillPoly(face, [oval], 1.0, cv2.LINE_AA)
    face = cv2.dilate(face, np.ones((3, 3), np.uint8))
    return cv2.GaussianBlur(hair, (0, 0), 1.2), cv2.GaussianBlur(face, (0, 0), 1.2)


def _neck_colour(rgb: np.ndarray, person: src.SourcePerson) -> np.ndarray:
    """What lies under the chin (the turtleneck here): fills the body where the face was lifted off."""
    x, y = int(person.chin[0]), int(person.chin[1] + 0.15 * person.face_width)
    return np.median(rgb[y:y + 8, x - 8:x + 8].reshape(-1, 3), axis=0)


def _person_layer(person: src.SourcePerson, subject: int, faults: frozenset[str], salt: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The edited person on the source canvas: (rgb float32 0..255, alpha 0..1)."""
    rng = _subject_rng(subject, 1 + salt)
    rgb = person.rgb.copy()
    alpha = person.alpha.copy()
    if "blue_clothes" in faults:
        rgb = edits.blue_clothes(rgb, person, BACKGROUND_RGB)
    else:
        hue, sat, val = CLOTHES[(subject + salt) % len(CLOTHES)]
        if (hue, sat, val) != (None, 1.0, 1.0):
            rgb = edits.recolour_clothes(rgb, person, hue, sat, val)
    if "dark_glasses" in faults:
        edits.dark_glasses(rgb, person)
    if "eyes_closed" in faults:
        edits.eyes_closed(rgb, person)
    if "mouth_open" in faults:
        rgb, alpha = edits.open_mouth(rgb, alpha, person)
    else:
        rgb, alpha = edits.close_lips(rgb, alpha, person)
    if "hair_over_eyes" in faults:
        edits.hair_over_eyes(rgb, person, _subject_rng(subject, 7))
    # Skin and exposure differ from student to student: a small gain and warmth change.
    gain = rng.uniform(0.9, 1.06)
    warmth = rng.uniform(-0.035, 0.035)
    rgb *= np.array([gain * (1 + warmth), gain, gain * (1 - warmth)], np.float32)
    if "uneven_lighting" in faults:
        rgb = edits.side_light(rgb, person)
    if faults & {"overexposed", "underexposed"}:
        rgb = edits.key_light(rgb, over="overexposed" in faults)
    return np.clip(rgb, 0, 255), alpha


def _warp(rgb: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, size: tuple[int, int]
          ) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied warp to the frame: upscaling with Lanczos keeps the real photo natural."""
    premultiplied = rgb * alpha[..., None]
    flags = cv2.INTER_LANCZOS4 if abs(matrix[0, 0]) + abs(matrix[0, 1]) > 1 else cv2.INTER_AREA
    colour = cv2.warpAffine(premultiplied, matrix, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
    cover = cv2.warpAffine(alpha, matrix, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
    return colour, np.clip(cover, 0, 1)


def _over(frame: np.ndarray, colour: np.ndarray, cover: np.ndarray) -> np.ndarray:
    return np.clip(colour, 0, 255) + frame * (1 - cover[..., None])


def _backdrop(subject: int, faults: frozenset[str], size: tuple[int, int]) -> np.ndarray:
    width, height = size
    if "other_background" in faults:
        plate = src.cluttered_backdrop()
        scale = max(width / plate.shape[1], height / plate.shape[0])
        big = cv2.resize(plate, (round(plate.shape[1] * scale) + 1, round(plate.shape[0] * scale) + 1),
                         interpolation=cv2.INTER_CUBIC)
        y0, x0 = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
        return np.ascontiguousarray(big[y0:y0 + height, x0:x0 + width], dtype=np.float32)
    shade = _subject_rng(subject, 3).integers(-4, 5, 3)
    colour = np.clip(np.array(BACKGROUND_RGB) + shade, 0, 255).astype(np.float32)
    # A real backdrop is lit a little less towards the edges (under 2 %).
    ys, xs = np.ogrid[:height, :width]
    falloff = 1 - 0.018 * (((xs - width / 2) / width) ** 2 + ((ys - height / 2) / height) ** 2) * 2
    return (colour[None, None, :] * falloff[..., None]).astype(np.float32)


def _shadow(frame: np.ndarray, cover: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A cast shadow of the person on the backdrop, down and to one side (light from the front-left)."""
    width, height = size
    shift = np.array([[1, 0, 0.07 * width], [0, 1, 0.02 * height]], np.float32)
    shadow = cv2.warpAffine(cover, shift, size, borderMode=cv2.BORDER_REPLICATE)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 0.02 * width)
    return frame * (1 - 0.5 * shadow[..., None])


def _optics(frame: np.ndarray, faults: frozenset[str], placement: Placement) -> np.ndarray:
    """What happens before the sensor: defocus."""
    if "blur" in faults:
        frame = cv2.GaussianBlur(frame, (0, 0), BLUR_SIGMA_SRC * placement.k)
    return frame


def _processing(frame: np.ndarray, faults: frozenset[str]) -> np.ndarray:
    """What the camera does after the sensor: a black-and-white mode."""
    if "greyscale" in faults:
        grey = cv2.cvtColor(np.clip(frame, 0, 255).astype(np.float32), cv2.COLOR_RGB2GRAY)
        frame = np.repeat(grey[..., None], 3, axis=2)
    return frame


@functools.lru_cache(maxsize=4)
def _grain(width: int, height: int) -> np.ndarray:
    """Fixed sensor grain (deterministic): a 256 px tile of Gaussian noise repeated over the frame."""
    tile = np.random.default_rng(11).normal(0, GRAIN_SIGMA, (256, 256, 3)).astype(np.float32)
    reps = (height // 256 + 1, width // 256 + 1, 1)
    return np.tile(tile, reps)[:height, :width]


def _compose(subject: int, faults: frozenset[str], size: tuple[int, int]) -> np.ndarray:
    mirror = _mirrored(subject)
    person = src.person(mirror)
    placement = _placement(person, subject, size, faults)
    frame = _backdrop(subject, faults, size)
    rgb, alpha = _person_layer(person, subject, faults)
    head = _head_region(person) if faults & {"rotation", "tilted_shoulders"} else None
    if "two_people" in faults:
        # A second, smaller student behind and to the side of the first, looking into the lens.
        other = _second_placement(placement, size)
        other_person = src.person(not mirror)
        o_rgb, o_alpha = _person_layer(other_person, subject, frozenset(), salt=3)
        frame = _over(frame, *_warp(o_rgb, o_alpha, other.matrix(other_person), size))
    if head is None:
        colour, cover = _warp(rgb, alpha, placement.matrix(person), size)
        if "shadow" in faults:
            frame = _shadow(frame, cover, size)
        frame = _over(frame, colour, cover)
    else:
        chin = (float(person.chin[0]), float(person.chin[1]))
        neck = (chin[0], chin[1] + 0.3 * person.face_width)
        head_roll = HEAD_ROLL_DEG if "rotation" in faults else 0.0
        # The photo's own shoulders are not quite level; tilt further the same way.
        body_roll = (SHOULDER_TILT_DEG if mirror else -SHOULDER_TILT_DEG) if "tilted_shoulders" in faults else 0.0
        hair, face = head
        head_alpha = alpha * np.maximum(hair, face)
        # Where the face was lifted off, the body shows a neck-wide strip of the collar, not a
        # face-wide one (else it would stick out beside a tilted jaw).
        xs = np.arange(alpha.shape[1], dtype=np.float32)
        column = np.clip((0.32 * person.face_width - np.abs(xs - chin[0])) / 4 + 0.5, 0, 1)
        neck_strip = face * column[None, :]
        body_rgb = rgb * (1 - face[..., None]) + _neck_colour(rgb, person) * face[..., None]
        body_alpha = alpha * (1 - hair) * (1 - face + neck_strip)
        body = _warp(body_rgb, body_alpha, placement.matrix(person, body_roll, neck), size)
        top = _warp(rgb, head_alpha, placement.matrix(person, head_roll, chin), size)
        frame = _over(_over(frame, *body), *top)
    frame = _optics(frame, faults, placement) + _grain(*size)
    frame = _processing(frame, faults)
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def _cached(subject: int, faults: frozenset[str], size: tuple[int, int]) -> np.ndarray:
    frame = _compose(subject, faults, size)
    frame.setflags(write=False)
    return frame


def render_scene(subject: int = 0, faults: Iterable[str] = frozenset(),
                 size: tuple[int, int] = (960, 1280)) -> np.ndarray:
    """The booth's view of student ``subject`` showing ``faults``: HxWx3 uint8 RGB, ``size`` = (w, h).

    Deterministic and cached per argument set (the demo asks for the same scene every preview
    tick); the caller gets its own writable copy.
    """
    chosen = check_faults(faults)
    width, height = int(size[0]), int(size[1])
    if width < 64 or height < 64:
        raise ValueError(f"size {size}: the frame must be at least 64x64")
    return _cached(int(subject), chosen, (width, height)).copy()



def _second_placement(placement: Placement, size: tuple[int, int]) -> Placement:
    """The other student of ``two_people``: smaller (further back), beside the first, facing the lens."""
    width, height = size
    return Placement(k=placement.k * 0.55, eye=(placement.eye[0] + 0.36 * width, placement.eye[1] - 0.12 * height))


def scene_faces(subject: int = 0, faults: Iterable[str] = frozenset(),
                size: tuple[int, int] = (960, 1280)) -> list[np.ndarray]:
    """Where each face's 468 mesh points land in ``render_scene``'s frame (468x2 pixels each).

    The scene's ground truth, main face first (a second one with ``two_people``); head roll and
    placement are included, edits such as an open mouth are not. Tests and the test set use it to
    know where the eyes, mouth and face are.
    """
    chosen = check_faults(faults)
    person = src.person(_mirrored(subject))
    size = (int(size[0]), int(size[1]))
    placement = _placement(person, int(subject), size, chosen)
    if "rotation" in chosen:
        matrices = [placement.matrix(person, HEAD_ROLL_DEG, (float(person.chin[0]), float(person.chin[1])))]
    else:
        matrices = [placement.matrix(person)]
    if "two_people" in chosen:
        other = src.person(not _mirrored(subject))
        matrices.append(_second_placement(placement, size).matrix(other))
    people = [person, src.person(not _mirrored(subject))]
    return [(people[i].landmarks.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)
            for i, m in enumerate(matrices)]


def face_landmarks(subject: int = 0, faults: Iterable[str] = frozenset(),
                   size: tuple[int, int] = (960, 1280)) -> np.ndarray:
    """The main face's 468 mesh points in the frame (see ``scene_faces``)."""
    return scene_faces(subject, faults, size)[0]
