"""The dashboard in a real headless Chromium (Debian's chromium driven through chromium-driver):
log in, watch a booth go offline (its process SIGKILLed, so the broker sends its Will) and online
again without reloading, download the missing list, roles, logout and session expiry (issue 12).

The booth's side is the booth's own uplink code (``booth_link_driver.py``); central's side is the
real ingest on a real mosquitto, and the dashboard on the same store, served by uvicorn.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from central.ingest import Ingest
from central.local_broker import LocalBroker, free_port
from central.web.server import DashboardServer
from tests.web.conftest import PASSWORD, Office, build_office

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
DRIVER = Path(__file__).with_name("booth_link_driver.py")
REPO = Path(__file__).resolve().parents[2]
LIVE_S = 15.0  # the issue asks for 2 s; this is the test's patience on a loaded 2-core machine

pytestmark = pytest.mark.skipif(not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
                                reason="Debian's chromium and chromium-driver are not installed (make setup)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Office, LocalBroker, str]]:
    root = tmp_path_factory.mktemp("office")
    with LocalBroker(root / "broker") as broker:
        office = build_office(root / "central", broker={"url": f"mqtt://{broker.host}:{broker.port}"},
                              web={"http": f"127.0.0.1:{free_port()}"})
        with Ingest(office.config, 1) as ingest, DashboardServer(office.config) as server:
            assert ingest.wait_connected()
            yield office, broker, server.url.rstrip("/")
        office.store.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}", "--window-size=1400,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: webdriver.Chrome, site: tuple[Office, LocalBroker, str]) -> Iterator[webdriver.Chrome]:
    yield browser
    browser.delete_all_cookies()


def log_in(browser: webdriver.Chrome, base: str, name: str, path: str = "/") -> None:
    browser.get(base + path)
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login").click()
    WebDriverWait(browser, LIVE_S).until(lambda b: b.find_elements(By.ID, "logout"))


def fetch(browser: webdriver.Chrome, path: str) -> tuple[int, str]:
    """GET ``path`` from inside the page (its cookies, as a download link would)."""
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.text().then(t => done([r.status, t])));", path)
    return result[0], result[1]


def condition(browser: webdriver.Chrome, booth: str) -> str | None:
    rows = browser.find_elements(By.ID, f"booth-{booth}")
    try:
        return rows[0].get_attribute("data-condition") if rows else None
    except StaleElementReferenceException:
        return None


def row_text(browser: webdriver.Chrome, booth: str) -> str:
    """The row's text, or "" while htmx swaps the table."""
    rows = browser.find_elements(By.ID, f"booth-{booth}")
    try:
        return rows[0].text if rows else ""
    except StaleElementReferenceException:
        return ""


def start_booth(broker: LocalBroker, data: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, str(DRIVER), f"mqtt://{broker.host}:{broker.port}", "booth-01",
                                str(data)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout.readline().startswith("CONNECTED"), "the booth's link did not come up"
    return process


def test_an_admin_watches_a_booth_go_offline_and_online_live(page, site, tmp_path: Path):
    office, broker, base = site
    log_in(page, base, "admin")
    page.execute_script("window.notReloaded = true;")
    assert condition(page, "booth-09") == "never"
    booth = start_booth(broker, tmp_path / "booth")
    try:
        WebDriverWait(page, LIVE_S).until(lambda b: condition(b, "booth-01") == "online")
        WebDriverWait(page, LIVE_S).until(lambda b: all(text in row_text(b, "booth-01")
                                                        for text in ("英语2301", "ready", "48 °C")))
        booth.kill()  # SIGKILL: no clean disconnect, the broker publishes the Will
        booth.wait()
        killed = time.monotonic()
        WebDriverWait(page, LIVE_S, poll_frequency=0.05).until(lambda b: condition(b, "booth-01") == "offline")
        print(f"booth killed -> shown offline in the browser: {time.monotonic() - killed:.2f} s")
        booth = start_booth(broker, tmp_path / "booth")  # the next boot
        WebDriverWait(page, LIVE_S).until(lambda b: condition(b, "booth-01") == "online")
        assert page.execute_script("return window.notReloaded === true;")
        boot = office.store.conn.execute("SELECT boot FROM booths WHERE booth = 'booth-01'").fetchone()[0]
        assert boot == 2
    finally:
        booth.kill()
        booth.wait()


def test_missing_list_download_matches_the_roster(page, site):
    office, _, base = site
    log_in(page, base, "admin", f"/classes/{quote('信息学院')}/{quote('计科2302')}")
    missing_here = {e.id_number for e in office.of("信息学院", "计科2302")} - office.photographed
    assert page.find_element(By.ID, "missing-count").text == str(len(missing_here))
    href = page.find_element(By.ID, "missing-csv").get_attribute("href")
    status, text = fetch(page, href)
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert {row["id_number"].removeprefix('="').removesuffix('"') for row in rows} == missing_here
    assert {row["name"] for row in rows} == {e.name for e in office.roster if e.id_number in missing_here}


def test_a_viewer_never_receives_a_full_id_number(page, site):
    office, _, base = site
    log_in(page, base, "viewer", f"/classes/{quote('信息学院')}/{quote('计科2301')}")
    received = [page.page_source]
    for path in (f"/classes/{quote('信息学院')}/{quote('计科2301')}/missing.csv", "/exports/missing.csv",
                 f"/api/classes/{quote('信息学院')}/{quote('计科2301')}/missing.json", "/api/fleet.json",
                 "/api/progress.json"):
        status, text = fetch(page, path)
        assert status == 200, path
        received.append(text)
    assert json.loads(received[3])  # the JSON is there, masked
    everything = "\n".join(received)
    assert not [e for e in office.roster if e.id_number in everything or e.name in everything]
    page.get(base + "/audit")
    assert "Only an admin may open this page" in page.page_source


def test_a_secretary_cannot_see_another_college(page, site):
    _, _, base = site
    log_in(page, base, "sec", "/progress")
    assert "外语学院" in page.page_source and "信息学院" not in page.page_source
    page.get(base + f"/classes/{quote('信息学院')}/{quote('计科2301')}")
    assert "A secretary sees only 外语学院" in page.page_source


def test_logout_and_session_expiry(page, site):
    office, _, base = site
    log_in(page, base, "admin")
    page.find_element(By.ID, "logout").click()
    WebDriverWait(page, LIVE_S).until(lambda b: b.find_elements(By.ID, "login"))
    page.get(base + "/progress")
    assert "Please log in" in page.page_source
    log_in(page, base, "admin", "/progress")
    office.store.conn.execute("UPDATE web_sessions SET expires_at = '2000-01-01T00:00:00.000000Z'")
    office.store.conn.commit()
    page.get(base + "/progress")
    assert "Your session expired" in page.page_source
    assert shutil.which("chromium") or os.access(CHROMIUM, os.X_OK)
