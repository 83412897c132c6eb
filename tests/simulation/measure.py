"""Measurements the simulator tests take on rendered faces (renders are cached by the renderer itself)."""

from __future__ import annotations

import cv2
import numpy as np

from appliance.quality import landmarks as mesh
from appliance.quality.models import ModelStore
from appliance.simulation import source as src

SIZE = (960, 1280)


def luminance(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)


def box_of(points: np.ndarray, grow: float = 0.0) -> tuple[slice, slice]:
    """Row and column slices of the points' bounding box, grown by ``grow`` of its size."""
    low, high = points.min(0), points.max(0)
    margin = (high - low) * grow
    (x0, y0), (x1, y1) = np.floor(low - margin).astype(int), np.ceil(high + margin).astype(int)
    return slice(max(y0, 0), y1), slice(max(x0, 0), x1)


def eye_points(landmarks: np.ndarray) -> np.ndarray:
    return landmarks[list(mesh.RIGHT_EYE_CONTOUR) + list(mesh.LEFT_EYE_CONTOUR)]


def measured_landmarks(store: ModelStore, frame: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The face-landmark model's own view of the rendered face, started from the true face box."""
    low, high = truth.min(0), truth.max(0)
    centre = (low + high) / 2
    return src.mesh_landmarks(store, frame, (float(centre[0]), float(centre[1]),
                                             float((high - low).max() * 1.5)))


def eye_line_degrees(landmarks: np.ndarray) -> float:
    left = landmarks[list(mesh.RIGHT_EYE_CONTOUR)].mean(0)
    right = landmarks[list(mesh.LEFT_EYE_CONTOUR)].mean(0)
    dx, dy = right - left
    if dx < 0:
        dx, dy = -dx, -dy
    return float(np.degrees(np.arctan2(dy, dx)))


def lip_gap(landmarks: np.ndarray) -> float:
    """Inner-lip gap (mesh 13 to 14) over the face width (234 to 454): scale-free, 0 = lips together."""
    face_width = float(np.linalg.norm(landmarks[mesh.LEFT_CHEEK_EDGE] - landmarks[mesh.RIGHT_CHEEK_EDGE]))
    return float(np.linalg.norm(landmarks[mesh.UPPER_LIP_INNER] - landmarks[mesh.LOWER_LIP_INNER])) / face_width


def teeth_fraction(frame: np.ndarray, landmarks: np.ndarray) -> float:
    """Share of the mouth opening that looks like teeth, judged against the student's own skin.

    The opening is the mesh's inner-lip polygon grown by 1 % of the face width (so closed lips
    still give a thin band to look at). A tooth is brighter than the cheeks, under 0.8 of their
    saturation, and of their hue or yellower (lips are redder, and the lip highlight is pink), so
    a light or dark skin, or the camera's white balance, does not read as teeth.
    """
    face_width = float(np.linalg.norm(landmarks[mesh.LEFT_CHEEK_EDGE] - landmarks[mesh.RIGHT_CHEEK_EDGE]))
    hsv = cv2.cvtColor(frame.astype(np.float32) / 255, cv2.COLOR_RGB2HSV)
    r = max(1, round(0.04 * face_width))
    cheeks = np.concatenate([hsv[int(y) - r:int(y) + r, int(x) - r:int(x) + r].reshape(-1, 3)
                             for x, y in landmarks[[50, 280]]])
    skin_hue, skin_saturation, skin_value = np.median(cheeks, axis=0)
    opening = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(opening, [np.round(landmarks[list(mesh.INNER_LIPS)]).astype(np.int32)], 1)
    grow = max(1, round(0.01 * face_width))
    opening = cv2.dilate(opening, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    hue, saturation, value = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    teeth = ((value > skin_value) & (saturation < 0.8 * skin_saturation)
             & (hue > skin_hue - 10) & (hue < skin_hue + 40))
    return float(teeth[opening.astype(bool)].mean())
