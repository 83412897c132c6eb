"""The dashboard's pages, CSVs and JSON through Starlette's TestClient: log-in, CSRF, rate limit,
roles (masking, a secretary's college), clear 4xx answers (issue 12 items 1-2)."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import replace
from urllib.parse import quote

import pytest

from boothcore.privacy import mask_id, mask_name
from boothcore.roster import Category
from central.export_csv import from_excel_text
from central.photos import PhotoArchive
from central.store import EventRecord
from central.users import UserError, Users
from tests.web.client import client_for, csrf_of, klass, login
from tests.web.conftest import CLASS_SIZE, PASSWORD, Office, photograph


def test_pages_need_a_login_and_the_cookie_is_strict(office: Office):
    client = client_for(office)
    for path in ("/", "/progress", klass("信息学院", "计科2301"), "/audit"):
        answer = client.get(path)
        assert answer.status_code == 401 and "请登录 / Please log in" in answer.text
    answer = client.get("/api/fleet.json")
    assert answer.status_code == 401 and answer.json() == {"error": "请登录 / Please log in"}
    done = login(client, "admin")
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    assert client.get("/").status_code == 200


def test_wrong_password_then_rate_limit(office: Office):
    client = client_for(office)
    for _ in range(office.config.web.login_attempts):
        answer = login(client, "admin", "wrong password")
        assert answer.status_code == 401 and "Wrong user name or password" in answer.text
    answer = login(client, "admin")  # the right password, but too many failures first
    assert answer.status_code == 429 and "Too many failed logins" in answer.text
    assert login(client_for(office), "nobody", "x").status_code == 429  # same client address
    actions = [r[0] for r in office.store.conn.execute("SELECT action FROM audit WHERE action LIKE 'login%'")]
    assert actions.count("login_failed") == office.config.web.login_attempts


def test_a_new_password_ends_the_users_logins_and_the_old_password(office: Office):
    client = client_for(office)
    login(client, "admin")
    assert client.get("/").status_code == 200
    Users(office.store.conn).set_password("admin", "a new password", actor="booth demo")
    assert client.get("/").status_code == 401  # the open login ended with the old password
    assert login(client_for(office), "admin").status_code == 401
    assert login(client_for(office), "admin", "a new password").status_code in (200, 303)
    with pytest.raises(UserError, match="no user 'nobody'"):
        Users(office.store.conn).set_password("nobody", "a new password")
    with pytest.raises(UserError, match="at least 8"):
        Users(office.store.conn).set_password("admin", "short")
    audit = [tuple(r) for r in office.store.conn.execute("SELECT actor, action, detail FROM audit")]
    assert ("booth demo", "password_set", "admin") in audit


def test_csrf_is_checked_on_every_form(office: Office):
    client = client_for(office)
    assert login(client, "admin", csrf="forged").status_code == 403
    assert client.cookies.get("booth_session") is None
    client = client_for(office, "admin")
    answer = client.post("/logout", data={"csrf": "forged"})
    assert answer.status_code == 403 and "CSRF" in answer.text
    answer = client.post("/exports/chsi", data={"college": "信息学院"})
    assert answer.status_code == 403
    assert client.get("/").status_code == 200  # still logged in
    answer = client.post("/logout", data={"csrf": csrf_of(client)}, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/").status_code == 401


def test_an_expired_session_is_told_so(office: Office):
    client = client_for(office, "admin")
    office.store.conn.execute("UPDATE web_sessions SET expires_at = '2000-01-01T00:00:00.000000Z'")
    answer = client.get("/progress")
    assert answer.status_code == 401 and "Your session expired" in answer.text
    assert client.get("/api/progress.json").status_code == 401


@pytest.mark.parametrize("role", ["viewer", "sec"])
def test_viewers_and_secretaries_never_receive_a_full_id_number_or_name(office: Office, role: str):
    client = client_for(office, role)
    bodies = []
    for college, class_name in (("信息学院", "计科2301"), ("外语学院", "英语2301")):
        for path in (klass(college, class_name), klass(college, class_name) + "/missing.csv",
                     "/api" + klass(college, class_name) + "/missing.json"):
            bodies.append(client.get(path).content.decode("utf-8"))
    for path in ("/", "/progress", "/api/fleet.json", "/api/progress.json", "/exports", "/exports/missing.csv",
                 "/exports/fees.csv", "/fees", "/exports/makeup-payments.csv", "/schedule", "/api/schedule.json"):
        bodies.append(client.get(path).content.decode("utf-8"))
    own = office.store.photos(college="外语学院")[0].photo_id
    for path in (f"/photos/{own}", f"/api/photos/{own}.json"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        bodies.append(answer.content.decode("utf-8"))
    text = "\n".join(bodies)
    for entry in office.roster:
        assert entry.id_number not in text, mask_id(entry.id_number)
        assert entry.name not in text, mask_name(entry.name)
    assert mask_id(office.of("外语学院", "英语2301")[0].id_number) in text  # masked, but there


def test_an_admin_sees_full_data(office: Office):
    client = client_for(office, "admin")
    page = client.get(klass("信息学院", "计科2301")).text
    assert all(e.id_number in page and e.name in page for e in office.of("信息学院", "计科2301"))


def test_the_class_page_counts_whom_the_missing_list_names(office: Office):
    """An entrusted-training student and one photographed in an earlier year are on the roster but
    refused by every booth: the class page says so, and its count is the missing list's."""
    waiting = [e for e in office.of("信息学院", "计科2301") if e.id_number not in office.photographed]
    office.store.import_roster([replace(waiting[0], category=Category.ENTRUSTED.value),
                                replace(waiting[1], captured_before=True)])
    client = client_for(office, "admin")
    page = client.get(klass("信息学院", "计科2301")).text
    listed = client.get("/api" + klass("信息学院", "计科2301") + "/missing.json").json()
    assert re.search(r'id="missing-count">(\d+)</strong> / (\d+)', page).groups() == (
        str(len(listed)), str(CLASS_SIZE - 2))
    assert "entrusted training: not photographed" in page and "photographed in an earlier year" in page


