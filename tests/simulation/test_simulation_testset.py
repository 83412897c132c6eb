"""The test-set builder: lossless images, labels from the shared fault table, truth per file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from appliance.simulation import render_scene
from appliance.simulation.testset import LABELS, SCENES, build_testset

ROOT = Path(__file__).resolve().parents[2]


def test_builds_images_and_labels_that_match_the_scene(tmp_path):
    labels = build_testset(tmp_path, size=(480, 640), clean_subjects=[0, 1], fault_subjects=[2],
                           faults=["blur", "two_people"])
    assert labels == {"clean_s0.png": [], "clean_s1.png": [], "blur_s2.png": ["sharpness"],
                      "two_people_s2.png": ["face_count"]}
    assert json.loads((tmp_path / LABELS).read_text()) == labels
    scenes = json.loads((tmp_path / SCENES).read_text())
    assert scenes["two_people_s2.png"]["faults"] == ["two_people"]
    assert len(scenes["two_people_s2.png"]["faces"]) == 2
    assert len(scenes["clean_s0.png"]["faces"]) == 1
    image = cv2.cvtColor(cv2.imread(str(tmp_path / "blur_s2.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(image, render_scene(2, {"blur"}, (480, 640)))


def test_script_writes_the_set_and_refuses_a_bad_size(tmp_path):
    script = ROOT / "scripts" / "build_testset.py"
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "x"), "--size", "big"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "WIDTHxHEIGHT" in bad.stderr
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "set"), "--size", "240x320",
                           "--clean", "1", "--fault-subjects", ""], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "set" / LABELS).read_text()) == {"clean_s0.png": []}
