"""The camera ``hardware.camera`` names, chosen at the composition root (and by ``booth doctor``).

picamera2 exists only on the Pi: it is imported only when it is the one configured.
"""

from __future__ import annotations

from appliance.config import HardwareSection
from appliance.hardware.camera import Camera


def open_camera(hardware: HardwareSection) -> Camera:
    """The configured camera (``hardware.camera``); picamera2 is imported only when it is the one."""
    if hardware.camera == "picamera2":
        from appliance.hardware.camera_picamera2 import Picamera2Camera

        return Picamera2Camera()
    from appliance.hardware.camera_sim import SimulatedCamera

    return SimulatedCamera()
