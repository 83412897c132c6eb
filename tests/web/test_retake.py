"""Flagging a photo for a retake (issue 12, Photos): the student is back on the missing list, the
photo leaves the registry export, the change is audited, and the photo page shows its checks."""

from __future__ import annotations

import csv
import io

from boothcore.privacy import mask_id
from central.export import export_chsi
from central.export_csv import from_excel_text
from central.photos import PhotoArchive
from tests.web.client import client_for, csrf_of, klass
from tests.web.conftest import Office, photograph


def test_an_admin_flags_a_photo_and_the_student_is_missing_again(office: Office):
    record = office.store.photos(college="外语学院", class_name="英语2301")[0]
    admin = client_for(office, "admin")
    answer = admin.post(f"/photos/{record.photo_id}/flag",
                        data={"csrf": csrf_of(admin), "reason": " 闭眼  eyes closed "})
    assert answer.history[0].status_code == 303  # POST-redirect-GET
    assert answer.status_code == 200 and "the student is on the missing list again" in answer.text
    assert "The booths were not told" in answer.text  # no broker in this test: the flag stands, it says so
    assert "闭眼 eyes closed" in answer.text and 'id="tell-booths"' in answer.text
    missing = admin.get(klass("外语学院", "英语2301") + "/missing.csv").content.decode("utf-8-sig")
    assert record.id_number in {from_excel_text(row["id_number"]) for row in csv.DictReader(io.StringIO(missing))}
    progress = {r["class"]: r for r in admin.get("/api/progress.json").json()}["英语2301"]
    assert (progress["photographed"], progress["missing"]) == (3, 3)
    audit = admin.get("/audit").text
    assert "retake_flag" in audit and mask_id(record.id_number) in audit and "闭眼 eyes closed" in audit
    class_page = admin.get(klass("外语学院", "英语2301")).text
    assert f'<a href="/photos/{record.photo_id}" class="flagged">' in class_page and "闭眼 eyes closed" in class_page
    report = export_chsi(office.store, office.config.data_dir, office.config.data_dir / "pkg", college="外语学院")
    assert report.written == 3 and report.missing == 3  # the flagged photo is not sent to the registry
    again = admin.post(f"/photos/{record.photo_id}/flag", data={"csrf": csrf_of(admin), "reason": "twice"})
    assert again.status_code == 400 and "This photo is no longer the person" in again.text
    # The retake arrives: the student has a current photo again.
    entry = next(e for e in office.roster if e.id_number == record.id_number)
    newer = photograph(office.store, PhotoArchive(office.config.data_dir), entry, seed=999)
    assert office.store.current_photo(record.id_number).photo_id == newer.photo_id
    assert record.id_number not in admin.get(klass("外语学院", "英语2301") + "/missing.csv").text
    page = admin.get(f"/photos/{record.photo_id}").text
    assert "flagged for a retake" in page and 'id="flag"' not in page
    assert 'class="flagged"' not in admin.get(klass("外语学院", "英语2301")).text  # photographed again


def test_bad_flags_are_a_clear_4xx(office: Office):
    record = office.store.photos(college="外语学院")[0]
    admin = client_for(office, "admin")
    answer = admin.post(f"/photos/{record.photo_id}/flag", data={"csrf": csrf_of(admin), "reason": "  "})
    assert answer.status_code == 400 and "Give the reason for the retake" in answer.text
    answer = admin.post(f"/photos/{record.photo_id}/flag", data={"csrf": csrf_of(admin), "reason": "x" * 201})
    assert answer.status_code == 400 and "longer than 200 characters" in answer.text
    answer = admin.post("/photos/0123456789abcdef0123456789abcdef/flag", data={"csrf": csrf_of(admin), "reason": "x"})
    assert answer.status_code == 404 and "No such photo" in answer.text
    assert admin.post(f"/photos/{record.photo_id}/flag", data={"csrf": "forged", "reason": "x"}).status_code == 403
    answer = admin.post(f"/photos/{record.photo_id}/allow-retake", data={"csrf": csrf_of(admin)})
    assert answer.status_code == 409 and "not flagged" in answer.text
    viewer = client_for(office, "viewer")
    answer = viewer.post(f"/photos/{record.photo_id}/flag", data={"csrf": csrf_of(viewer), "reason": "x"})
    assert answer.status_code == 403 and office.store.photo(record.photo_id).is_current
    assert 'id="flag"' not in viewer.get(f"/photos/{record.photo_id}").text


