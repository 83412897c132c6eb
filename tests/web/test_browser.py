"""The dashboard in a real headless Chromium (Debian's chromium driven through chromium-driver):
log in, watch a booth go offline (its process SIGKILLed, so the broker sends its Will) and online
again without reloading, watch a class's progress move while a booth uploads, flag a photo and see
the student back on the missing list, download the missing list, roles (raw answers of every page,
CSV and JSON checked for a viewer), logout and session expiry (issue 12).

The booth's side is the booth's own uplink code (``booth_link_driver.py``); central's side is the
real ingest on a real mosquitto, and the dashboard on the same store, served by uvicorn.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from appliance.uplink.client import Uplink
from appliance.uplink.settings import UplinkSettings
from boothcore.privacy import mask_id
from central.ingest import Ingest
from central.local_broker import LocalBroker, free_port
from central.web.server import DashboardServer
from tests.web.conftest import PASSWORD, Office, build_office, chsi_jpeg

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


def cell(browser: webdriver.Chrome, selector: str) -> str:
    """The text of the element at ``selector``, or "" while htmx swaps it."""
    found = browser.find_elements(By.CSS_SELECTOR, selector)
    try:
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


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


def test_an_admin_watches_a_class_progress_move_while_a_booth_uploads(page, site, tmp_path: Path):
    """booth-09's own uplink sends the photos of 计科2301's missing students, one at a time; the
    admin reaches the class from the colleges' summary."""
    office, broker, base = site
    log_in(page, base, "admin", "/progress")  # the colleges' summary: drill down to the college's classes
    page.find_element(By.CSS_SELECTOR, '#progress tr[data-college="信息学院"] a').click()
    WebDriverWait(page, LIVE_S).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#progress table.progress"))
    page.execute_script("window.notReloaded = true;")
    row = '#progress tr[data-class="信息学院/计科2301"]'
    WebDriverWait(page, LIVE_S).until(lambda b: cell(b, row + " td.done") == "4")  # after the stream's first swap
    WebDriverWait(page, LIVE_S).until(lambda b: cell(b, row + " td.missing") == "2")  # "" while a swap runs
    missing = sorted((e for e in office.of("信息学院", "计科2301") if e.id_number not in office.photographed),
                     key=lambda e: e.student_no)
    settings = UplinkSettings(broker_url=f"mqtt://{broker.host}:{broker.port}", will_delay_s=0, session_expiry_s=0)
    uplink = Uplink(settings, "booth-09", tmp_path / "outbox.db", on_command=lambda command: None)
    uplink.start(lambda: {"state": "ready", "session": None})
    try:
        for index, entry in enumerate(missing, start=1):
            jpeg = chsi_jpeg(500 + index)
            path = tmp_path / f"{index}.jpg"
            path.write_bytes(jpeg)
            queued = time.monotonic()
            uplink.photo_saved(uuid.uuid4().hex, path, {
                "id_number": entry.id_number, "student_no": entry.student_no, "college": entry.college,
                "class": entry.class_name, "session_id": "s-live", "attempt": 1,
                "captured_at": "2026-11-30T10:00:00Z", "sha256": hashlib.sha256(jpeg).hexdigest()})
            WebDriverWait(page, LIVE_S).until(lambda b, n=index: cell(b, row + " td.done") == str(4 + n))
            print(f"photo {index} queued on the booth -> shown in the progress: {time.monotonic() - queued:.2f} s")
    finally:
        uplink.stop()
    WebDriverWait(page, LIVE_S).until(lambda b: cell(b, row + " td.missing") == "0")
    WebDriverWait(page, LIVE_S, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: b.find_element(By.CSS_SELECTOR, row).get_attribute("data-standing") == "done")
    assert page.execute_script("return window.notReloaded === true;")


