"""468-point face mesh and iris landmarks on rotated regions of the frame (MediaPipe's graph logic).

The mesh region comes from the detector's box and eye keypoints, scaled 1.5 and rotated so the eyes
are level; the iris regions from the mesh's eye corners, scaled 2.3 (MediaPipe's constants).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.quality.detect import Detection
from appliance.quality.models import ModelStore
from appliance.quality.roi import Roi, roi_from_points, sample, to_tensor

MESH_SIZE = 192
IRIS_SIZE = 64
# Mesh indices used by the checks (MediaPipe canonical face mesh).
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133  # the person's right eye (image left)
LEFT_EYE_INNER, LEFT_EYE_OUTER = 362, 263
FOREHEAD_TOP, CHIN = 10, 152
RIGHT_CHEEK_EDGE, LEFT_CHEEK_EDGE = 234, 454
NOSE_TIP = 1
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14
MOUTH_RIGHT, MOUTH_LEFT = 78, 308
# The outer outline of both lips, round from the right mouth corner (61) over the upper lip.
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
RIGHT_BROW = (70, 63, 105, 66, 107)
LEFT_BROW = (336, 296, 334, 293, 300)
RIGHT_CHEEK, LEFT_CHEEK = 205, 425
# Contours (the simulation draws and edits faces along them): each eye's outline from its outer
# corner over the upper lid, its lower lid from the outer corner, the inner lips from the right
# mouth corner, the face oval from the forehead round over the person's left side.
RIGHT_EYE_CONTOUR = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE_CONTOUR = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


@dataclass(frozen=True)
class EyeResult:
    contour: np.ndarray  # (71, 3) frame pixels; the first 16 outline the visible eyeball
    iris: np.ndarray  # (5, 3): centre, then four points on the iris edge

    @property
    def centre(self) -> np.ndarray:
        return self.iris[0, :2]

    @property
    def openness(self) -> float:
        """Lid gap over the iris diameter: how much of the iris the lids uncover. The iris is about
        the same size in every adult (~11.7 mm), so this holds for narrow and round eyes alike,
        where the gap over the eye's width reads narrow open eyes as half shut. The eyeball outline
        is: 0 outer corner, 1-7 lower lid, 8 inner corner, 9-15 upper lid (mesh 33, 7..155, 133,
        246..173); the iris points are its centre and four points on its edge."""
        outline = self.contour[:16, :2]
        gap = float(np.mean(np.linalg.norm(outline[2:7] - outline[10:15], axis=1)))
        edge = self.iris[1:5, :2]
        diameter = float(np.linalg.norm(edge[0] - edge[2]) + np.linalg.norm(edge[1] - edge[3])) / 2
        return gap / diameter if diameter > 0 else 0.0


@dataclass(frozen=True)
class Mesh:
    points: np.ndarray  # (468, 3) frame pixels, z in pixels (negative towards the camera)
    score: float


class FaceMesh:
    def __init__(self, store: ModelStore):
        self.mesh = store.interpreter("face_landmark")
        self.iris = store.interpreter("iris_landmark")
        self._mesh_in = self.mesh.get_input_details()[0]["index"]
        outs = sorted(self.mesh.get_output_details(), key=lambda d: -int(d["shape"][-1]))
        self._mesh_pts, self._mesh_flag = outs[0]["index"], outs[1]["index"]
        self._iris_in = self.iris.get_input_details()[0]["index"]
        outs = sorted(self.iris.get_output_details(), key=lambda d: -int(d["shape"][-1]))
        self._eye_pts, self._iris_pts = outs[0]["index"], outs[1]["index"]

    def _mesh_once(self, frame: np.ndarray, roi: Roi) -> Mesh:
        image = sample(frame, roi, MESH_SIZE, MESH_SIZE)
        self.mesh.set_tensor(self._mesh_in, to_tensor(image, 0.0, 1.0))
        self.mesh.invoke()
        raw = self.mesh.get_tensor(self._mesh_pts).reshape(-1, 3)
        flag = float(self.mesh.get_tensor(self._mesh_flag).reshape(-1)[0])
        score = 1.0 / (1.0 + np.exp(-np.clip(flag, -80, 80)))
        return Mesh(roi.to_frame(raw, MESH_SIZE, MESH_SIZE), score)

    def run(self, frame: np.ndarray, detection: Detection) -> Mesh:
        """The mesh on the detector's region, rotated so the eyes are level.

        One pass: a second one on the region recomputed from this mesh (what MediaPipe's tracking
        does between video frames) moved no check's value on the test set by more than noise."""
        kps = detection.keypoints
        return self._mesh_once(frame, roi_from_points(tuple(kps[0]), tuple(kps[1]), detection.box, 1.5))

    def _eye(self, frame: np.ndarray, a: np.ndarray, b: np.ndarray, flip: bool) -> EyeResult:
        box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
        roi = roi_from_points(tuple(a), tuple(b), box, 2.3)
        image = sample(frame, roi, IRIS_SIZE, IRIS_SIZE)
        if flip:
            image = np.ascontiguousarray(image[:, ::-1])
        self.iris.set_tensor(self._iris_in, to_tensor(image, 0.0, 1.0))
        self.iris.invoke()
        contour = self.iris.get_tensor(self._eye_pts).reshape(-1, 3).copy()
        iris = self.iris.get_tensor(self._iris_pts).reshape(-1, 3).copy()
        if flip:
            contour[:, 0] = IRIS_SIZE - contour[:, 0]
            iris[:, 0] = IRIS_SIZE - iris[:, 0]
        return EyeResult(roi.to_frame(contour, IRIS_SIZE, IRIS_SIZE), roi.to_frame(iris, IRIS_SIZE, IRIS_SIZE))

    def eyes(self, frame: np.ndarray, mesh: Mesh) -> tuple[EyeResult, EyeResult]:
        """(right eye, left eye) of the person; the left one is mirrored for the model, as MediaPipe does."""
        pts = mesh.points[:, :2]
        right = self._eye(frame, pts[RIGHT_EYE_OUTER], pts[RIGHT_EYE_INNER], flip=False)
        left = self._eye(frame, pts[LEFT_EYE_INNER], pts[LEFT_EYE_OUTER], flip=True)
        return right, left
