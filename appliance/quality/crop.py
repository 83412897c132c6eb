"""The CHSI crop geometry: where the 480x640 window goes in the frame, from eye line, crown and face width.

The crop is axis-aligned and never mirrored or rotated (CHSI forbids software rotation); it may
only shrink the frame (scale <= 1): a face too small for the bands fails ``face_size`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from boothcore.chsi import OUT_H, OUT_W

# CHSI bands in output pixels (docs/chsi-photo-spec.md).
CROWN_BAND = (50.0, 110.0)
EYE_BAND = (200.0, 300.0)
FACE_WIDTH_BAND = (180.0, 300.0)
# The sparsest bilinear sampling the window render allows, in source pixels per output pixel.
BILINEAR_MAX_STEP = 1.75


class CropError(ValueError):
    """The frame cannot give a CHSI crop (face too small, or the window leaves the frame)."""


@dataclass(frozen=True)
class CropPlan:
    x0: float  # frame pixel of the window's top-left corner
    y0: float
    scale: float  # output pixels per frame pixel
    crown_out: float
    eye_out: float
    face_width_out: float
    bands_met: bool  # crown, eye line and face width all inside the (narrowed) bands
    overflow: dict[str, float]  # frame pixels the window sticks out on each side

    @property
    def source_size(self) -> tuple[float, float]:
        return OUT_W / self.scale, OUT_H / self.scale

    @property
    def upscales(self) -> bool:
        return self.scale > 1.0 + 1e-6

    @property
    def inside(self) -> bool:
        return max(self.overflow.values()) <= 0.5

    def to_out(self, points: np.ndarray) -> np.ndarray:
        """Frame (x, y) points -> output pixels."""
        pts = np.asarray(points, dtype=np.float32)[..., :2]
        return (pts - np.array([self.x0, self.y0], dtype=np.float32)) * self.scale


def _narrow(band: tuple[float, float], margin: float) -> tuple[float, float]:
    return band[0] + margin, band[1] - margin


def _place(scale: float, frame_h: int, eye_y: float, crown_y: float,
           crown_band: tuple[float, float], eye_band: tuple[float, float]) -> tuple[float, bool]:
    """The window's top edge at ``scale``: crown and eye line inside their bands aiming at the band
    middles, and inside the frame when the bands allow it. Returns (y0, bands allow a placement)."""
    y_lo = max(crown_y - crown_band[1] / scale, eye_y - eye_band[1] / scale)
    y_hi = min(crown_y - crown_band[0] / scale, eye_y - eye_band[0] / scale)
    target = ((crown_y - sum(CROWN_BAND) / 2 / scale) + (eye_y - sum(EYE_BAND) / 2 / scale)) / 2
    if y_lo > y_hi + 1e-6:  # the bands cannot both be met at this scale
        return target, False
    y_hi = max(y_hi, y_lo)  # a band span met exactly (rounding) is met
    inside_lo, inside_hi = max(y_lo, 0.0), min(y_hi, frame_h - OUT_H / scale)
    if inside_lo <= inside_hi:
        return float(np.clip(target, inside_lo, inside_hi)), True
    return float(np.clip(target, y_lo, y_hi)), True


def _fit_x(frame_w: int, x0: float, scale: float, slack: float) -> float:
    """``x0`` moved into the frame when the window sticks out by at most ``slack`` output pixels on
    one side (the face then sits that far off-centre); else unchanged. A frame exactly as wide as
    the window (a photo already 480 px wide) leaves no room to centre a face measured a few pixels
    off its middle."""
    width = OUT_W / scale
    if width > frame_w + 0.5:
        return x0
    shifted = min(max(x0, 0.0), frame_w - width)
    return shifted if abs(shifted - x0) * scale <= slack else x0


def _inside(frame_w: int, frame_h: int, x0: float, y0: float, scale: float) -> bool:
    return (x0 >= -0.5 and y0 >= -0.5 and x0 + OUT_W / scale <= frame_w + 0.5
            and y0 + OUT_H / scale <= frame_h + 0.5)


def plan_crop(frame_w: int, frame_h: int, centre_x: float, eye_y: float, crown_y: float,
              face_width: float, margin: float) -> CropPlan:
    """The window that puts crown, eye line and face width mid-band, as close as the face allows.

    When that window leaves the frame, the scale nearest to it (inside the bands, never upscaling)
    whose window fits is taken instead: a face near the frame's edge still gets a CHSI crop when
    one exists, as a photographer would frame it a little tighter. A frame already of the CHSI
    size is the photo itself (a saved booth photo checked again): no crop will place it, so its
    measured positions are held to CHSI's own bands, not the narrowed ones (the booth's own crops,
    re-measured, read the crown up to 2.3 px from where the crop put it at the narrowed band's edge)."""
    band_margin = 0.0 if (frame_w, frame_h) == (OUT_W, OUT_H) else margin
    crown_band = _narrow(CROWN_BAND, band_margin)
    eye_band = _narrow(EYE_BAND, band_margin)
    fw_lo, fw_hi = _narrow(FACE_WIDTH_BAND, band_margin)
    face_width = max(face_width, 1.0)
    span = max(eye_y - crown_y, 1.0)
    s_lo = max(fw_lo / face_width, (eye_band[0] - crown_band[1]) / span)
    s_hi = min(fw_hi / face_width, (eye_band[1] - crown_band[0]) / span)
    preferred = sum(FACE_WIDTH_BAND) / 2 / face_width
    # Never upscale when the bands can be met at scale <= 1; otherwise the plan still says where the
    # window would be (to measure the photo), and ``face_size`` fails.
    s_hi = min(s_hi, 1.0) if s_lo <= 1.0 else s_hi
    scale = float(np.clip(preferred, s_lo, s_hi)) if s_lo <= s_hi else preferred
    y0, _ = _place(scale, frame_h, eye_y, crown_y, crown_band, eye_band)
    x0 = _fit_x(frame_w, centre_x - OUT_W / 2 / scale, scale, margin)
    if not _inside(frame_w, frame_h, x0, y0, scale) and s_lo <= s_hi:
        for candidate in sorted(np.linspace(s_lo, s_hi, 33), key=lambda s: abs(s - scale)):
            cy0, placed = _place(float(candidate), frame_h, eye_y, crown_y, crown_band, eye_band)
            cx0 = _fit_x(frame_w, centre_x - OUT_W / 2 / candidate, float(candidate), margin)
            if placed and _inside(frame_w, frame_h, cx0, cy0, float(candidate)):
                scale, x0, y0 = float(candidate), cx0, cy0
                break
    crown_out, eye_out, fw_out = (crown_y - y0) * scale, (eye_y - y0) * scale, face_width * scale
    met = (crown_band[0] - 0.5 <= crown_out <= crown_band[1] + 0.5 and eye_band[0] - 0.5 <= eye_out <= eye_band[1] + 0.5
           and fw_lo - 0.5 <= fw_out <= fw_hi + 0.5)
    width, height = OUT_W / scale, OUT_H / scale
    overflow = {"left": max(0.0, -x0), "right": max(0.0, x0 + width - frame_w),
                "top": max(0.0, -y0), "bottom": max(0.0, y0 + height - frame_h)}
    return CropPlan(x0, y0, scale, crown_out, eye_out, fw_out, met, overflow)


