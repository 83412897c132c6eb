"""Edits of the cut-out person on the 512 px source: clothes, glasses, closed eyes, fringe, mouth.

Why on the source: every edit is then scaled up together with the face, so it is exactly as sharp
as the real pixels around it and sits on the real landmarks. Shapes are drawn four times larger
and reduced (anti-aliased edges), and every random choice comes from the caller's seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from appliance.quality import landmarks as mesh
from appliance.simulation import source as src

SUPERSAMPLE = 4
# The CHSI reference background colour as OpenCV float HSV: hue 203 deg, saturation 0.61.
BACKGROUND_HUE = 203.0


def _pts(points: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
    """Source points to the supersampled overlay's integer coordinates."""
    return np.round((points - np.asarray(origin, np.float32)) * SUPERSAMPLE).astype(np.int32)


def _overlay(rgb: np.ndarray, box: tuple[int, int, int, int],
             draw: Callable[[np.ndarray, np.ndarray, tuple[int, int]], None]) -> None:
    """Let ``draw(colour, coverage, origin)`` paint at 4x inside ``box``; blend the result into ``rgb``."""
    x0, y0, x1, y1 = box
    h, w = (y1 - y0) * SUPERSAMPLE, (x1 - x0) * SUPERSAMPLE
    colour: np.ndarray = np.zeros((h, w, 3), np.float32)
    coverage: np.ndarray = np.zeros((h, w), np.float32)
    draw(colour, coverage, (x0, y0))
    colour = cv2.resize(colour, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    coverage = cv2.resize(coverage, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)[..., None]
    # ``colour`` holds premultiplied paint: colour * coverage.
    rgb[y0:y1, x0:x1] = rgb[y0:y1, x0:x1] * (1 - coverage) + colour


def _face_box(person: src.SourcePerson, grow: float = 0.2) -> tuple[int, int, int, int]:
    low, high = person.landmarks.min(0), person.landmarks.max(0)
    margin = (high - low) * grow
    x0, y0 = np.maximum(low - margin, 0).astype(int)
    x1, y1 = np.minimum(high + margin, [person.rgb.shape[1], person.rgb.shape[0]]).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def clothes_mask(person: src.SourcePerson) -> np.ndarray:
    """The orange suit: saturated warm pixels of the person below the chin (no skin shows there)."""
    hsv = cv2.cvtColor(person.rgb / 255, cv2.COLOR_RGB2HSV)
    hue, sat = hsv[..., 0], hsv[..., 1]
    warm = ((hue < 40) | (hue > 340)) & (sat > 0.3)
    below = np.zeros(warm.shape, bool)
    below[int(person.chin[1] + 0.12 * person.face_width):] = True
    mask = (warm & below).astype(np.float32) * person.alpha
    return cv2.GaussianBlur(mask, (0, 0), 0.8)


def recolour_clothes(rgb: np.ndarray, person: src.SourcePerson, hue: float | None,
                     saturation: float, value: float) -> np.ndarray:
    """Dye the suit: ``hue`` in degrees (None keeps it), saturation and value as multipliers."""
    mask = clothes_mask(person)[..., None]
    hsv = cv2.cvtColor(np.clip(rgb / 255, 0, 1), cv2.COLOR_RGB2HSV)
    if hue is not None:
        hsv[..., 0] = hue
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] * value, 0, 1)
    dyed = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255
    return rgb * (1 - mask) + dyed * mask


def blue_clothes(rgb: np.ndarray, person: src.SourcePerson, backdrop_rgb: tuple[int, int, int]) -> np.ndarray:
    """A top in the backdrop's own light blue, folds kept: the 'black border' CHSI rejects.

    Both the suit and the dark turtleneck under the collar are dyed: what shows below the chin is
    then mostly the backdrop's colour (the collar ring stays, as a necklace would).
    """
    hsv = cv2.cvtColor(np.clip(person.rgb / 255, 0, 1), cv2.COLOR_RGB2HSV)
    below = np.zeros(person.alpha.shape, bool)
    below[int(person.chin[1] + 0.05 * person.face_width):] = True
    dark = below & (hsv[..., 2] < 0.3) & (person.alpha > 0.5)
    layers = (clothes_mask(person), cv2.GaussianBlur(dark.astype(np.float32), (0, 0), 0.8))
    for mask in layers:
        value = rgb.max(2)
        inside = mask > 0.5
        reference = float(np.median(value[inside])) if inside.any() else 1.0
        shade = np.clip(value / max(reference, 1.0), 0.8, 1.08)[..., None]
        dyed = np.clip(np.asarray(backdrop_rgb, np.float32) * shade, 0, 255)
        rgb = rgb * (1 - mask[..., None]) + dyed * mask[..., None]
    return rgb


