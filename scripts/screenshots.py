"""README screenshots of the office dashboard: fleet, progress (colleges, one college's classes), proof sheet,
schedule and a photo page.

    .venv/bin/python scripts/screenshots.py --out docs/screenshots

Builds a small office store (the dashboard tests' roster of two colleges, their real CHSI test
photos, three booths in different conditions, a few refused cards, a schedule around now) with the
embedded ``web.timezone`` (what an office sees unless it sets another), serves the dashboard on a
free port, logs in as a viewer (ID numbers and names masked) through the login form and saves one
PNG per page, driven by the same headless Chromium flags as the browser tests. Needs the dev
extras (selenium) and the Debian packages chromium and chromium-driver (``make setup``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from central.local_broker import free_port  # noqa: E402
from central.schedule import parse_upload  # noqa: E402
from central.store import BoothStatus, EventRecord  # noqa: E402
from central.web.server import DashboardServer  # noqa: E402
from tests.web.conftest import PASSWORD, Office, build_office  # noqa: E402

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,800", "--hide-scrollbars")


def _booths(office: Office) -> None:
    now = dt.datetime.now(dt.UTC)
    session = {"id": "s-1", "kind": "class", "college": "外语学院", "class": "英语2301"}
    office.store.record_status(BoothStatus(booth="booth-01", boot=4, online=True, state="ready", ts=now.isoformat(),
                                           session=session, queue_depth=1, disk_free_mb=21_480.0, cpu_temp_c=52.0,
                                           version="0.1.0"))
    office.store.record_status(BoothStatus(booth="booth-02", boot=2, online=True, state="idle",
                                           ts=(now - dt.timedelta(minutes=5)).isoformat(), queue_depth=0,
                                           disk_free_mb=18_020.0, cpu_temp_c=47.5, version="0.1.0"))
    office.store.conn.execute("UPDATE booths SET status_received_at = ? WHERE booth = 'booth-02'",
                              ((now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))
    office.store.record_status(BoothStatus(booth="booth-03", boot=7, online=False, state="lost", ts=now.isoformat()))
    office.store.record_event(EventRecord(event_id="a" * 32, booth="booth-03", ts=now.isoformat(), kind="error",
                                          data={"code": "camera", "message": "camera not found"}))
    office.store.record_event(EventRecord(event_id=uuid.uuid4().hex, booth="booth-01", ts=now.isoformat(),
                                          kind="class_opened", data={"session_id": "s-1", **session}))
    for reason in ("not_on_roster", "not_on_roster", "other_class"):
        office.store.record_event(EventRecord(event_id=uuid.uuid4().hex, booth="booth-01", ts=now.isoformat(),
                                              kind="card_refused", data={"reason": reason, "session_id": "s-1"}))


# The slots start up to an hour before now and last 40 minutes: a slot may not cross midnight.
EARLIEST_START = dt.time(1, 0)
LATEST_START = dt.time(23, 0)


def _schedule(office: Office) -> None:
    """Slots around now in the office's time zone: one class due, one late, one open on booth-01."""
    local = dt.datetime.now(office.config.web.zone).replace(second=0, microsecond=0)
    if not EARLIEST_START <= local.time() <= LATEST_START:
        sys.exit(f"screenshots: it is {local:%H:%M} in {office.config.web.timezone}: the schedule around now would "
                 f"cross midnight; run again between {EARLIEST_START:%H:%M} and {LATEST_START:%H:%M} there")

    def slot(college: str, klass: str, booth: str, start: dt.datetime) -> str:
        end = start + dt.timedelta(minutes=40)
        return f"{college},{klass},{booth},{start:%Y-%m-%d},{start:%H:%M},{end:%H:%M}\n"

    text = ("college,class,booth,date,start,end\n"
            + slot("信息学院", "计科2301", "booth-02", local - dt.timedelta(minutes=10))
            + slot("信息学院", "计科2302", "booth-02", local - dt.timedelta(minutes=60))
            + slot("外语学院", "英语2301", "booth-01", local - dt.timedelta(minutes=20)))
    classes = {(e.college, e.class_name) for e in office.roster}
    office.store.import_schedule(parse_upload(text.encode(), classes, office.config.web.zone, "schedule.csv"))


def screenshot_office(folder: Path) -> Office:
    """The test office the screenshots show, its dashboard on a free port, in the embedded
    ``web.timezone``: the headings and times read as an office sees them by default."""
    return build_office(folder / "central", web={"http": f"127.0.0.1:{free_port()}"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as folder:
        office = screenshot_office(Path(folder))
        _booths(office)
        _schedule(office)
        photo = office.store.photos(college="外语学院", class_name="英语2301")[0].photo_id
        options = webdriver.ChromeOptions()
        options.binary_location = args.chromium
        for flag in (*FLAGS, f"--user-data-dir={Path(folder) / 'profile'}"):
            options.add_argument(flag)
        with DashboardServer(office.config) as server:
            driver = webdriver.Chrome(options=options, service=Service(args.chromedriver))
            try:
                base = server.url.rstrip("/")
                driver.get(base + "/login")
                driver.find_element(By.ID, "name").send_keys("viewer")  # shows the masking too
                driver.find_element(By.ID, "password").send_keys(PASSWORD)
                driver.find_element(By.ID, "login").click()
                klass = f"/classes/{quote('外语学院')}/{quote('英语2301')}"
                for name, path in (("fleet", "/"), ("progress", "/progress"),
                                   ("progress-college", f"/progress/{quote('外语学院')}"),
                                   ("proof-sheet", klass + "/proof"), ("schedule", "/schedule"),
                                   ("photo", f"/photos/{photo}")):
                    driver.get(base + path)
                    driver.find_element(By.TAG_NAME, "h1")
                    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
                        "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"))
                    target = args.out / f"{name}.png"
                    driver.save_screenshot(str(target))
                    print(f"wrote {target}")
            finally:
                driver.quit()
        office.store.close()


if __name__ == "__main__":
    main()