def test_an_admin_flags_a_photo_and_sees_the_student_back_on_the_missing_list(page, site):
    office, _, base = site
    record = office.store.photos(college="外语学院", class_name="英语2301")[0]
    class_path = f"/classes/{quote('外语学院')}/{quote('英语2301')}"
    log_in(page, base, "admin", class_path)
    before = int(page.find_element(By.ID, "missing-count").text)
    page.get(base + class_path + "/proof")
    page.find_element(By.CSS_SELECTOR, f"#photo-{record.photo_id} a").click()
    WebDriverWait(page, LIVE_S).until(lambda b: b.find_elements(By.ID, "flag-reason"))
    assert "300 dpi" in page.find_element(By.CSS_SELECTOR, "table.checks").text
    page.find_element(By.ID, "flag-reason").send_keys("眼睛闭上了 eyes closed")
    page.find_element(By.ID, "flag").click()
    WebDriverWait(page, LIVE_S).until(lambda b: b.find_elements(By.ID, "photo-message"))
    message = page.find_element(By.ID, "photo-message").text
    assert "on the missing list again" in message and "booths told to allow the retake" in message, message
    assert page.current_url.endswith(f"/photos/{record.photo_id}?flagged=2")  # redirected: a reload is a GET
    page.refresh()
    assert "on the missing list again" in page.find_element(By.ID, "photo-message").text
    page.get(base + class_path)
    assert int(page.find_element(By.ID, "missing-count").text) == before + 1
    rows = page.find_elements(By.CSS_SELECTOR, "table.students tr.missing")
    assert any(record.student_no in row.text for row in rows)
    status, text = fetch(page, class_path + "/missing.csv")
    assert status == 200 and record.id_number in text
    sent = [c for c in office.store.commands() if c.kind == "allow_retake" and c.data["photo_id"] == record.photo_id]
    assert {c.booth for c in sent} >= {"booth-01", "booth-09"}  # every booth central knows of


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
    photo = office.store.photos(college="信息学院", class_name="计科2301")[0].photo_id
    for path in ("/progress", "/schedule", "/fees", f"/photos/{photo}",
                 f"/classes/{quote('信息学院')}/{quote('计科2301')}/proof"):
        page.get(base + path)
        received.append(page.page_source)
    for path in (f"/classes/{quote('信息学院')}/{quote('计科2302')}/missing.csv", "/exports/missing.csv",
                 f"/api/classes/{quote('信息学院')}/{quote('计科2302')}/missing.json", "/api/fleet.json",
                 "/api/progress.json", "/api/schedule.json", f"/api/photos/{photo}.json",
                 "/exports/makeup-payments.csv", "/exports/fees.csv", f"/photos/{photo}", "/progress"):
        status, text = fetch(page, path)  # the raw answer, before any script ran
        assert status == 200, path
        received.append(text)
    assert json.loads(received[8])  # the JSON is there, masked
    assert json.loads(received[12])["id_number"] == mask_id(office.store.photo(photo).id_number)
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
    page.get(base + f"/classes/{quote('信息学院')}/{quote('计科2301')}/missing.csv")  # a download link
    assert page.find_element(By.TAG_NAME, "h1").text == "403"  # the app's error page, not raw JSON
    assert "A secretary sees only 外语学院" in page.find_element(By.CSS_SELECTOR, "p.message").text


def test_logout_and_session_expiry(page, site):
    office, _, base = site
    log_in(page, base, "admin")
    page.find_element(By.ID, "logout").click()
    WebDriverWait(page, LIVE_S).until(lambda b: b.find_elements(By.ID, "login"))
    page.get(base + "/progress")
    assert "Please log in" in page.page_source
    log_in(page, base, "admin", "/progress")
    office.store.conn.execute("UPDATE web_sessions SET expires_at = '2000-01-01T00:00:00.000000Z'")
    page.get(base + "/progress")
    assert "Your session expired" in page.page_source
    assert shutil.which("chromium") or os.access(CHROMIUM, os.X_OK)


def test_an_admin_exports_the_registry_package_and_downloads_it(page, site, tmp_path: Path):
    import zipfile

    office, _, base = site
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    log_in(page, base, "admin", "/exports")
    page.find_element(By.NAME, "class").send_keys("英语2301")
    page.find_element(By.CSS_SELECTOR, "form[action='/exports/chsi'] button").click()
    WebDriverWait(page, LIVE_S).until(lambda b: b.find_elements(By.ID, "download-export"))
    name = page.find_element(By.ID, "download-export").get_attribute("href").rsplit("/", 1)[1]
    page.find_element(By.ID, "download-export").click()
    WebDriverWait(page, 60).until(lambda _: (downloads / name).is_file())
    folder = office.config.data_dir / "exports" / name.removesuffix(".zip")
    with zipfile.ZipFile(downloads / name) as archive:
        assert archive.testzip() is None
        photos = [n for n in archive.namelist() if n.endswith(".jpg")]
        assert {n: archive.read(n) for n in archive.namelist()} == {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    current = {p.id_number for p in office.store.photos(college="外语学院", class_name="英语2301") if p.is_current}
    assert {n.rsplit("/", 1)[1].removesuffix(".jpg") for n in photos} == current
