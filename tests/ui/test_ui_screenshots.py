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
    assert len(files) == 39 and not (out / "1024x600").exists()
    assert all(pygame.image.load(str(path)).get_size() == (800, 480) for path in files)
    assert "39 screens x 1 sizes" in capsys.readouterr().out


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
