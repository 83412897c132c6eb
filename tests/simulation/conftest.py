"""Shared helpers of the simulator tests: renders are cached by the renderer itself."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

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
    return landmarks[list(src.LEFT_EYE) + list(src.RIGHT_EYE)]


@pytest.fixture(scope="session")
def store() -> ModelStore:
    return ModelStore()


def measured_landmarks(store: ModelStore, frame: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The face-landmark model's own view of the rendered face, started from the true face box."""
    low, high = truth.min(0), truth.max(0)
    centre = (low + high) / 2
    return src.mesh_landmarks(store, frame, (float(centre[0]), float(centre[1]),
                                             float((high - low).max() * 1.5)))


def eye_line_degrees(landmarks: np.ndarray) -> float:
    left = landmarks[list(src.LEFT_EYE)].mean(0)
    right = landmarks[list(src.RIGHT_EYE)].mean(0)
    dx, dy = right - left
    if dx < 0:
        dx, dy = -dx, -dy
    return float(np.degrees(np.arctan2(dy, dx)))