def test_the_photo_page_shows_centrals_checks_in_the_users_view(office: Office):
    record = office.store.photos(college="信息学院")[0]
    admin = client_for(office, "admin")
    view = admin.get(f"/api/photos/{record.photo_id}.json").json()
    assert view["id_number"] == record.id_number and view["booth_checks"] is None
    assert [(c["check"], c["ok"]) for c in view["checks"]] == [
        ("sha256", True), ("size 20,480-40,000 bytes", True), ("baseline JPEG", True), ("480x640", True),
        ("300 dpi", True)]
    (office.config.data_dir / "photos" / record.path).write_bytes(b"not a photo")  # damaged on disk
    checks = {c["check"]: c for c in admin.get(f"/api/photos/{record.photo_id}.json").json()["checks"]}
    assert not checks["sha256"]["ok"] and checks["readable image"]["detail"] == "not a readable image"
    proof = admin.get(klass("信息学院", record.class_name) + "/proof").text
    assert f'<a href="/photos/{record.photo_id}">' in proof
    assert client_for(office, "viewer").get(f"/api/photos/{record.photo_id}.json").json()["id_number"] == mask_id(
        record.id_number)
    secretary = client_for(office, "sec")
    assert secretary.get(f"/photos/{record.photo_id}").status_code == 404
    assert secretary.get(f"/api/photos/{record.photo_id}.json").status_code == 404


def test_the_flag_command_flags_as_the_dashboard_does(office: Office, tmp_path, capsys):
    """booth-central flag ID --reason R --by NAME: the same flag (audit, missing again, the command to
    the booths: no broker here, so it says they were not told and exits 1); an unknown student, a
    malformed number and a student without a current photo are one line each, exit 2."""
    import datetime as dt

    from boothcore.idnumber import make_id_number
    from central.cli import main
    from central.local_broker import free_port

    config = tmp_path / "central.toml"
    config.write_text(f'[broker]\nurl = "mqtt://127.0.0.1:{free_port()}"\n'  # nobody listens there
                      f'[storage]\ndata_dir = "{office.config.data_dir}"\n'
                      f'db_url = "{office.config.storage.db_url}"\n[ingest]\nknown_booths = ["booth-01"]\n',
                      encoding="utf-8")
    record = office.store.photos(college="外语学院", class_name="英语2301")[0]
    number = record.id_number
    flag = ["flag", number.lower(), "--reason", "闭眼 eyes closed", "--by", "王老师", "--config", str(config)]
    assert main(flag) == 1
    out, err = capsys.readouterr()
    assert f"flagged photo {record.photo_id} of {mask_id(number)}" in out and "the booths were not told" in err
    assert number not in out + err
    assert number in {e.id_number for e in office.store.missing("外语学院", "英语2301")}
    stored = office.store.retake_flag(record.photo_id)
    assert stored is not None and (stored.reason, stored.actor) == ("闭眼 eyes closed", "王老师")
    audit = client_for(office, "admin").get("/audit").text
    assert "retake_flag" in audit and "王老师" in audit
    stranger = make_id_number("110105", dt.date(1990, 1, 1), 1)
    assert main(["flag", stranger, "--reason", "x", "--config", str(config)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"booth-central flag: {mask_id(stranger)} is not on the roster: check the number (booth-central roster "
        "import first)"]
    assert main(["flag", number, "--reason", "again", "--config", str(config)]) == 2
    assert "has no current photo to flag" in capsys.readouterr().err
    assert main(["flag", "12345", "--reason", "x", "--config", str(config)]) == 2
    assert capsys.readouterr().err.startswith("booth-central flag: ID number ")
