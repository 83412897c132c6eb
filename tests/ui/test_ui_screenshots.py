"""``booth screenshots``: every screen to PNG at the sizes asked for; a bad size is a usage error."""

from __future__ import annotations

import pygame
import pytest

from appliance.cli import main


def test_screenshots_writes_every_screen_at_the_size_asked(tmp_path, capsys) -> None:
    out = tmp_path / "shots"
    assert main(["screenshots", "--out", str(out), "--size", "800x480"]) == 0
    files = sorted((out / "800x480").glob("*.png"))
    names = {path.stem.split("-", 1)[1] for path in files}
    assert {"closed", "idle", "refused-not-on-roster", "confirm", "countdown", "review-failed", "summary",
            "blocked", "keypad", "keypad-locked", "menu", "menu-colleges", "menu-classes", "menu-health"} <= names
    assert len(files) == 40 and not (out / "1024x600").exists()
    assert all(pygame.image.load(str(path)).get_size() == (800, 480) for path in files)
    assert "40 screens x 1 sizes" in capsys.readouterr().out


@pytest.mark.parametrize("size", ["1024", "0x600", "1024x60", "10x10", "axb"])
def test_a_bad_size_is_one_line_and_exit_2(tmp_path, capsys, size: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["screenshots", "--out", str(tmp_path), "--size", size])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"--size: '{size}': expected WIDTHxHEIGHT in pixels, each 100 to 9999 (e.g. 1024x600" in err
    assert len(err.strip().splitlines()) == 1


def test_the_summary_screens_header_is_the_closed_booths_not_a_count_their_body_contradicts() -> None:
    """The booth closes the session before its summary, so the header names the booth alone
    (tests/booth/test_booth_flow.py); the screenshots had the open class's 23/30 over 25 photographed."""
    from appliance.commands.screenshots import every_view
    from appliance.config import load_config

    config = load_config(None)
    views = dict(every_view(config))
    assert views["summary"].status == views["summary-complete"].status == config.booth.id


def _drawn(view, size: tuple[int, int], path) -> tuple[object, list[tuple[int, int, int, int]]]:
    """The screen ``view`` at ``size`` as an [x, y, rgb] array, and the rects of its clock (HH:MM)."""
    import re

    from appliance.ui.pygame_display import PygameDisplay

    display = PygameDisplay(size=size, mirror_preview=False)
    try:
        display.show(view)
        display.screenshot(path)
        clocks = [tuple(rect) for text, rect in display.text_rects if re.fullmatch(r"\d\d:\d\d", text)]
    finally:
        display.close()
    return pygame.surfarray.array3d(pygame.image.load(str(path))).astype(int), clocks


def test_the_readmes_booth_screens_are_what_the_booth_draws_today(tmp_path) -> None:
    """Each ``docs/screens/<W>x<H>-<name>.png`` the README shows is ``booth screenshots``' screen
    ``<name>`` at that size, pixel for pixel but for the clock and the camera image (the simulated
    scene's noise differs run to run); trial: the README showed a review without the ears instruction
    and a summary whose header still named the closed class."""
    import dataclasses
    import re
    from pathlib import Path

    import numpy as np

    from appliance.commands.screenshots import every_view
    from appliance.config import load_config

    root = Path(__file__).resolve().parents[2]
    shown = re.findall(r"docs/screens/(\d+)x(\d+)-([a-z-]+)\.png", (root / "README.md").read_text(encoding="utf-8"))
    assert len(shown) >= 5, shown
    views = dict(every_view(load_config(None)))
    for width, height, name in sorted(set(shown)):
        size, view = (int(width), int(height)), views[name]
        drawn, clocks = _drawn(view, size, tmp_path / "now.png")
        document = root / "docs" / "screens" / f"{width}x{height}-{name}.png"
        documented = pygame.surfarray.array3d(pygame.image.load(str(document)))
        assert drawn.shape == documented.shape, name
        differs = np.abs(drawn - documented).max(axis=2) > 16  # indexed [x, y]
        for x, y, w, h in clocks:  # to the screen's edge: the image's clock ("03:56") is inked wider or narrower
            differs[x - w // 4:, y - 1:y + h + 1] = False
        if view.image is not None:  # where a black and a white camera image differ is the image's place
            black, _ = _drawn(dataclasses.replace(view, image=np.zeros_like(view.image)), size, tmp_path / "b.png")
            white, _ = _drawn(dataclasses.replace(view, image=np.full_like(view.image, 255)), size, tmp_path / "w.png")
            differs &= ~(np.abs(black - white).max(axis=2) > 0)
        assert not differs.any(), (f"{document} differs from what the booth draws in "
                                   f"{int(differs.sum())} pixels: remake it with booth screenshots")
