"""SSD face detectors (BlazeFace short and full range): anchors, decoding, weighted NMS.

The anchor layouts and decoding constants are those of MediaPipe's graphs for these exact model
files (face_detection_short_range_common, face_detection_full_range_common).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.quality.models import ModelStore
from appliance.quality.roi import Roi, sample, to_tensor, whole_frame_square


@dataclass(frozen=True)
class SsdSpec:
    model: str
    size: int
    strides: tuple[int, ...]
    two_per_cell: bool  # interpolated_scale_aspect_ratio == 1.0: two anchors per cell and layer
    keypoints: int
    min_score: float
    nms_iou: float = 0.3


FACE_SHORT = SsdSpec("face_detection_short_range", 128, (8, 16, 16, 16), True, 6, 0.5)
FACE_FULL = SsdSpec("face_detection_full_range", 192, (4,), False, 6, 0.5)


@dataclass(frozen=True)
class Detection:
    """Box and keypoints in frame pixels: 0 right eye (image left), 1 left eye, 2 nose tip, 3 mouth,
    4 right ear, 5 left ear."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    keypoints: np.ndarray  # (K, 2)
    score: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def anchors(spec: SsdSpec) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1] (fixed anchor size 1, offset 0.5)."""
    centres = []
    layer = 0
    while layer < len(spec.strides):
        repeats = 0
        last = layer
        while last < len(spec.strides) and spec.strides[last] == spec.strides[layer]:
            repeats += 2 if spec.two_per_cell else 1
            last += 1
        cells = int(np.ceil(spec.size / spec.strides[layer]))
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, repeats, axis=1).reshape(-1, 2))
        layer = last
    return np.concatenate(centres).astype(np.float32)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED suppression: overlapping candidates are averaged, weighted by score."""
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    remaining = np.arange(len(scores))
    kept = []
    while remaining.size:
        overlap = _iou(boxes[remaining[0]], boxes[remaining])
        group = remaining[overlap > iou]
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(0) / weights.sum()
        points = (keypoints[group] * weights[:, :, None]).sum(0) / weights.sum()
        kept.append((box, points, float(scores[group[0]])))
        remaining = remaining[overlap <= iou]
    return kept


class SsdDetector:
    """One SSD model run on the whole frame, letterboxed into its square input."""

    def __init__(self, store: ModelStore, spec: SsdSpec, input_range: tuple[float, float] = (-1.0, 1.0)):
        self.spec = spec
        self.interpreter = store.interpreter(spec.model)
        self.anchors = anchors(spec)
        self.input_range = input_range
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: -int(d["shape"][-1]))
        self.boxes_index, self.scores_index = outputs[0]["index"], outputs[1]["index"]

    def run_roi(self, frame: np.ndarray, roi: Roi) -> list[Detection]:
        size = self.spec.size
        image = sample(frame, roi, size, size)
        self.interpreter.set_tensor(self.input_index, to_tensor(image, *self.input_range))
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.boxes_index)[0]
        logits = np.clip(self.interpreter.get_tensor(self.scores_index)[0, :, 0], -80, 80)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores > self.spec.min_score
        if not keep.any():
            return []
        raw, scores, anchor = raw[keep] / size, scores[keep], self.anchors[keep]
        centre = raw[:, 0:2] + anchor
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        points = raw[:, 4:4 + 2 * self.spec.keypoints].reshape(-1, self.spec.keypoints, 2) + anchor[:, None]
        found = []
        for box, kps, score in weighted_nms(boxes, points, scores, self.spec.nms_iou):
            corners = roi.to_frame(box.reshape(2, 2) * size, size, size)
            frame_kps = roi.to_frame(kps * size, size, size)
            x0, y0 = corners.min(0)
            x1, y1 = corners.max(0)
            if x1 > x0 and y1 > y0:
                found.append(Detection((float(x0), float(y0), float(x1), float(y1)), frame_kps, score))
        return found

    def run(self, frame: np.ndarray) -> list[Detection]:
        return self.run_roi(frame, whole_frame_square(frame))


def merge(*groups: list[Detection], iou: float = 0.3) -> list[Detection]:
    """Union of detections from several detectors, one per face (highest score wins)."""
    merged: list[Detection] = []
    for det in sorted((d for g in groups for d in g), key=lambda d: -d.score):
        box = np.array(det.box)
        if merged and (_iou(box, np.array([m.box for m in merged])) > iou).any():
            continue
        merged.append(det)
    return merged
