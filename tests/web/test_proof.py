"""Proof sheets (issue 12, Photos): the class page of thumbnails, the photo files behind it, and the
printable PDF, all in the user's view."""

from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

import pytest

from boothcore.privacy import mask_id, mask_name
from central.users import User
from central.web.proof import proof_rows
from tests.web.client import client_for, klass
from tests.web.conftest import Office


def test_the_proof_sheet_shows_each_photographed_student(office: Office):
    client = client_for(office, "admin")
    page = client.get(klass("外语学院", "英语2301") + "/proof").text
    photographed = [e for e in office.of("外语学院", "英语2301") if e.id_number in office.photographed]
    ids = re.findall(r'<img src="(/photos/[0-9a-f]{32}\.jpg)"', page)
    assert len(ids) == len(photographed) == 4
    assert all(e.name in page and e.id_number in page for e in photographed)
    stored = {p.photo_id: p for p in office.store.photos(college="外语学院", class_name="英语2301")}
    for src in ids:
        answer = client.get(src)
        record = stored[src.removeprefix("/photos/").removesuffix(".jpg")]
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
        assert answer.content == (office.config.data_dir / "photos" / record.path).read_bytes()


def test_the_pdf_has_every_photo_and_masked_rows_for_a_viewer(office: Office):
    answer = client_for(office, "viewer").get(klass("外语学院", "英语2301") + "/proof.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-") and answer.content.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Subtype\s*/Image", answer.content)) == 4
    rows = proof_rows(office.store, User("v", "viewer"), "外语学院", "英语2301",  # what the PDF prints
                      office.config.web.zone)
    entries = {e.student_no: e for e in office.roster}
    assert [(r.name, r.id_number) for r in rows] == [
        (mask_name(entries[r.student_no].name), mask_id(entries[r.student_no].id_number)) for r in rows]
    page = client_for(office, "viewer").get(klass("外语学院", "英语2301") + "/proof").text
    assert not [e for e in office.roster if e.id_number in page or e.name in page]


def test_printing_a_pdf_adds_no_line_to_the_office_log(office: Office, caplog: pytest.LogCaptureFixture):
    # fpdf2's font subsetting (fontTools) wrote some 60 INFO lines per PDF into the office's log.
    caplog.set_level(logging.INFO)
    assert client_for(office, "viewer").get(klass("外语学院", "英语2301") + "/proof.pdf").status_code == 200
    assert [record.name for record in caplog.records if record.name.startswith("fontTools")] == []


def test_a_secretary_gets_neither_the_sheet_nor_the_photos_of_another_college(office: Office):
    other = office.store.photos(college="信息学院")[0]
    client = client_for(office, "sec")
    assert client.get(klass("信息学院", "计科2301") + "/proof").status_code == 403
    assert client.get(klass("信息学院", "计科2301") + "/proof.pdf").status_code == 403
    answer = client.get(f"/photos/{other.photo_id}.jpg", headers={"Accept": "application/json"})
    assert answer.status_code == 404 and answer.json() == {"error": "没有这张照片 / No such photo"}
    own = office.store.photos(college="外语学院")[0]
    assert client.get(f"/photos/{own.photo_id}.jpg").status_code == 200
    assert client.get("/photos/not-a-photo.jpg").status_code == 404


def test_the_booths_check_values_show_beside_centrals_re_check(office: Office):
    """photo_init's booth_checks (what the booth measured at capture) on the photo page, its JSON and
    the proof sheet, next to central's re-check of the file; a photo from a booth build that sent
    none says so. Names and ID numbers stay masked for a viewer."""
    from boothcore import protocol as p
    from central.photos import PhotoArchive
    from tests.web.conftest import photograph

    checks = p.BoothChecks(checks={
        "head_pose": p.BoothCheck(passed=True, value={"yaw": 0.8, "pitch": 1.0}, limit={"yaw": 12.0, "pitch": 10.0}),
        "ears_visible": p.BoothCheck(passed=False, value=0.87, limit=0.7)}).model_dump(mode="json")
    entry = next(e for e in office.of("外语学院", "英语2301") if e.id_number in office.photographed)
    record = photograph(office.store, PhotoArchive(office.config.data_dir), entry, seed=77, booth_checks=checks)
    viewer = client_for(office, "viewer")
    page = viewer.get(f"/photos/{record.photo_id}").text
    booth_part = page.split('id="booth-checks"')[1]
    assert 'id="central-checks"' in page and "480x640" in page.split('id="booth-checks"')[0]
    assert "yaw 0.8 · pitch 1" in booth_part and "yaw 12 · pitch 10" in booth_part
    assert "0.87" in booth_part and "kept by the operator" in booth_part
    assert entry.id_number not in page and mask_id(entry.id_number) in page
    data = viewer.get(f"/api/photos/{record.photo_id}.json").json()
    assert data["booth_checks"][0] == {"check": "head_pose", "passed": True, "value": "yaw 0.8 · pitch 1",
                                       "limit": "yaw 12 · pitch 10"}
    other = next(p for p in office.store.photos(college="外语学院", class_name="英语2301")
                 if p.photo_id != record.photo_id)
    assert "does not send its check values" in viewer.get(f"/photos/{other.photo_id}").text
    sheet = viewer.get(klass("外语学院", "英语2301") + "/proof").text
    assert sheet.split(f'id="photo-{record.photo_id}"')[1].split("</figure>")[0].count("booth checks</span> 1/2") == 1
    assert "booth checks: not sent" in sheet.split(f'id="photo-{other.photo_id}"')[1].split("</figure>")[0]


def test_the_proof_sheet_shows_capture_times_in_the_offices_time_zone(office: Office):
    # The fixture's photos were taken at 09:00 Beijing time (stored as 01:00 UTC).
    rows = proof_rows(office.store, User("v", "viewer"), "外语学院", "英语2301", ZoneInfo("Asia/Shanghai"))
    assert rows and {r.captured_at for r in rows} == {"2026-11-30 09:00:00"}
    page = client_for(office, "viewer").get(klass("外语学院", "英语2301") + "/proof").text
    assert "2026-11-30 09:00:00" in page and "2026-11-30 01:00:00" not in page