def test_a_secretary_sees_only_their_college(office: Office):
    client = client_for(office, "sec")
    answer = client.get(klass("信息学院", "计科2301"))
    assert answer.status_code == 403 and "A secretary sees only 外语学院" in answer.text
    assert client.get(klass("信息学院", "计科2301") + "/missing.csv").status_code == 403
    assert client.get("/api" + klass("信息学院", "计科2301") + "/missing.json").status_code == 403
    assert {row["college"] for row in client.get("/api/progress.json").json()} == {"外语学院"}
    assert "信息学院" not in client.get("/progress").text
    assert client.get(f"/progress/{quote('信息学院')}").status_code == 403
    assert client.get(f"/live/progress/{quote('信息学院')}").status_code == 403
    assert client.get(f"/progress/{quote('外语学院')}").status_code == 200
    rows = list(csv.DictReader(io.StringIO(client.get("/exports/missing.csv").content.decode("utf-8-sig"))))
    assert rows and {row["college"] for row in rows} == {"外语学院"}
    assert client.get(klass("外语学院", "英语2301")).status_code == 200


def test_a_viewer_cannot_reach_admin_pages(office: Office):
    client = client_for(office, "viewer")
    answer = client.get("/audit")
    assert answer.status_code == 403 and "Only an admin" in answer.text
    answer = client.post("/exports/chsi", data={"csrf": csrf_of(client)})
    assert answer.status_code == 403


def test_progress_counts_each_class(office: Office):
    rows = {(r["college"], r["class"]): r for r in client_for(office, "admin").get("/api/progress.json").json()}
    assert set(rows) == {("信息学院", "计科2301"), ("信息学院", "计科2302"), ("外语学院", "英语2301")}
    for row in rows.values():
        assert (row["roster_size"], row["photographed"], row["missing"]) == (6, 4, 2)
        assert row["last_activity"].startswith("20")