def dark_glasses(rgb: np.ndarray, person: src.SourcePerson) -> None:
    """Tinted sunglasses: two dark lenses over the eyes, a bridge and temple arms."""
    lm = person.landmarks
    eyes = [lm[list(mesh.RIGHT_EYE_CONTOUR)], lm[list(mesh.LEFT_EYE_CONTOUR)]]
    width = float(np.mean([np.ptp(e[:, 0]) for e in eyes]))

    def draw(colour: np.ndarray, coverage: np.ndarray, origin: tuple[int, int]) -> None:
        frame = (38.0, 36.0, 40.0)
        lens_edges = []
        for eye in eyes:
            cx, cy = _pts(eye.mean(0, keepdims=True), origin)[0]
            axes = (int(width * 0.95 * SUPERSAMPLE), int(width * 0.72 * SUPERSAMPLE))
            lens = np.zeros(coverage.shape, np.uint8)
            cv2.ellipse(lens, (int(cx), int(cy)), axes, 0, 0, 360, 255, -1, cv2.LINE_AA)
            shade = np.linspace(14, 30, coverage.shape[0], dtype=np.float32)[:, None, None]
            lens_f = lens.astype(np.float32)[..., None] / 255 * 0.94
            colour[:] = colour * (1 - lens_f) + shade * lens_f
            coverage[:] = np.maximum(coverage, lens_f[..., 0])
            cv2.ellipse(colour, (int(cx), int(cy)), axes, 0, 0, 360, frame, SUPERSAMPLE * 2, cv2.LINE_AA)
            cv2.ellipse(coverage, (int(cx), int(cy)), axes, 0, 0, 360, 1.0, SUPERSAMPLE * 2, cv2.LINE_AA)
            lens_edges.append((int(cx), int(cy), axes[0]))
        (lx, ly, la), (rx, ry, ra) = sorted(lens_edges)
        bridge = np.array([[lx + la, ly - la // 3], [(lx + rx) // 2, min(ly, ry) - la // 2],
                           [rx - ra, ry - ra // 3]], np.int32)
        temples = [np.array([[lx - la, ly - la // 4], _pts(lm[[mesh.RIGHT_CHEEK_EDGE]], origin)[0]], np.int32),
                   np.array([[rx + ra, ry - ra // 4], _pts(lm[[mesh.LEFT_CHEEK_EDGE]], origin)[0]], np.int32)]
        for line in [bridge, *temples]:
            cv2.polylines(colour, [line], False, frame, SUPERSAMPLE * 2, cv2.LINE_AA)
            cv2.polylines(coverage, [line], False, 1.0, SUPERSAMPLE * 2, cv2.LINE_AA)
        colour *= 1.0  # premultiplied already: paint over coverage 1 is the paint itself

    _overlay(rgb, _face_box(person), draw)


def eyes_closed(rgb: np.ndarray, person: src.SourcePerson) -> None:
    """Shut eyelids: the eye openings painted over with the surrounding skin, a lash line below."""
    lm = person.landmarks
    x0, y0, x1, y1 = _face_box(person)
    patch = np.clip(rgb[y0:y1, x0:x1], 0, 255).astype(np.uint8)
    hole = np.zeros(patch.shape[:2], np.uint8)
    for contour in (mesh.RIGHT_EYE_CONTOUR, mesh.LEFT_EYE_CONTOUR):
        poly = np.round(lm[list(contour)] - [x0, y0]).astype(np.int32)
        cv2.fillPoly(hole, [poly], 255)
    hole = cv2.dilate(hole, np.ones((5, 5), np.uint8))
    filled = cv2.inpaint(patch, hole, 4, cv2.INPAINT_TELEA).astype(np.float32)
    soft = cv2.GaussianBlur(hole.astype(np.float32) / 255, (0, 0), 0.8)[..., None]
    rgb[y0:y1, x0:x1] = rgb[y0:y1, x0:x1] * (1 - soft) + filled * soft

    def draw(colour: np.ndarray, coverage: np.ndarray, origin: tuple[int, int]) -> None:
        for lower, contour in ((mesh.RIGHT_EYE_LOWER, mesh.RIGHT_EYE_CONTOUR),
                               (mesh.LEFT_EYE_LOWER, mesh.LEFT_EYE_CONTOUR)):
            line = lm[list(lower)].copy()
            top = lm[list(contour)][:, 1].min()
            line[:, 1] = line[:, 1] * 0.8 + top * 0.2
            pts = _pts(line, origin)
            cv2.polylines(colour, [pts], False, (70.0 * 0.85, 48.0 * 0.85, 42.0 * 0.85),
                          int(SUPERSAMPLE * 1.3), cv2.LINE_AA)
            cv2.polylines(coverage, [pts], False, 0.85, int(SUPERSAMPLE * 1.3), cv2.LINE_AA)

    _overlay(rgb, (x0, y0, x1, y1), draw)


def hair_over_eyes(rgb: np.ndarray, person: src.SourcePerson, rng: np.random.Generator) -> None:
    """A long fringe: strands of the person's own hair, from inside the hair over the brows and the lids.

    The strands end between the upper lids and the middle of the eyes: the face stays recognisable
    (the landmarks still hold), only the hair rule is broken.
    """
    lm = person.landmarks
    fw = person.face_width
    centre_x = float(lm[mesh.FOREHEAD_TOP, 0])
    top_y = float(lm[mesh.FOREHEAD_TOP, 1]) - 0.3 * fw
    hair_rows = slice(int(person.crown_y + 6), int(person.crown_y + 0.25 * fw))
    hair_cols = slice(int(centre_x - 0.25 * fw), int(centre_x + 0.25 * fw))
    hair = rgb[hair_rows, hair_cols].reshape(-1, 3)
    eye_y = float(person.eye_centre[1])
    left = float(lm[list(mesh.RIGHT_BROW) + list(mesh.RIGHT_EYE_CONTOUR), 0].min()) - 0.06 * fw
    right = float(lm[list(mesh.LEFT_BROW) + list(mesh.LEFT_EYE_CONTOUR), 0].max()) + 0.06 * fw
    strands = []
    for _ in range(150):
        x = rng.uniform(left, right)
        end_y = eye_y + rng.uniform(-0.1, 0.06) * fw
        # Strands fall outwards from the parting like a real fringe.
        sway = (x - centre_x) * rng.uniform(0.1, 0.45) + rng.uniform(-0.06, 0.06) * fw
        shade = hair[rng.integers(0, len(hair))] * rng.uniform(0.55, 0.9)
        start_y = top_y + rng.uniform(0, 0.15) * fw
        strands.append((x, start_y, end_y, sway, shade.astype(np.float32), rng.uniform(1.0, 2.4)))

    def draw(colour: np.ndarray, coverage: np.ndarray, origin: tuple[int, int]) -> None:
        ts = np.linspace(0, 1, 16)
        for x, start_y, end_y, sway, shade, thickness in strands:
            line = np.stack([x + sway * ts ** 2, start_y + (end_y - start_y) * ts], 1).astype(np.float32)
            pts = _pts(line, origin)
            # Three pieces, thinner towards the tip; later strands lie over earlier ones.
            for part, scale in ((slice(0, 7), 1.0), (slice(6, 12), 0.75), (slice(11, 16), 0.45)):
                width = max(1, int(thickness * scale * SUPERSAMPLE))
                cv2.polylines(colour, [pts[part]], False, tuple(float(c) for c in shade), width, cv2.LINE_AA)
                cv2.polylines(coverage, [pts[part]], False, 1.0, width, cv2.LINE_AA)
        # Fade in from the top so the fringe grows out of the hair instead of starting at an edge.
        rows = np.arange(coverage.shape[0], dtype=np.float32) / SUPERSAMPLE + origin[1]
        fade = np.clip((rows - top_y) / (0.3 * fw), 0, 1)[:, None] ** 2
        colour *= fade[..., None]
        coverage *= fade

    _overlay(rgb, _face_box(person, 0.3), draw)


def open_mouth(rgb: np.ndarray, alpha: np.ndarray, person: src.SourcePerson) -> tuple[np.ndarray, np.ndarray]:
    """Drop the jaw (lower lip and chin move down) and show a dark open mouth between the lips."""
    lm = person.landmarks
    mouth_width = float(np.linalg.norm(lm[mesh.MOUTH_LEFT] - lm[mesh.MOUTH_RIGHT]))
    drop = 0.3 * mouth_width
    mx = float(lm[[mesh.MOUTH_RIGHT, mesh.MOUTH_LEFT], 0].mean())
    lip_y = float(lm[mesh.LOWER_LIP_INNER, 1])
    chin_y = float(person.chin[1])
    h, w = alpha.shape

    def bell(x: np.ndarray) -> np.ndarray:
        """How far the lower lip and chin drop across the face: fully mid-mouth, less at the corners."""
        return np.clip(1 - ((x - mx) / (0.8 * mouth_width)) ** 2, 0, 1).astype(np.float32)

    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)
    wy = np.interp(ys, [lip_y - 1, lip_y + drop, chin_y + drop, chin_y + 3 * drop], [0, 1, 1, 0])
    weight = wy[:, None] * bell(xs)[None, :]
    map_x = np.broadcast_to(xs[None, :], (h, w)).astype(np.float32)
    map_y = (ys[:, None] - drop * weight).astype(np.float32)
    moved = cv2.remap(rgb, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    moved_alpha = cv2.remap(alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    resting = lm[[308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78]]
    lower = resting.copy()
    lower[:, 1] += drop * bell(lower[:, 0])

    def draw(colour: np.ndarray, coverage: np.ndarray, origin: tuple[int, int]) -> None:
        # The smile's own teeth stay above the resting lower lip; below it, the dark open mouth.
        opening = np.zeros(coverage.shape, np.uint8)
        cv2.fillPoly(opening, [_pts(np.vstack([resting[::-1], lower]), origin)], 255, cv2.LINE_AA)
        inside = cv2.GaussianBlur(opening.astype(np.float32) / 255, (0, 0), SUPERSAMPLE * 0.5)
        rows = np.linspace(0, 1, coverage.shape[0], dtype=np.float32)[:, None, None]
        paint = np.array([75.0, 32.0, 34.0], np.float32) * (1 - 0.5 * rows)
        colour[:] = paint * inside[..., None]
        coverage[:] = inside

    _overlay(moved, _face_box(person), draw)
    return moved, moved_alpha


# Inner-lip outline of the face mesh, mouth corner to mouth corner along each lip.
UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_LIPS = (0, 37, 39, 40, 185, 61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267)
# What lies between the lips of a smile, on the source photo: teeth (bright, not red: redness
# (R-G)-(G-B) under 25, where the lips measure 45-65 and the teeth -6 to 5) or the dark mouth
# corners (value under 0.45); measured on the astronaut's lips, teeth and corners.
TEETH_MAX_REDNESS = 25.0
CORNER_MAX_VALUE = 0.45


def _lip_line(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    order = np.argsort(points[:, 0])
    return np.interp(xs, points[order, 0], points[order, 1])


def lip_gap(rgb: np.ndarray, person: src.SourcePerson) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the smile shows teeth, per source column: (columns, top rows, bottom rows), float32.

    Between the mesh's inner-lip lines (one pixel of slack each side, as the mesh is not exact),
    the gap runs from the first to the last pixel that is not lip (teeth or dark mouth corner);
    columns without such pixels have top == bottom.
    """
    lm = person.landmarks
    x0, x1 = int(np.floor(lm[mesh.MOUTH_RIGHT, 0])), int(np.ceil(lm[mesh.MOUTH_LEFT, 0]))
    xs = np.arange(min(x0, x1), max(x0, x1) + 1)
    upper = _lip_line(lm[list(UPPER_INNER)], xs)
    lower = _lip_line(lm[list(LOWER_INNER)], xs)
    y0 = int(np.floor(upper.min()))
    mouth = rgb[y0:int(np.ceil(lower.max())) + 1, xs[0]:xs[-1] + 1]
    redness = (mouth[..., 0] - mouth[..., 1]) - (mouth[..., 1] - mouth[..., 2])
    not_lip = (redness < TEETH_MAX_REDNESS) | (mouth.max(2) < CORNER_MAX_VALUE * 255)
    top, bottom = (upper + lower) / 2, (upper + lower) / 2
    for i in range(len(xs)):
        first, last = int(np.floor(upper[i])), int(np.ceil(lower[i]))
        if last - first < 2:
            continue
        rows = np.nonzero(not_lip[first - y0:last - y0 + 1, i])[0]
        if rows.size:
            top[i], bottom[i] = first + rows[0], first + rows[-1] + 1
    return xs.astype(np.float32), top.astype(np.float32), bottom.astype(np.float32)


def close_lips(rgb: np.ndarray, alpha: np.ndarray, person: src.SourcePerson) -> tuple[np.ndarray, np.ndarray]:
    """Close the smile over the teeth: the lower lip rises to meet the upper one, a closed-lip smile.

    A warp guided by the mesh and the measured gap (``lip_gap``), column by column: the upper lip
    stays where it is; the lower lip comes up by the gap, and the face below it by less and less
    (half at the chin, none as far again below it), as a jaw closes. The teeth rows are not shown
    at all. A soft shadow marks the line where the lips meet, as on a closed mouth.
    """
    xs, top, bottom = lip_gap(rgb, person)
    # The gap's rows take the colour of the lip next to them, so no interpolation below can pull
    # a tooth's colour into the closed lips.
    source = rgb.copy()
    for x, first, end in zip(xs.astype(int), top.astype(int), bottom.astype(int), strict=True):
        if end > first:
            middle = (first + end) // 2
            source[first:middle, x] = rgb[first - 1, x]
            source[middle:end, x] = rgb[end, x]
    # Pixel rows ``top``..``bottom - 1`` are the gap: its edges lie half a pixel outside their centres.
    top, bottom = top - 0.5, bottom - 0.5
    # A 1.5 px Gaussian across columns: the lips meet on a smooth line, not a staircase.
    kernel = cv2.getGaussianKernel(7, 1.5).ravel()
    top = np.convolve(np.pad(top, 3, mode="edge"), kernel, mode="valid")
    bottom = np.maximum(np.convolve(np.pad(bottom, 3, mode="edge"), kernel, mode="valid"), top)
    # Only the mouth's columns, from the lips to where the lift ends, move: warp that block alone.
    chin_y = float(person.chin[1])
    x0, y0 = int(xs[0]), int(np.floor(top.min()))
    y1 = min(int(np.ceil(2 * chin_y - top.min())) + 2, alpha.shape[0])
    xs_block = np.arange(x0, x0 + len(xs), dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    end = chin_y + (chin_y - top[None, :])
    ramp = np.where(ys > top[None, :], np.clip((end - ys) / np.maximum(end - top[None, :], 1), 0, 1), 0)
    map_x = np.broadcast_to(xs_block, ramp.shape).astype(np.float32)
    map_y = (ys + (bottom - top)[None, :] * ramp).astype(np.float32)
    closed, closed_alpha = rgb.copy(), alpha.copy()
    block = (slice(y0, y1), slice(x0, x0 + len(xs)))
    closed[block] = cv2.remap(source, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    closed_alpha[block] = cv2.remap(alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    _lip_seam(closed, person, xs, top)
    return closed, closed_alpha


def _lip_seam(rgb: np.ndarray, person: src.SourcePerson, xs: np.ndarray, meet: np.ndarray) -> None:
    """The shadow line between closed lips: the lips' own colour darkened, strongest at the corners."""
    outline = person.landmarks[list(OUTER_LIPS)]
    inside = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(outline).astype(np.int32)], 1)
    lips = rgb[inside.astype(bool)]
    shade = np.median(lips, axis=0) * 0.5
    corner = np.abs(xs - xs.mean()) / max(float(np.ptp(xs)) / 2, 1)
    points = np.stack([xs, meet], 1)

    def draw(colour: np.ndarray, coverage: np.ndarray, origin: tuple[int, int]) -> None:
        pts = _pts(points, origin)
        strength = 0.45 + 0.35 * corner ** 2
        for i in range(len(pts) - 1):
            a = float(strength[i])
            cv2.line(colour, tuple(map(int, pts[i])), tuple(map(int, pts[i + 1])),
                     tuple(float(c) * a for c in shade), SUPERSAMPLE, cv2.LINE_AA)
            cv2.line(coverage, tuple(map(int, pts[i])), tuple(map(int, pts[i + 1])), a, SUPERSAMPLE, cv2.LINE_AA)

    (x0, y0), (x1, y1) = np.floor(outline.min(0)).astype(int) - 3, np.ceil(outline.max(0)).astype(int) + 3
    _overlay(rgb, (int(x0), int(y0), int(x1), int(y1)), draw)


def key_light(rgb: np.ndarray, over: bool) -> np.ndarray:
    """The face light far too strong (``over``) or too weak, the backdrop lit on its own as in a booth.

    Tone curves, not plain gains: an overexposed face keeps some of its white of the eyes below
    clipping and an underexposed one keeps its local contrast, so only the exposure is wrong.
    """
    x = np.clip(rgb / 255, 0, 1)
    curved = 1 - 0.7 * (1 - x) ** 1.8 if over else 0.55 * x ** 2.2
    return (curved * 255).astype(np.float32)


def side_light(rgb: np.ndarray, person: src.SourcePerson, dark: float = 0.42) -> np.ndarray:
    """One side of the face (and body) in shade: a soft ramp across the face centre."""
    fw = person.face_width
    xs = np.arange(rgb.shape[1], dtype=np.float32)
    ramp = 1 - (1 - dark) / (1 + np.exp(-(xs - person.eye_centre[0]) / (0.12 * fw)))
    return rgb * ramp[None, :, None]
