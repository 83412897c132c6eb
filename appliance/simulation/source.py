"""The real person the simulator shows: scikit-image's astronaut portrait, cut out once per process.

Why a real photo: the booth's checks run real face, landmark, segmentation and pose models, which
only behave as on a student when they see a real face. The cut-out is made with the booth's own
selfie-segmentation model and the landmarks with its face-landmark model (both from the model
store), so the simulator needs nothing the booth does not already have. Everything here is
deterministic and computed on the 512 px source, which the scene then scales to the sensor size.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from appliance.quality import landmarks as mesh
from appliance.quality.models import ModelStore
from appliance.quality.settings import QualitySettings

# The astronaut photo has a helmet at the lower right from row ~345 on; the head-and-shoulders
# framing never needs more than these rows, and the body is extended downwards by replication.
BODY_ROWS = 336
EXTEND_ROWS = 320

# The square the segmentation model sees (x, y, side): the person's upper body at 1.5 px per
# model pixel, for a sharper hair edge than the whole 512 px photo would give.
SEG_BOX = (0, 0, 384)
# A face box for the landmark model's first pass (centre x, centre y, side); refined once from
# the landmarks it returns, as MediaPipe's face mesh does between frames.
FACE_BOX = (222.0, 125.0, 190.0)


@dataclass(frozen=True)
class SourcePerson:
    """The cut-out person on the source canvas (rows below BODY_ROWS are the replicated body)."""

    rgb: np.ndarray  # HxWx3 float32, 0..255
    alpha: np.ndarray  # HxW float32, 0..1
    landmarks: np.ndarray  # 468x2 float32, source pixels
    crown_y: float  # top of the hair above the face centre

    @property
    def eye_centre(self) -> np.ndarray:
        return (self.landmarks[list(mesh.RIGHT_EYE_CONTOUR)].mean(0)
                + self.landmarks[list(mesh.LEFT_EYE_CONTOUR)].mean(0)) / 2

    @property
    def face_width(self) -> float:
        return float(np.linalg.norm(self.landmarks[mesh.LEFT_CHEEK_EDGE] - self.landmarks[mesh.RIGHT_CHEEK_EDGE]))

    @property
    def chin(self) -> np.ndarray:
        return self.landmarks[mesh.CHIN]


def astronaut() -> np.ndarray:
    """The 512x512 RGB astronaut portrait shipped in the scikit-image wheel."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def _store() -> ModelStore:
    return ModelStore(QualitySettings())


def _segment(store: ModelStore, image: np.ndarray) -> np.ndarray:
    """Person probability for the SEG_BOX square, at source resolution (0..1 float32)."""
    x0, y0, side = SEG_BOX
    interpreter = store.interpreter("selfie_segmentation")
    size = int(interpreter.get_input_details()[0]["shape"][1])
    square = cv2.resize(image[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], (square.astype(np.float32) / 255)[None])
    interpreter.invoke()
    mask = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0, :, :, 0]
    full = np.zeros(image.shape[:2], np.float32)
    full[y0:y0 + side, x0:x0 + side] = cv2.resize(mask, (side, side), interpolation=cv2.INTER_LINEAR)
    return full


def _clean_alpha(probability: np.ndarray) -> np.ndarray:
    """Keep the one person blob, harden the model's soft edge to about one source pixel."""
    binary = (probability > 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary)
    if count > 1:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        keep = cv2.dilate((labels == biggest).astype(np.uint8), np.ones((5, 5), np.uint8))
        probability = probability * keep
    # A steeper ramp around 0.55 trims the light halo of the old grey backdrop in the hair.
    alpha = np.clip((probability - 0.55) * 6 + 0.5, 0, 1)
    return cv2.GaussianBlur(alpha, (0, 0), 0.7).astype(np.float32)


def mesh_landmarks(store: ModelStore, image: np.ndarray, box: tuple[float, float, float]) -> np.ndarray:
    """468 face-mesh points (x, y in ``image`` pixels) of the face in the square ``box`` = (cx, cy, side).

    Two passes: the second box is centred on the first pass's points, as MediaPipe tracks a face.
    """
    points, _ = _mesh(store, image, box)
    low, high = points.min(0), points.max(0)
    centre = (low + high) / 2
    points, _ = _mesh(store, image, (float(centre[0]), float(centre[1]), float((high - low).max() * 1.5)))
    return points