def render(frame: np.ndarray, plan: CropPlan) -> np.ndarray:
    """The 480x640 window, antialiased (a window partly outside the frame is padded with edge pixels;
    used only for measuring a photo that already fails framing).

    No bilinear step samples the source more sparsely than every BILINEAR_MAX_STEP pixels, so
    every source pixel counts: a reduction up to that is one bilinear resize; up to twice that, an
    exact 2x2 area average first (in C, ~0.5 ms from a 12 MP frame's window) and a bilinear step
    of at most BILINEAR_MAX_STEP. Beyond that the plain area average (~10 ms from 12 MP) is used.
    A bilinear step up to twice the output size and a 2x average after it, as before, cost 1.3-2.7
    ms for the same smoothness."""
    height, width = frame.shape[:2]
    sw, sh = plan.source_size
    x0, y0 = int(np.floor(plan.x0)), int(np.floor(plan.y0))
    x1, y1 = int(np.ceil(plan.x0 + sw)), int(np.ceil(plan.y0 + sh))
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return np.zeros((OUT_H, OUT_W, 3), dtype=np.uint8)
    view = frame[cy0:cy1, cx0:cx1]
    if (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1):
        view = cv2.copyMakeBorder(view, cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1, cv2.BORDER_REPLICATE)
    # The window box is rounded outwards to whole pixels: below one output pixel of difference.
    reduction = 1 / plan.scale
    if reduction <= BILINEAR_MAX_STEP:
        return cv2.resize(view, (OUT_W, OUT_H), interpolation=cv2.INTER_LINEAR)
    if reduction <= 2 * BILINEAR_MAX_STEP:
        # An even-sized box: INTER_AREA at exactly 1/2 is the fast 2x2 average.
        h2, w2 = view.shape[0] // 2, view.shape[1] // 2
        half = cv2.resize(view[:2 * h2, :2 * w2], (w2, h2), interpolation=cv2.INTER_AREA)
        return cv2.resize(half, (OUT_W, OUT_H), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(view, (OUT_W, OUT_H), interpolation=cv2.INTER_AREA)
