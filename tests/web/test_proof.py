"""Proof sheets (issue 12, Photos): the class page of thumbnails, the photo files behind it, and the
printable PDF, all in the user's view."""

from __future__ import annotations

import re

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
    rows = proof_rows(office.store, User("v", "viewer"), "外语学院", "英语2301")  # what the PDF prints
    entries = {e.student_no: e for e in office.roster}
    assert [(r.name, r.id_number) for r in rows] == [
        (mask_name(entries[r.student_no].name), mask_id(entries[r.student_no].id_number)) for r in rows]
    page = client_for(office, "viewer").get(klass("外语学院", "英语2301") + "/proof").text
    assert not [e for e in office.roster if e.id_number in page or e.name in page]


def test_a_secretary_gets_neither_the_sheet_nor_the_photos_of_another_college(office: Office):
    other = office.store.photos(college="信息学院")[0]
    client = client_for(office, "sec")
    assert client.get(klass("信息学院", "计科2301") + "/proof").status_code == 403
    assert client.get(klass("信息学院", "计科2301") + "/proof.pdf").status_code == 403
    answer = client.get(f"/photos/{other.photo_id}.jpg")
    assert answer.status_code == 404 and answer.json() == {"error": "没有这张照片 / No such photo"}
    own = office.store.photos(college="外语学院")[0]
    assert client.get(f"/photos/{own.photo_id}.jpg").status_code == 200
    assert client.get("/photos/not-a-photo.jpg").status_code == 404
