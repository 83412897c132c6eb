"""What the dashboard answers over real HTTP (uvicorn, as ``booth-central web`` serves it), on each
engine: a refused download is the HTML error page for a browser and JSON for the API or a client
that asks for JSON; the photo forms redirect (POST-redirect-GET, 303), so a reload sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.web.client import BROWSER_ACCEPT, browser_client, csrf_of, klass, served
from tests.web.conftest import Office


@pytest.fixture
def base(office: Office) -> Iterator[str]:
    with served(office.config) as url:
        yield url


def test_a_refused_download_is_the_error_page_for_a_browser(office: Office, base: str):
    with browser_client(base, "sec") as client:  # the secretary of 外语学院
        for path in (klass("信息学院", "计科2301") + "/missing.csv", klass("信息学院", "计科2301") + "/proof.pdf"):
            answer = client.get(path)
            assert answer.status_code == 403
            assert answer.headers["content-type"].startswith("text/html"), path
            assert "<h1>403</h1>" in answer.text and "A secretary sees only 外语学院" in answer.text
            assert 'id="logout"' in answer.text  # the app's page, with its navigation
            answer = client.get(path, headers={"Accept": "application/json"})
            assert answer.status_code == 403 and answer.json() == {"error": "只能查看本学院 / A secretary sees only "
                                                                            "外语学院"}
        answer = client.get("/api" + klass("信息学院", "计科2301") + "/missing.json")  # the API stays JSON
        assert answer.status_code == 403 and answer.headers["content-type"] == "application/json"
        other = office.store.photos(college="信息学院")[0]
        answer = client.get(f"/photos/{other.photo_id}.jpg")
        assert answer.status_code == 404 and "No such photo" in answer.text and "<h1>404</h1>" in answer.text


def test_a_download_without_a_login_asks_to_log_in_and_comes_back(base: str):
    with httpx.Client(base_url=base, timeout=30, headers={"Accept": BROWSER_ACCEPT}) as client:
        answer = client.get("/exports/fees.csv")
        assert answer.status_code == 401 and 'id="login"' in answer.text
        assert 'name="next" value="/exports/fees.csv"' in answer.text


def test_the_flag_form_redirects_and_a_reload_flags_nothing_twice(office: Office, base: str):
    record = office.store.photos(college="外语学院", class_name="英语2301")[0]
    with browser_client(base, "admin") as client:
        answer = client.post(f"/photos/{record.photo_id}/flag", data={"csrf": csrf_of(client), "reason": "闭眼"},
                             follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/photos/{quote(record.photo_id)}?flagged=none"  # no broker here
        page = client.get(answer.headers["location"])
        assert page.status_code == 200 and "the student is on the missing list again" in page.text
        assert "The booths were not told" in page.text and 'id="tell-booths"' in page.text
        again = client.get(answer.headers["location"])  # the browser's reload: a GET, no second flag
        assert again.status_code == 200 and "no longer the person" not in again.text
        flags = office.store.conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'retake_flag'").fetchone()[0]
        assert flags == 1
        answer = client.post(f"/photos/{record.photo_id}/flag", data={"csrf": csrf_of(client), "reason": "  "},
                             follow_redirects=False)  # a refused form is answered where it was sent
        assert answer.status_code == 400 and "Give the reason" in answer.text
