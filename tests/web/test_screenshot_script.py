"""scripts/screenshots.py, which makes the README's office screenshots: its office is what an office
sees by default (trial: it set web.timezone to UTC, so the README's headings read UTC after the office
pages moved to local time)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from central.config import WebSection
from tests.web.client import client_for

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"


def test_the_screenshots_office_shows_the_embedded_time_zone(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("screenshots_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    office = script.screenshot_office(tmp_path)
    try:
        zone = WebSection().timezone
        assert office.config.web.timezone == zone
        for path in ("/", "/progress", "/schedule"):
            page = client_for(office, "viewer").get(path).text
            assert zone in page and "(UTC)" not in page, path
    finally:
        office.store.close()
