"""How long the booth screen takes per frame: the live preview must hold ~15 fps (66 ms a frame).

Draws with SDL's dummy driver unless SDL_VIDEODRIVER says otherwise (run it on the Pi's screen
with SDL_VIDEODRIVER=kmsdrm to measure the real thing). Prints milliseconds per frame.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np

from appliance.ui.pygame_display import PygameDisplay
from appliance.ui.view import Screen, Tone, View
from boothcore.text import Text

FRAMES = 300
TARGET_MS = 1000 / 15


def _frames(count: int, height: int = 480, width: int = 640) -> list[np.ndarray]:
    """Moving camera-like frames (noise over a blue background), made up front so only drawing is timed."""
    rng = np.random.default_rng(7)
    base = np.zeros((height, width, 3), np.uint8)
    base[:] = (100, 197, 255)
    noise = rng.integers(0, 40, size=(height, width + count, 3), dtype=np.uint8)
    return [np.ascontiguousarray(base + noise[:, i:i + width]) for i in range(count)]


def _report(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{name:<28} median {statistics.median(samples):6.2f} ms  p95 {p95:6.2f} ms  "
          f"max {samples[-1]:6.2f} ms  (n={len(samples)})")


def main() -> int:
    size = (1024, 600)
    if len(sys.argv) > 1:
        width, height = sys.argv[1].split("x")
        size = (int(width), int(height))
    display = PygameDisplay(size=size)
    print(f"screen {display.size[0]}x{display.size[1]}, SDL driver {os.environ['SDL_VIDEODRIVER']}, "
          f"target {TARGET_MS:.1f} ms/frame (15 fps)")
    try:
        frames = _frames(30)  # a pool of distinct frames, cycled: a new image every frame
        guidance = (Text("请向左移动一点", "Move a little to the left"), Text("双眼睁开", "Eyes open"))
        status = "booth-01 · 软件2101 · 23/30"
        timings: list[float] = []
        for index in range(FRAMES):
            frame = frames[index % len(frames)]
            view = View(Screen.COUNTDOWN, Text("请保持不动", "Hold still"), guidance, Tone.WARN,
                        image=frame, countdown=3 - index * 3 // FRAMES, status=status)
            start = time.perf_counter()
            display.show(view)
            timings.append((time.perf_counter() - start) * 1000)
        _report("countdown preview 640x480", timings[1:])
        _report("  first frame (cold)", timings[:1])

        photo = np.full((640, 480, 3), 128, np.uint8)
        screens = {
            "idle": View(Screen.IDLE, Text("请刷身份证", "Swipe your ID card"), status=status),
            "review": View(Screen.REVIEW, Text("照片不合格", "Please retake"), guidance, Tone.BAD, image=photo,
                           status=status, button=Text("重拍", "Retake")),
            "summary": View(Screen.SUMMARY, Text("本班结束", "Class done"), guidance, qr_text="https://qr.alipay.com/x",
                            status=status),
        }
        for name, view in screens.items():
            cold: list[float] = []
            warm: list[float] = []
            for attempt in range(20):
                # A view change (new title) forces the static layer to be redrawn each time.
                changed = View(view.screen, Text(f"{view.title.zh}{attempt}", view.title.en), view.lines,
                               view.tone, image=view.image, qr_text=view.qr_text, status=status,
                               button=view.button)
                start = time.perf_counter()
                display.show(changed)
                cold.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                display.show(changed)
                warm.append((time.perf_counter() - start) * 1000)
            _report(f"{name}: screen change", cold)
            _report(f"{name}: same view again", warm)
    finally:
        display.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
