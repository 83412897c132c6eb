"""The entry points the booth flow and ``booth check-photo`` call: full check, live guidance, crop."""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from appliance.quality import crop as chsi_crop
from appliance.quality.analysis import Analysis, Analyzer
from appliance.quality.checks import MSG, REVIEW_ORDER, CheckResult, run_all
from appliance.quality.landmarks import LEFT_CHEEK_EDGE, LEFT_EYE_OUTER, RIGHT_CHEEK_EDGE, RIGHT_EYE_OUTER
from appliance.quality.models import ModelStore
from appliance.quality.settings import QualitySettings
from boothcore.text import Text

# The preview has no person mask: the crown is taken ~0.95 face widths (cheek to cheek) above the
# eye line, the average head (the CHSI bands leave +-30 px of slack for the difference).
CROWN_ABOVE_EYES = 0.95


@dataclass
class CheckReport:
    checks: dict[str, CheckResult]
    plan: chsi_crop.CropPlan | None = field(default=None, repr=False)
    # The 480x640 window already rendered for the checks, and a weak reference to its frame, so
    # crop_to_chsi on the same frame does not render it twice (and the report never keeps a 12 MP
    # frame alive).
    window: np.ndarray | None = field(default=None, repr=False)
    frame_ref: weakref.ref | None = field(default=None, repr=False)

    @property
    def accepted(self) -> bool:
        return all(result.passed for result in self.checks.values())

    @property
    def verdict(self) -> str:
        """accepted | confirm (only "confirm" checks failed: the operator may keep it) | rejected."""
        if self.accepted:
            return "accepted"
        return "confirm" if all(r.severity == "confirm" for r in self.failed()) else "rejected"

    def failed(self) -> list[CheckResult]:
        return [result for result in self.checks.values() if not result.passed]

    def review(self) -> list[CheckResult]:
        """The faults to tell, root causes only (no ``depends_on``), in REVIEW_ORDER."""
        causes = [result for result in self.failed() if result.depends_on is None]
        return sorted(causes, key=lambda result: REVIEW_ORDER.index(result.id))

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "verdict": self.verdict,
                "review": [result.id for result in self.review()],
                "checks": {k: v.to_json() for k, v in self.checks.items()}}


@dataclass(frozen=True)
class Guidance:
    ok: bool
    messages: list[Text]


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError("expected an RGB uint8 image of shape (height, width, 3)")
    if min(frame.shape[:2]) < 32:
        raise ValueError(f"image too small: {frame.shape[1]}x{frame.shape[0]}")
    return frame


