"""Head pitch from a rigid fit of face-mesh points that hair, hats and the mouth cannot move.

Why: the pitch read from the mesh's forehead top against its chin moved with whatever moves those
two points (a hat or fringe on the forehead, an open mouth at the chin): compliant faces of the
real-face set read -9.8 to +9.5 by it against the limit 10. Here the head's rotation is the
rotation (Kabsch: least squares, no scale) that carries ``REFERENCE`` onto the same mesh points
of the student: the eye corners, the ridge and wings of the nose, and the face's edges at cheek
height (the points the yaw measure already uses). No point on the forehead, the brows, the lips
or the jaw is used. On the real-face set the compliant frames read -3.1 to 3.2 by it and every
other face labelled to pass -6.3 to 4.1 (``settings.max_pitch_deg`` has the numbers).

The reference is not MediaPipe's canonical face model: that model is not in the pinned wheels,
and the mesh model's depth (z) has its own scale. ``derive_reference`` makes it from the compliant
faces of the real-face development set; ``tests/quality/test_quality_real_faces.py`` derives it
again from the set and prints the numbers when they differ from ``REFERENCE``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from appliance.quality.landmarks import (
    LEFT_CHEEK_EDGE,
    LEFT_EYE_INNER,
    LEFT_EYE_OUTER,
    NOSE_TIP,
    RIGHT_CHEEK_EDGE,
    RIGHT_EYE_INNER,
    RIGHT_EYE_OUTER,
)

RIGHT_NOSE_WING, LEFT_NOSE_WING = 129, 358
# The nose's midline from the tip up to between the eyes (MediaPipe canonical face mesh indices).
NOSE_RIDGE = (NOSE_TIP, 2, 4, 5, 6, 168, 195, 197)
# The fitted points, each side's point before its mirror partner, then the midline.
POINTS = (RIGHT_EYE_OUTER, LEFT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, RIGHT_NOSE_WING, LEFT_NOSE_WING,
          RIGHT_CHEEK_EDGE, LEFT_CHEEK_EDGE, *NOSE_RIDGE)
# Row of each point's mirror image across the face's midline (the midline mirrors onto itself).
MIRROR = (1, 0, 3, 2, 5, 4, 7, 6, *range(8, 8 + len(NOSE_RIDGE)))
# The mean shape of POINTS (frame axes: x right, y down, z away from the camera; centred, unit
# norm), made by ``derive_reference`` from the five compliant photographs of ../shared/faces
# (good_idphoto_ea_woman, good_kaifu, good_carell, good_schmidhuber, good_tanktop_woman) as the
# booth's mesh model reads them. Left out one at a time, each of the five reads within 0.82
# degrees of its reading with all five (bench/fidelity.py lists every case's pitch).
REFERENCE = np.array([
    [-0.2469, -0.1053, 0.0595], [0.2469, -0.1053, 0.0595], [-0.0933, -0.0934, 0.0303], [0.0933, -0.0934, 0.0303],
    [-0.1193, 0.1029, 0.0006], [0.1193, 0.1029, 0.0006], [-0.3772, -0.0211, 0.3723], [0.3772, -0.0211, 0.3723],
    [0.0, 0.1377, -0.1503], [0.0, 0.1646, -0.0579], [0.0, 0.1013, -0.166], [0.0, 0.0503, -0.1586],
    [0.0, -0.0749, -0.0853], [0.0, -0.1209, -0.0665], [0.0, 0.0078, -0.1326], [0.0, -0.0318, -0.1082],
])
_MIRROR_X = np.array([-1.0, 1.0, 1.0])
PROCRUSTES_ROUNDS = 20  # the mean shape moves by less than 1e-6 after ~5


def _normalised(points: np.ndarray) -> np.ndarray:
    """Centred on their mean, scaled to unit Frobenius norm."""
    centred = points - points.mean(0)
    return centred / max(float(np.linalg.norm(centred)), 1e-12)


def _kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation R (3x3, det +1) that minimises |source @ R.T - target| for centred (N, 3) sets."""
    u, _, vt = np.linalg.svd(source.T @ target)
    flip = np.diag([1.0, 1.0, float(np.sign(np.linalg.det(vt.T @ u.T)))])
    return vt.T @ flip @ u.T


def head_rotation(mesh_points: np.ndarray) -> np.ndarray:
    """The rotation (3x3) carrying ``REFERENCE`` onto the student's ``POINTS`` of the 468-point
    mesh (frame pixels, z in pixels away from the camera)."""
    return _kabsch(REFERENCE, _normalised(np.asarray(mesh_points, dtype=np.float64)[list(POINTS)]))


def pitch_degrees(mesh_points: np.ndarray) -> float:
    """The head's pitch in degrees about the frame's x axis: positive when the face is turned
    down (chin towards the chest), negative when it is tipped back; 0 is the average carriage of
    the compliant faces the reference was made from. Roll and yaw do not enter it (the rotation
    is split as roll after yaw after pitch)."""
    rotation = head_rotation(mesh_points)
    return math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))


def derive_reference(meshes: Sequence[np.ndarray]) -> np.ndarray:
    """``REFERENCE`` from the meshes (468, 3) of frontal, compliant faces.

    Each face's POINTS, centred and scaled to unit norm, and its mirror image (x negated, left and
    right swapped) are brought to one mean shape by generalised Procrustes (rotation only, so
    every face weighs the same). That shape is then turned onto the plain average of the faces
    as the camera saw them: its yaw and roll are 0 (the mirror images cancel them) and its pitch
    is the faces' average carriage."""
    faces = [_normalised(np.asarray(mesh, dtype=np.float64)[list(POINTS)]) for mesh in meshes]
    faces += [face[list(MIRROR)] * _MIRROR_X for face in faces]
    as_seen = np.mean(faces, axis=0)
    shape = _normalised(as_seen)
    for _ in range(PROCRUSTES_ROUNDS):
        shape = _normalised(np.mean([face @ _kabsch(face, shape).T for face in faces], axis=0))
    return shape @ _kabsch(shape, as_seen).T
