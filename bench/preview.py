"""Frames per second of the countdown preview with guidance on (issue 14: >= 30 fps at 1280x720).

One frame is what the booth loop does on COUNTDOWN: take the simulated camera's preview frame (a
new noisy frame each time, as fast as it can), run the live guidance (``PhotoChecker.guide``:
face detection, one mesh pass, light), build the countdown view and draw it (mirrored, with the
CHSI crop's guide) on a 1024x600 screen with SDL's dummy driver (``SDL_VIDEODRIVER`` overrides).
Prints frames per second and the per-frame median / p95 at each preview size, split into
camera, guidance and drawing, with the machine's load average before and after (on a shared
machine the p95 is mostly other processes' work).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from appliance.flow import views
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.quality.checker import PhotoChecker
from appliance.quality.settings import QualitySettings
from appliance.ui.pygame_display import PygameDisplay

FRAMES = 150
# Landscape previews (width, height); the simulated scene is rendered at each sensor size.
PREVIEWS = ((640, 480), (1280, 720))
TARGET_FPS = 30


def _p95(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.95) - 1]


def _load() -> str:
    """The machine's load: a shared machine's other work takes frames from this one."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs"


def main() -> int:
    checker = PhotoChecker(QualitySettings())
    display = PygameDisplay(size=(1024, 600), mirror_preview=True)
    print(f"screen {display.size[0]}x{display.size[1]}, SDL driver {os.environ['SDL_VIDEODRIVER']}, "
          f"target >= {TARGET_FPS} fps at 1280x720 with guidance; {_load()}")
    status = "booth-01 · 计算机2023-1班 · 23/30"
    try:
        for width, height in PREVIEWS:
            camera = SimulatedCamera(resolution=(width, height), preview_long_side=max(width, height))
            camera.start()
            camera.set_subject(1)
            display.show(views.countdown(3, camera.preview_frame(), [], status))  # static layer, warm caches
            camera_ms: list[float] = []
            guide_ms: list[float] = []
            draw_ms: list[float] = []
            start = time.perf_counter()
            for index in range(FRAMES):
                t0 = time.perf_counter()
                preview = camera.preview_frame()
                ta = time.perf_counter()
                messages = checker.guide(preview).messages
                t1 = time.perf_counter()
                display.show(views.countdown(3 - index * 3 // FRAMES, preview, messages, status))
                t2 = time.perf_counter()
                camera_ms.append((ta - t0) * 1000)
                guide_ms.append((t1 - ta) * 1000)
                draw_ms.append((t2 - t1) * 1000)
            elapsed = time.perf_counter() - start
            total = [c + g + d for c, g, d in zip(camera_ms, guide_ms, draw_ms, strict=True)]
            print(f"preview {width}x{height}: {FRAMES / elapsed:5.1f} fps  frame median "
                  f"{statistics.median(total):5.1f} ms p95 {_p95(total):5.1f} ms  (medians: camera "
                  f"{statistics.median(camera_ms):4.1f} ms, guidance {statistics.median(guide_ms):5.1f} ms, "
                  f"drawing {statistics.median(draw_ms):4.1f} ms, n={FRAMES})")
            camera.close()
    finally:
        display.close()
    print(f"after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
