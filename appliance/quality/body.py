"""Person mask (selfie segmentation) and shoulder points (Blaze pose), both on the whole frame.

The mask tells background from person: it gives the crown (top of the hair), the background
pixels for the colour and shadow checks and the clothes region. The pose landmark model gives the two
shoulder points (landmarks 11 and 12) for the level-shoulders rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from appliance.quality.models import ModelStore
from appliance.quality.roi import Roi, sample, to_tensor

SEG_SIZE = 256
POSE_SIZE = 256
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12


@dataclass(frozen=True)
class Shoulders:
    right: np.ndarray  # the person's right shoulder (image left), frame pixels (x, y)
    left: np.ndarray
    visibility: float  # the lower of the two visibility scores, 0-1

    @property
    def tilt_degrees(self) -> float:
        dx, dy = self.left - self.right
        return math.degrees(math.atan2(dy, dx))


class Segmenter:
    def __init__(self, store: ModelStore):
        self.model = store.interpreter("selfie_segmentation")
        self._in = self.model.get_input_details()[0]["index"]
        self._out = self.model.get_output_details()[0]["index"]

    def run_image(self, image: np.ndarray) -> np.ndarray:
        """Person probability (SEG_SIZE x SEG_SIZE float32, 0-1) of a SEG_SIZE x SEG_SIZE RGB image
        (a region of the frame taken by ``roi.sample``)."""
        self.model.set_tensor(self._in, to_tensor(image, 0.0, 1.0))
        self.model.invoke()
        return self.model.get_tensor(self._out)[0, :, :, 0]  # get_tensor already returns a copy

    def run(self, frame: np.ndarray) -> np.ndarray:
        """The whole frame, stretched to the model's square input."""
        height, width = frame.shape[:2]
        return self.run_image(sample(frame, Roi(width / 2, height / 2, width, height), SEG_SIZE, SEG_SIZE))


class PoseEstimator:
    """Blaze pose landmarks (full model) on a region placed from the face.

    MediaPipe finds that region with its pose detector (hip centre and body size). In a booth the
    face is already known and the sitter is upright, so the region comes from the face instead:
    centred 2.5 face widths below the eye line, 7 face widths square (upper body framing, where the
    model's shoulder points match the detector-placed run within a degree). That saves the
    detector, the most expensive model after the landmark model itself.
    """

    def __init__(self, store: ModelStore):
        self.model = store.interpreter("pose_landmark_full")
        self._in = self.model.get_input_details()[0]["index"]
        outs = {int(d["shape"][-1]): d["index"] for d in self.model.get_output_details()
                if len(d["shape"]) == 2}
        self._points = outs[195]

    def shoulders(self, frame: np.ndarray, centre_x: float, eye_y: float, face_width: float) -> Shoulders:
        roi = Roi(centre_x, eye_y + 2.5 * face_width, 7.0 * face_width, 7.0 * face_width)
        image = sample(frame, roi, POSE_SIZE, POSE_SIZE)
        self.model.set_tensor(self._in, to_tensor(image, 0.0, 1.0))
        self.model.invoke()
        raw = self.model.get_tensor(self._points).reshape(-1, 5)
        points = roi.to_frame(raw[:, :3], POSE_SIZE, POSE_SIZE)
        logits = np.clip(raw[[LEFT_SHOULDER, RIGHT_SHOULDER], 3], -80, 80)
        vis = 1.0 / (1.0 + np.exp(-logits))
        return Shoulders(right=points[RIGHT_SHOULDER, :2], left=points[LEFT_SHOULDER, :2],
                         visibility=float(vis.min()))