class PhotoChecker:
    """Checks frames against the CHSI rules. Models load once (in the store) and are reused; one lock
    serialises use, because LiteRT interpreters are not thread-safe."""

    def __init__(self, settings: QualitySettings, store: ModelStore | None = None):
        self.settings = settings
        self.store = store or ModelStore(settings)
        self.analyzer = Analyzer(settings, self.store)
        self._lock = threading.Lock()

    def analyse(self, frame_rgb: np.ndarray) -> Analysis:
        with self._lock:
            return self.analyzer.run(_as_rgb(frame_rgb))

    def check(self, frame_rgb: np.ndarray) -> CheckReport:
        analysis = self.analyse(frame_rgb)
        return CheckReport(run_all(analysis, self.settings), analysis.plan, analysis.image, weakref.ref(frame_rgb))

    def guide(self, preview_rgb: np.ndarray) -> Guidance:
        """Fast advice for one preview frame: face found, one person, size, position, pose, light."""
        frame = _as_rgb(preview_rgb)
        with self._lock:
            # The short-range model (4x cheaper) finds a student at booth distance; only when it
            # finds nobody does the full-range one look for a small, distant face.
            faces = self.analyzer.detect_faces(frame, fast=True) or self.analyzer.detect_faces(frame)
            if len(faces) != 1:
                return Guidance(False, [MSG["no_face"] if not faces else MSG["many_faces"]])
            # One mesh pass: the detector's eye keypoints are too coarse for roll on a small face.
            mesh = self.analyzer.mesh.run(frame, faces[0]).points
        face = faces[0]
        height, width = frame.shape[:2]
        messages: list[Text] = []
        right, left = mesh[RIGHT_EYE_OUTER], mesh[LEFT_EYE_OUTER]
        cheeks = mesh[LEFT_CHEEK_EDGE] - mesh[RIGHT_CHEEK_EDGE]
        fw = float(np.linalg.norm(cheeks[:2])) or 1.0
        if fw / min(width, height) < self.settings.guide_min_face_fraction:
            messages.append(MSG["closer"])
        eye_mid = (right[:2] + left[:2]) / 2
        plan = chsi_crop.plan_crop(width, height, float(eye_mid[0]), float(eye_mid[1]),
                                   float(eye_mid[1] - CROWN_ABOVE_EYES * fw), fw, 0)
        # On the preview the window size is relative: only the direction matters.
        over = plan.overflow
        offset = (eye_mid[0] - width / 2) / width
        if (over["left"] > 0 and over["right"] > 0) or (over["top"] > 0 and over["bottom"] > 0):
            messages.append(MSG["back"])
        elif over["left"] > 0 or offset < -self.settings.guide_max_offset:
            messages.append(MSG["move_left"])
        elif over["right"] > 0 or offset > self.settings.guide_max_offset:
            messages.append(MSG["move_right"])
        elif over["top"] > 0:
            messages.append(MSG["sit_lower"])
        elif over["bottom"] > 0:
            messages.append(MSG["sit_higher"])
        roll = math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))
        yaw = math.degrees(math.atan2(cheeks[2], fw))
        if abs(roll) > self.settings.max_roll_deg:
            messages.append(MSG["roll"])
        elif abs(yaw) > self.settings.max_yaw_deg:
            messages.append(MSG["yaw"])
        messages.extend(self._light_advice(frame, face.box))
        return Guidance(not messages, messages)

    def _light_advice(self, frame: np.ndarray, box: tuple[float, float, float, float]) -> list[Text]:
        height, width = frame.shape[:2]
        # The middle of the face (cheeks, nose): no hair, no background.
        bw, bh = box[2] - box[0], box[3] - box[1]
        x0, y0 = max(0, int(box[0] + 0.2 * bw)), max(0, int(box[1] + 0.35 * bh))
        x1, y1 = min(width, int(box[2] - 0.2 * bw)), min(height, int(box[3] - 0.1 * bh))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return []
        luma = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        mid = luma.shape[1] // 2
        left, right = float(luma[:, :mid].mean()), float(luma[:, mid:].mean())
        mean = (left + right) / 2
        low, high = self.settings.face_luma_range
        if mean < low:
            return [MSG["too_dark"]]
        if mean > high:
            return [MSG["too_bright"]]
        if min(left, right) / max(left, right, 1e-6) < self.settings.min_lighting_ratio:
            return [MSG["lighting"]]
        return []


def crop_to_chsi(frame_rgb: np.ndarray, report: CheckReport) -> np.ndarray:
    """The 480x640 CHSI window of ``frame_rgb`` as planned by ``report`` (from ``check`` on this frame).

    Raises ``CropError`` when there is no face, the window would leave the frame, or the face is too
    small (the crop never upscales).
    """
    plan = report.plan
    if plan is None:
        raise chsi_crop.CropError("no face was found: nothing to crop")
    if plan.upscales:
        raise chsi_crop.CropError(f"the face is too small: the crop would upscale {plan.scale:.2f}x")
    if not plan.inside:
        raise chsi_crop.CropError("the CHSI window leaves the frame: the face is too close to an edge")
    if report.window is not None and report.frame_ref is not None and report.frame_ref() is frame_rgb:
        return report.window.copy()
    return chsi_crop.render(_as_rgb(frame_rgb), plan)
