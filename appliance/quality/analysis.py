"""Run the models once on a frame and gather what the checks measure (no pass/fail here).

Order and cost: the full-range face detector on the letterboxed whole frame; the mesh and both irises
on rotated face regions; the person mask on a square around head and shoulders, not the whole
frame, so a 12 MP frame costs the same as a small one; the crop window from eye line, crown and
face width; the shoulder line from the person outline (or, if configured, the pose
landmark model); the photometric measures on the rendered 480x640 window (what CHSI receives).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from appliance.quality import crop as chsi_crop
from appliance.quality.body import SEG_SIZE, PoseEstimator, Segmenter, Shoulders
from appliance.quality.detect import FACE_FULL, FACE_SHORT, Detection, SsdDetector, merge
from appliance.quality.head_rotation import pitch_degrees
from appliance.quality.landmarks import (
    FOREHEAD_TOP,
    LEFT_CHEEK_EDGE,
    LEFT_EYE_OUTER,
    RIGHT_CHEEK_EDGE,
    RIGHT_EYE_OUTER,
    EyeResult,
    FaceMesh,
    Mesh,
)
from appliance.quality.models import ModelStore
from appliance.quality.roi import Roi, sample
from appliance.quality.settings import QualitySettings
from appliance.quality.stats import percentiles

# The photometric checks work on the window at half size (240x320): the same answer as full size
# for means, shares and percentiles at a quarter of the cost. The person mask is warped straight to
# that size: a quarter of the warp, and within 0.08 (2e-4 on average, only at the outline) of the
# full-size warp averaged down, which the background check's 7 px dilation absorbs.
WORK_SCALE = 0.5


@dataclass
class Analysis:
    frame_size: tuple[int, int]  # width, height
    faces: list[Detection]
    main: Detection | None = None
    mesh: Mesh | None = None
    eyes: tuple[EyeResult, EyeResult] | None = None
    mask_roi: Roi | None = None
    mask: np.ndarray | None = None  # SEG_SIZE^2 person probability over mask_roi
    mask_image: np.ndarray | None = None  # the SEG_SIZE^2 RGB image of mask_roi it was computed on
    crown_y: float | None = None
    crown_at_edge: bool = False
    face_width: float = 0.0
    eye_y: float = 0.0
    centre_x: float = 0.0
    plan: chsi_crop.CropPlan | None = None
    image: np.ndarray | None = None  # the rendered 480x640 window
    image_mask: np.ndarray | None = None  # person probability on the window at WORK_SCALE
    shoulders: Shoulders | None = None
    # Only when no face is found: the frame at work size and its person probability, for the
    # frame-level checks (exposure, colour, background).
    frame_image: np.ndarray | None = None
    frame_mask: np.ndarray | None = None

    @property
    def roll_deg(self) -> float:
        assert self.eyes is not None
        (x0, y0), (x1, y1) = self.eyes[0].centre, self.eyes[1].centre
        return math.degrees(math.atan2(y1 - y0, x1 - x0))

    @property
    def yaw_deg(self) -> float:
        assert self.mesh is not None
        p = self.mesh.points
        return math.degrees(math.atan2(p[LEFT_CHEEK_EDGE, 2] - p[RIGHT_CHEEK_EDGE, 2],
                                       float(np.linalg.norm(p[LEFT_CHEEK_EDGE, :2] - p[RIGHT_CHEEK_EDGE, :2]))))

    @property
    def pitch_deg(self) -> float:
        """Positive: face turned down (see ``head_rotation.pitch_degrees``)."""
        assert self.mesh is not None
        return pitch_degrees(self.mesh.points)

    def out_points(self, idx: list[int] | tuple[int, ...] | int) -> np.ndarray:
        """Mesh points in window pixels."""
        assert self.mesh is not None and self.plan is not None
        return self.plan.to_out(self.mesh.points[idx])


class Analyzer:
    """Holds the model wrappers (each interpreter loaded once by the store) and analyses frames."""

    def __init__(self, settings: QualitySettings, store: ModelStore):
        self.settings = settings
        self.short = SsdDetector(store, FACE_SHORT)
        self.full = SsdDetector(store, FACE_FULL)
        self.mesh = FaceMesh(store)
        self.segmenter = Segmenter(store)
        self.store = store
        self._pose: PoseEstimator | None = None  # loaded only when the config asks for it

    def detect_faces(self, frame: np.ndarray, fast: bool = False) -> list[Detection]:
        """All faces. The full-range model finds small and distant faces too (a second person
        further back); the short-range one (4x cheaper) serves the live preview, where the student
        is close to the camera."""
        found = merge(self.short.run(frame) if fast else self.full.run(frame))
        return [d for d in found if d.score >= self.settings.face_min_score]

    def run(self, frame: np.ndarray) -> Analysis:
        height, width = frame.shape[:2]
        faces = self.detect_faces(frame)
        result = Analysis((width, height), faces)
        if not faces:
            # The window's work size on the longer side, the frame's own aspect.
            factor = max(chsi_crop.OUT_W, chsi_crop.OUT_H) * WORK_SCALE / max(width, height)
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            result.frame_image = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            result.frame_mask = cv2.resize(self.segmenter.run(frame), size, interpolation=cv2.INTER_LINEAR)
            return result
        main = max(faces, key=lambda d: d.width * d.height)
        result.main = main
        result.mesh = self.mesh.run(frame, main)
        result.eyes = self.mesh.eyes(frame, result.mesh)
        pts = result.mesh.points
        result.face_width = float(np.linalg.norm(pts[LEFT_CHEEK_EDGE, :2] - pts[RIGHT_CHEEK_EDGE, :2]))
        result.eye_y = float((result.eyes[0].centre[1] + result.eyes[1].centre[1]) / 2)
        result.centre_x = float((pts[RIGHT_CHEEK_EDGE, 0] + pts[LEFT_CHEEK_EDGE, 0]
                                 + pts[RIGHT_EYE_OUTER, 0] + pts[LEFT_EYE_OUTER, 0]) / 4)
        fw = result.face_width
        # Head and shoulders: from well above the crown to below the shoulders, covering the crop.
        result.mask_roi = Roi(result.centre_x, result.eye_y + 0.9 * fw, 4.0 * fw, 4.0 * fw)
        result.mask_image = sample(frame, result.mask_roi, SEG_SIZE, SEG_SIZE)
        result.mask = self.segmenter.run_image(result.mask_image)
        result.crown_y, result.crown_at_edge = self._crown(result, frame.shape[0])
        result.plan = chsi_crop.plan_crop(width, height, result.centre_x, result.eye_y, result.crown_y, fw,
                                          self.settings.crop_margin_px)
        result.image = chsi_crop.render(frame, result.plan)
        result.image_mask = self._mask_on_window(result)
        if self.settings.shoulder_source == "pose":
            if self._pose is None:
                self._pose = PoseEstimator(self.store)
            result.shoulders = self._pose.shoulders(frame, result.centre_x, result.eye_y, fw)
        else:
            result.shoulders = self._mask_shoulders(result)
        return result

    def _mask_to_frame(self, result: Analysis) -> tuple[float, float, float]:
        """(x origin, y origin, frame px per mask px) of the axis-aligned mask roi."""
        roi = result.mask_roi
        assert roi is not None
        return roi.cx - roi.width / 2, roi.cy - roi.height / 2, roi.width / SEG_SIZE

    def _crown(self, result: Analysis, frame_h: int) -> tuple[float, bool]:
        """Top of the hair: the highest person row over the middle of the head (sub-pixel)."""
        assert result.mask is not None and result.mesh is not None
        ox, oy, step = self._mask_to_frame(result)
        fw = result.face_width
        c0 = int((result.centre_x - 0.2 * fw - ox) / step)
        c1 = int((result.centre_x + 0.2 * fw - ox) / step) + 1
        forehead = float(result.mesh.points[FOREHEAD_TOP, 1])
        band = result.mask[:, max(0, c0):min(SEG_SIZE, c1)] > 0.5
        tops = band.argmax(0)[band.any(0)]  # the first person row of each column that has one
        if not tops.size:
            return forehead, False
        top_row = percentiles(tops, (20,))[0]
        crown = oy + top_row * step
        # The frame edge (not the mask roi's padding) cuts the head when the person touches row 0.
        frame_top_row = (0 - oy) / step
        at_edge = top_row <= max(frame_top_row, 0) + 1
        return min(crown, forehead), at_edge

    def _mask_on_window(self, result: Analysis) -> np.ndarray:
        assert result.plan is not None and result.mask is not None
        ox, oy, step = self._mask_to_frame(result)
        plan = result.plan
        # work pixel (u, v) -> frame (x0 + u/s, y0 + v/s), s = plan.scale * WORK_SCALE
        # -> mask ((x - ox)/step, (y - oy)/step)
        k = 1 / (plan.scale * WORK_SCALE * step)
        matrix = np.array([[k, 0, (plan.x0 - ox) / step + 0.5 * k - 0.5],
                           [0, k, (plan.y0 - oy) / step + 0.5 * k - 0.5]], dtype=np.float64)
        size = (round(chsi_crop.OUT_W * WORK_SCALE), round(chsi_crop.OUT_H * WORK_SCALE))
        return cv2.warpAffine(result.mask, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)

    def _mask_shoulders(self, result: Analysis) -> Shoulders | None:
        """The shoulder line from the person outline: its top 1.0-1.6 face widths either side of the
        face centre (where the shoulders are, outside neck, collar and hair), one point per side.
        Nearer the neck (0.8-1.4) the collar tilts compliant frames up to 16.2 degrees (1.0-1.6:
        13.8). The angle is the sitter's own slope plus any lean: a turned body sloping 13 degrees
        reads level when leaning 15 the other way (README, known limits)."""
        assert result.mask is not None
        ox, oy, step = self._mask_to_frame(result)
        fw = result.face_width
        # Person rows below the eyes (hair is no shoulder), for every mask column at once.
        below = (oy + np.arange(SEG_SIZE) * step > result.eye_y)[:, None]
        sides = []
        for sign in (-1, 1):
            xs = result.centre_x + sign * np.linspace(1.0 * fw, 1.6 * fw, 13)
            cols = ((xs - ox) / step).astype(int)
            inside = (cols >= 0) & (cols < SEG_SIZE) & (xs >= 0) & (xs < result.frame_size[0])
            xs, cols = xs[inside], cols[inside]
            person = (result.mask[:, cols] > 0.5) & below
            first = person.argmax(0)
            found = person.any(0) & (first > 0)
            if found.sum() < 3:
                return None
            tops_y = oy + first[found] * step
            sides.append(np.array([np.mean(xs[found]), np.median(tops_y)], dtype=np.float32))
        return Shoulders(right=sides[0], left=sides[1], visibility=1.0)
