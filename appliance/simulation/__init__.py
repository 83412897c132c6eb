"""A simulated booth scene (real face on the CHSI backdrop, faults on demand) for the demo and tests."""

from appliance.simulation.faults import FAULT_CHECKS, FAULTS, expected_failures
from appliance.simulation.scene import BACKGROUND_RGB, face_landmarks, render_scene, scene_faces

__all__ = ["BACKGROUND_RGB", "FAULTS", "FAULT_CHECKS", "expected_failures", "face_landmarks", "render_scene",
           "scene_faces"]
