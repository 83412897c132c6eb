"""Rotated regions of interest: cut a model's input square out of a frame of any size, map points back.

Why a module of its own: every model (detector, mesh, iris, pose) sees a small square taken from
the camera frame, which may be 12 MP. Warping straight from the full frame would alias and copying
the full frame costs milliseconds, so the region's bounding box is sliced (a view) and decimated by
an integer stride before the affine warp; only a few hundred kilobytes are ever copied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Roi:
    """A rectangle in frame pixels (continuous coordinates, origin at the top-left pixel edge)."""

    cx: float
    cy: float
    width: float
    height: float
    angle: float = 0.0  # radians, positive = clockwise on screen (y points down)

    def to_frame(self, points: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
        """Map (N, >=2) points given in model-input pixels back to frame pixels (extra columns scaled)."""
        pts = np.asarray(points, dtype=np.float32)
        lx = pts[:, 0] / out_w * self.width - self.width / 2
        ly = pts[:, 1] / out_h * self.height - self.height / 2
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        result = pts.copy()
        result[:, 0] = self.cx + cos * lx - sin * ly
        result[:, 1] = self.cy + sin * lx + cos * ly
        if pts.shape[1] > 2:
            result[:, 2] = pts[:, 2] / out_w * self.width
        return result


def square_roi(cx: float, cy: float, size: float, angle: float = 0.0) -> Roi:
    return Roi(cx, cy, size, size, angle)


def roi_from_points(a: tuple[float, float], b: tuple[float, float], box: tuple[float, float, float, float],
                    scale: float) -> Roi:
    """Square roi around ``box`` (x0, y0, x1, y1), its long side times ``scale``, rotated so a->b is level."""
    x0, y0, x1, y1 = box
    angle = math.atan2(b[1] - a[1], b[0] - a[0])
    size = max(x1 - x0, y1 - y0) * scale
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, size, size, angle)


def sample(frame: np.ndarray, roi: Roi, out_w: int, out_h: int) -> np.ndarray:
    """The roi resampled to ``out_w`` x ``out_h`` (uint8 RGB); outside the frame is black (letterbox)."""
    height, width = frame.shape[:2]
    cos, sin = abs(math.cos(roi.angle)), abs(math.sin(roi.angle))
    half_w = (roi.width * cos + roi.height * sin) / 2
    half_h = (roi.width * sin + roi.height * cos) / 2
    x0 = max(0, math.floor(roi.cx - half_w))
    y0 = max(0, math.floor(roi.cy - half_h))
    x1 = min(width, math.ceil(roi.cx + half_w) + 1)
    y1 = min(height, math.ceil(roi.cy + half_h) + 1)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((out_h, out_w, 3), dtype=np.uint8)
    step = max(1, int(min(roi.width / out_w, roi.height / out_h) / 2))
    box = frame[y0:y1, x0:x1]
    if step > 1:  # decimate in C (bilinear, 4x cheaper than a strided numpy copy)
        size = (-(-(x1 - x0) // step), -(-(y1 - y0) // step))
        patch = cv2.resize(box, size, interpolation=cv2.INTER_LINEAR)
        px, py = (x1 - x0) / size[0], (y1 - y0) / size[1]  # frame pixels per patch pixel
    else:
        patch, px, py = box, 1.0, 1.0
    # Output pixel (u, v) centre -> frame continuous coordinate -> patch pixel-centre coordinate.
    c, s = math.cos(roi.angle), math.sin(roi.angle)
    sx, sy = roi.width / out_w, roi.height / out_h
    matrix = np.array([
        [c * sx, -s * sy, 0.0],
        [s * sx, c * sy, 0.0],
    ])
    # local at u=0 centre: (0.5*sx - w/2, 0.5*sy - h/2)
    lx, ly = 0.5 * sx - roi.width / 2, 0.5 * sy - roi.height / 2
    matrix[0, 2] = roi.cx + c * lx - s * ly
    matrix[1, 2] = roi.cy + s * lx + c * ly
    # frame continuous -> patch pixel-centre coordinates: (X - x0) / px - 0.5
    matrix[0] = matrix[0] / px
    matrix[1] = matrix[1] / py
    matrix[0, 2] -= x0 / px + 0.5
    matrix[1, 2] -= y0 / py + 0.5
    return cv2.warpAffine(patch, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def whole_frame_square(frame: np.ndarray) -> Roi:
    """The letterbox square centred on the frame (the detectors' view of the whole frame)."""
    height, width = frame.shape[:2]
    return square_roi(width / 2, height / 2, max(width, height))


def to_tensor(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """uint8 HxWx3 -> float32 1xHxWx3 in [low, high]."""
    scale = (high - low) / 255.0
    tensor = image.astype(np.float32)[np.newaxis]
    tensor *= scale  # in place: two passes fewer than a chained expression, the same values
    tensor += low
    return tensor
