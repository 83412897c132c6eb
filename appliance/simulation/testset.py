"""The labelled test set of the quality checks: clean students and each fault on its own.

Written as PNG (lossless: no JPEG artefacts the checks would have to forgive) plus
``labels.json`` = {file: [check ids that must fail]} (empty list: every check must pass) and
``scenes.json`` with what each file shows and where its faces are (for tests that need the truth).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from appliance.quality import landmarks as mesh
from appliance.simulation.faults import FAULTS, expected_failures
from appliance.simulation.scene import render_scene, scene_faces
from boothcore.durable import write_atomic

LABELS = "labels.json"
SCENES = "scenes.json"


def _truth(subject: int, faults: frozenset[str], size: tuple[int, int]) -> dict:
    faces = []
    for marks in scene_faces(subject, faults, size):
        eyes = sorted(marks[list(contour)].mean(0).tolist()
                      for contour in (mesh.RIGHT_EYE_CONTOUR, mesh.LEFT_EYE_CONTOUR))
        faces.append({
            "eyes": [[round(v, 1) for v in eye] for eye in eyes],  # eye centres, image left first
            "face_width": round(float(np.linalg.norm(marks[mesh.LEFT_CHEEK_EDGE] - marks[mesh.RIGHT_CHEEK_EDGE])), 1),
        })
    return {"subject": subject, "faults": sorted(faults), "size": list(size), "faces": faces}


def build_testset(out_dir: str | Path, size: tuple[int, int] = (960, 1280),
                  clean_subjects: Iterable[int] = range(6), fault_subjects: Iterable[int] = (0, 1),
                  faults: Iterable[str] = FAULTS) -> dict[str, list[str]]:
    """Render the set into ``out_dir``; return the labels ({file name: failing check ids})."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, int, frozenset[str]]] = [(f"clean_s{s}.png", s, frozenset()) for s in clean_subjects]
    for subject in fault_subjects:
        cases += [(f"{fault}_s{subject}.png", subject, frozenset({fault})) for fault in sorted(faults)]
    labels: dict[str, list[str]] = {}
    scenes: dict[str, dict] = {}
    for name, subject, chosen in cases:
        frame = render_scene(subject, chosen, size)
        ok, png = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        if not ok:
            raise OSError(f"PNG encoding failed for {name}")
        write_atomic(folder / name, png.tobytes(), mode=0o644)
        labels[name] = sorted(expected_failures(chosen))
        scenes[name] = _truth(subject, chosen, size)
    write_atomic(folder / LABELS, json.dumps(labels, indent=1, sort_keys=True).encode(), mode=0o644)
    write_atomic(folder / SCENES, json.dumps(scenes, indent=1, sort_keys=True).encode(), mode=0o644)
    return labels