def face_presence(store: ModelStore, image: np.ndarray, box: tuple[float, float, float]) -> float:
    """The face-landmark model's own probability (0..1) that ``box`` holds a face."""
    return _mesh(store, image, box)[1]


def _mesh(store: ModelStore, image: np.ndarray, box: tuple[float, float, float]) -> tuple[np.ndarray, float]:
    interpreter = store.interpreter("face_landmark")
    size = int(interpreter.get_input_details()[0]["shape"][1])
    cx, cy, side = box
    x0, y0 = cx - side / 2, cy - side / 2
    matrix = np.array([[size / side, 0, -x0 * size / side], [0, size / side, -y0 * size / side]])
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], (crop.astype(np.float32) / 255)[None])
    interpreter.invoke()
    outputs = [interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()]
    mesh = next(o for o in outputs if o.size == 468 * 3).reshape(468, 3)
    logit = float(next(o for o in outputs if o.size == 1).ravel()[0])
    points = (mesh[:, :2] * side / size + [x0, y0]).astype(np.float32)
    return points, float(1 / (1 + np.exp(-np.clip(logit, -50, 50))))


def _crown(alpha: np.ndarray, landmarks: np.ndarray) -> float:
    """First row where the hair starts, over the middle half of the face."""
    left, right = landmarks[mesh.RIGHT_CHEEK_EDGE, 0], landmarks[mesh.LEFT_CHEEK_EDGE, 0]
    quarter = (right - left) / 4
    band = alpha[:, int(left + quarter):int(right - quarter)]
    rows = np.nonzero(band.max(1) > 0.5)[0]
    return float(rows[0]) if rows.size else 0.0


@functools.cache
def person(mirror: bool = False) -> SourcePerson:
    """The astronaut cut out of her backdrop, with landmarks; computed once per process.

    ``mirror`` gives her mirror image (another-looking student: the parting and the light swap
    sides), with landmarks measured on the flipped photo so left and right stay anatomical.
    """
    image = astronaut()
    store = _store()
    alpha = _clean_alpha(_segment(store, image))
    box = FACE_BOX
    if mirror:
        image = np.ascontiguousarray(image[:, ::-1])
        alpha = np.ascontiguousarray(alpha[:, ::-1])
        box = (image.shape[1] - 1 - FACE_BOX[0], FACE_BOX[1], FACE_BOX[2])
    landmarks = mesh_landmarks(store, image, box)
    crown = _crown(alpha, landmarks)
    rgb: np.ndarray = image[:BODY_ROWS].astype(np.float32)
    alpha = alpha[:BODY_ROWS]
    rgb = cv2.copyMakeBorder(rgb, 0, EXTEND_ROWS, 0, 0, cv2.BORDER_REPLICATE)
    alpha = cv2.copyMakeBorder(alpha, 0, EXTEND_ROWS, 0, 0, cv2.BORDER_REPLICATE)
    for array in (rgb, alpha, landmarks):
        array.setflags(write=False)
    return SourcePerson(rgb=rgb, alpha=alpha, landmarks=landmarks, crown_y=crown)


@functools.cache
def cluttered_backdrop() -> np.ndarray:
    """The astronaut's own studio backdrop (flag, shuttle model) with her removed: a real clutter.

    The person is painted out (OpenCV inpainting at a quarter size, where it is quick and smooth)
    so no second face or body hides in the backdrop.
    """
    image = astronaut()
    alpha = _clean_alpha(_segment(_store(), image))
    hole = cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((15, 15), np.uint8))
    hole[BODY_ROWS:] = np.maximum(hole[BODY_ROWS:], (image[BODY_ROWS:].mean(2) < 300).astype(np.uint8))
    hole[BODY_ROWS:, :] = hole[BODY_ROWS - 1, :]
    small = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole, (128, 128), interpolation=cv2.INTER_NEAREST)
    filled = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, (512, 512), interpolation=cv2.INTER_CUBIC)
    keep = cv2.GaussianBlur(1.0 - hole.astype(np.float32), (0, 0), 3)[..., None]
    plate = (image * keep + filled * (1 - keep)).astype(np.float32)
    plate.setflags(write=False)
    return plate