def test_progress_shows_refusals_by_reason_and_the_retake_rate(office: Office):
    store = office.store
    opened = {"session_id": "s-7", "college": "信息学院", "class": "计科2301"}
    store.record_event(EventRecord(uuid.uuid4().hex, "booth-01", "2026-11-30T09:00:00Z", "class_opened", opened))
    store.record_event(EventRecord(uuid.uuid4().hex, "booth-02", "2026-11-30T09:00:00Z", "class_opened",
                                   {"session_id": "s-8", "college": "", "class": ""}))  # make-up: no class
    for booth, session, reason in (("booth-01", "s-7", "not_on_roster"), ("booth-01", "s-7", "not_on_roster"),
                                   ("booth-01", "s-7", "other_class"), ("booth-02", "s-7", "not_on_roster"),
                                   ("booth-02", "s-8", "not_on_roster")):
        store.record_event(EventRecord(uuid.uuid4().hex, booth, "2026-11-30T09:01:00Z", "card_refused",
                                       {"reason": reason, "session_id": session}))
    entry = next(e for e in office.of("信息学院", "计科2301") if e.id_number not in office.photographed)
    retaken = photograph(store, PhotoArchive(office.config.data_dir), entry)
    store.conn.execute("UPDATE photos SET attempt = 3 WHERE photo_id = ?", (retaken.photo_id,))
    rows = {r["class"]: r for r in client_for(office, "viewer").get("/api/progress.json").json()}
    # booth-02's session s-7 is not booth-01's: its refusal is not this class's
    assert rows["计科2301"]["refused"] == {"not_on_roster": 2, "other_class": 1}
    assert (rows["计科2301"]["retaken"], rows["计科2301"]["retake_rate"]) == (1, 20)
    assert rows["计科2302"]["refused"] == {} and rows["计科2302"]["retake_rate"] == 0
    viewer = client_for(office, "viewer")
    summary = viewer.get("/progress").text  # one row per college, linking to its classes
    college = summary.split('<tr data-college="信息学院">')[1].split("</tr>")[0]
    assert f'href="/progress/{quote("信息学院")}"' in college and "11% (1)" in college  # 1 of 4 + 5 retaken
    not_on_roster = ('<span class="reason" data-reason="not_on_roster"><span lang="zh-CN">不在名单</span> '
                     '<span class="en" lang="en">not on the roster</span> 2</span>')
    other_class = ('<span class="reason" data-reason="other_class"><span lang="zh-CN">非本班</span> '
                   '<span class="en" lang="en">other class</span> 1</span>')
    assert f"{not_on_roster} · {other_class}" in college
    assert 'sse-connect="/live/progress"' in summary
    page = viewer.get(f"/progress/{quote('信息学院')}").text
    assert not_on_roster in page and "20% (1)" in page and "英语2301" not in page
    assert f'sse-connect="/live/progress/{quote("信息学院")}"' in page


def test_missing_csv_rows_match_the_roster(office: Office):
    client = client_for(office, "admin")
    answer = client.get(klass("外语学院", "英语2301") + "/missing.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    expected = {e.id_number for e in office.of("外语学院", "英语2301")} - office.photographed
    assert {from_excel_text(row["id_number"]) for row in rows} == expected
    assert all(row["id_number"].startswith('="') for row in rows)


def test_bad_input_is_a_clear_4xx(office: Office):
    client = client_for(office, "admin")
    answer = client.get(klass("信息学院", "无此班"))
    assert answer.status_code == 404 and "No class 信息学院 / 无此班 in the roster" in answer.text
    assert "Traceback" not in answer.text
    answer = client.get(f"/progress/{quote('无此学院')}")
    assert answer.status_code == 404 and "No college 无此学院 in the roster" in answer.text
    answer = client.get("/api" + klass("信息学院", "无此班") + "/missing.json")
    assert answer.status_code == 404 and "No class" in answer.json()["error"]
    answer = client.post("/exports/chsi", data={"csrf": csrf_of(client), "class": "无此班"})
    assert answer.status_code == 404 and "No college or class" in answer.text
    answer = client.post("/login", content=b"\xff\xfe not a form", headers={"content-type": "text/plain"})
    assert answer.status_code == 403 and "out of date" in answer.text
    fresh = client_for(office)
    page = fresh.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = fresh.post("/login", data={"csrf": token})
    assert answer.status_code == 400 and "Enter a user name and a password" in answer.text
    assert client.get("/no/such/page").status_code == 404


def test_login_redirect_stays_on_the_site(office: Office):
    client = client_for(office)
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf": token,
                                         "next": "//evil.example/"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_a_college_pasted_with_spaces_around_it_is_the_college(office: Office):
    # A name copied from a spreadsheet cell (" 外语学院\u3000") was "No college or class 外语学院 / *"
    # (404), the spaces invisible in the line: the form is read by the shared name rule.
    client = client_for(office, "admin")
    answer = client.post("/exports/chsi", data={"csrf": csrf_of(client), "college": " 外语学院\u3000"})
    assert answer.status_code == 200, answer.text
    (package,) = (office.config.data_dir / "exports").iterdir()
    assert len((package / "manifest.csv").read_text(encoding="utf-8-sig").splitlines()) == 1 + 4


def test_the_chsi_export_from_the_dashboard_is_audited(office: Office):
    client = client_for(office, "admin")
    answer = client.post("/exports/chsi", data={"csrf": csrf_of(client), "college": "外语学院"})
    assert answer.status_code == 200 and "4" in answer.text
    folders = list((office.config.data_dir / "exports").iterdir())
    assert len(folders) == 1 and (folders[0] / "manifest.csv").is_file()
    audit = client.get("/audit").text
    assert "export_chsi" in audit and "login" in audit


def test_assets_are_served_from_the_package(office: Office):
    client = client_for(office, "admin")
    page = client.get("/").text
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(src).status_code == 200, src
    assert "http://" not in page and "https://" not in page
