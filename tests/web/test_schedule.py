"""The schedule (issue 12): CSV import with line numbers, each class due, in progress, late, done or
upcoming against it, on the page, in JSON, on the progress page, and ``booth-central schedule import``."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from central.photos import PhotoArchive
from central.progress import class_rows
from central.schedule import DONE, DUE, IN_PROGRESS, LATE, UNSCHEDULED, UPCOMING, ScheduleImportError, parse_upload
from central.store import BoothStatus
from tests.web.client import client_for, csrf_of
from tests.web.conftest import Office, photograph

ZONE = ZoneInfo("Asia/Shanghai")
HEADER = "college,class,booth,date,start,end\n"
CLASSES = {("信息学院", "计科2301"), ("信息学院", "计科2302"), ("外语学院", "英语2301")}


def test_a_good_file_with_a_bom_is_read_in_the_offices_time_zone():
    raw = ("\ufeff" + HEADER + "信息学院,计科2301,booth-01,2027-05-20,8:30,09:10\n\n").encode("utf-8")
    (slot,) = parse_upload(raw, CLASSES, ZONE, "s.csv")
    assert (slot.start_time, slot.end_time) == ("08:30", "09:10")
    assert (slot.starts_at, slot.ends_at) == ("2027-05-20T00:30:00.000000Z", "2027-05-20T01:10:00.000000Z")


def test_dates_and_times_as_excel_and_a_chinese_input_method_write_them_are_read():
    # A schedule kept in Excel (zh-CN) is saved with its date cells as 2027/5/20 and its time cells as
    # 8:30 or 8:30:00; typed with a Chinese input method the colon is full-width. All were "bad date"
    # or "bad start" lines.
    raw = (HEADER + "信息学院,计科2301,booth-01,2027/5/20,8:30:00,9:10:00\n"
           "信息学院,计科2302,booth-01,２０２７-０５-２０,10：00,10：40\n").encode("gb18030")
    first, second = parse_upload(raw, CLASSES, ZONE, "s.csv")
    assert (first.slot_date, first.start_time, first.end_time) == ("2027-05-20", "08:30", "09:10")
    assert (first.starts_at, first.ends_at) == ("2027-05-20T00:30:00.000000Z", "2027-05-20T01:10:00.000000Z")
    assert (second.slot_date, second.start_time, second.end_time) == ("2027-05-20", "10:00", "10:40")
    with pytest.raises(ScheduleImportError) as caught:  # still a date, and whole minutes
        parse_upload((HEADER + "信息学院,计科2301,booth-01,2027/2/30,8:30:15,9:10\n").encode("utf-8"), CLASSES, ZONE,
                     "s.csv")
    assert "bad date '2027/2/30'" in caught.value.report() and "bad start '8:30:15'" in caught.value.report()


def test_every_bad_line_is_named_and_nothing_is_imported():
    text = HEADER + "\n".join([
        "信息学院,计科2301,booth-01,2027-05-20,08:30,09:10",  # line 2: good
        "信息学院,无此班,booth-01,2027-05-20,10:00,10:30",  # 3: not on the roster
        "信息学院,计科2302,Booth 1,2027-05-20,10:00,10:30",  # 4: bad booth id
        "信息学院,计科2302,booth-02,2027-02-30,10:00,10:30",  # 5: no such date
        "信息学院,计科2302,booth-02,2027-05-20,25:00,10:30",  # 6: bad start
        "信息学院,计科2302,booth-02,2027-05-20,11:00,10:30",  # 7: end before start
        "外语学院,英语2301,booth-01,2027-05-20,09:00,09:40",  # 8: overlaps line 2 on booth-01
        "外语学院,英语2301,booth-03,2027-05-20",  # 9: fields missing
    ]) + "\n"
    with pytest.raises(ScheduleImportError) as caught:
        parse_upload(text.encode("utf-8"), CLASSES, ZONE, "s.csv")
    report = caught.value.report()
    assert report.splitlines()[0] == "s.csv: nothing imported; 7 problem(s):"
    for expected in ("line 3: class 信息学院 / 无此班 is not on the roster", "line 4: bad booth 'Booth 1'",
                     "line 5: bad date '2027-02-30'", "line 6: bad start '25:00'",
                     "line 7: end 10:30 is before start 11:00",
                     "line 8: booth booth-01 is taken 2027-05-20 08:30-09:10 by 信息学院 / 计科2301 (line 2): "
                     "give this slot another time or booth\n",
                     "line 9: missing field(s): start, end"):
        assert expected in report, expected
    with pytest.raises(ScheduleImportError) as caught:
        parse_upload(b"college,class\n", CLASSES, ZONE, "s.csv")
    assert caught.value.report() == ("s.csv: nothing imported: header lacks column(s): booth, date, start, end "
                                     "(expected college, class, booth, date, start, end)")


def test_a_slot_across_midnight_is_refused_with_the_two_lines_to_write_instead():
    """22:00-01:00 is refused by line (module docstring: why); the two lines the message names, the
    first ending at 24:00, are accepted and follow each other on the booth without a gap."""
    overnight = HEADER + "信息学院,计科2301,booth-01,2027-05-20,22:00,01:00\n"
    with pytest.raises(ScheduleImportError) as caught:
        parse_upload(overnight.encode("utf-8"), CLASSES, ZONE, "s.csv")
    assert caught.value.report().splitlines()[1] == (
        "  line 2: end 01:00 is before start 22:00: a slot cannot cross midnight (a booth opens a class only within "
        "one day's hours); if the session really runs overnight, write two lines, 2027-05-20 22:00-24:00 and "
        "2027-05-21 00:00-01:00; otherwise fix the time (24-hour clock: 13:00 for 1 pm)")
    split = (HEADER + "信息学院,计科2301,booth-01,2027-05-20,22:00,24:00\n"
             "信息学院,计科2301,booth-01,2027-05-21,00:00,01:00\n")
    late, early = parse_upload(split.encode("utf-8"), CLASSES, ZONE, "s.csv")
    assert (late.end_time, late.ends_at) == ("24:00", "2027-05-20T16:00:00.000000Z")  # 00:00 on the 21st, UTC+8
    assert early.starts_at == late.ends_at
    for start, end, bad in (("24:00", "24:00", "bad start '24:00'"), ("08:00", "24:30", "bad end '24:30'")):
        with pytest.raises(ScheduleImportError) as caught:
            parse_upload((HEADER + f"信息学院,计科2301,booth-01,2027-05-20,{start},{end}\n").encode(), CLASSES, ZONE,
                         "s")
        assert f"line 2: {bad}" in caught.value.report()


def test_the_standing_of_each_class(office: Office):
    store = office.store
    now = dt.datetime(2027, 5, 20, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    text = HEADER + ("信息学院,计科2301,booth-01,2027-05-20,09:30,10:30\n"  # now inside: due
                     "信息学院,计科2302,booth-02,2027-05-20,08:00,09:00\n"  # over, students missing: late
                     "外语学院,英语2301,booth-03,2027-05-21,08:00,09:00\n")  # tomorrow: upcoming
    assert store.import_schedule(parse_upload(text.encode(), CLASSES, ZONE, "s.csv")) == 3
    standing = {(r.college, r.class_name): r.standing for r in class_rows(store, now)}
    assert standing == {("信息学院", "计科2301"): DUE, ("信息学院", "计科2302"): LATE,
                        ("外语学院", "英语2301"): UPCOMING}
    store.record_status(BoothStatus(booth="booth-01", boot=1, online=True, state="ready", ts="2027-05-20T02:00:00Z",
                                    session={"id": "s-9", "kind": "class", "college": "信息学院", "class": "计科2301"},
                                    queue_depth=0, disk_free_mb=1000.0, version="1"))
    rows = {(r.college, r.class_name): r for r in class_rows(store, now)}
    assert rows[("信息学院", "计科2301")].standing == IN_PROGRESS
    assert rows[("信息学院", "计科2301")].slot == "2027-05-20 09:30-10:30 booth-01"
    archive = PhotoArchive(office.config.data_dir)
    for entry in office.of("外语学院", "英语2301"):
        if entry.id_number not in office.photographed:
            photograph(store, archive, entry)
    assert {r.class_name: r.standing for r in class_rows(store, now)}["英语2301"] == DONE
    store.import_schedule(parse_upload((HEADER + "信息学院,计科2301,booth-01,2027-05-20,09:30,10:30\n").encode(),
                                       CLASSES, ZONE, "s.csv"))  # replaces 信息学院's slots only
    assert {s.class_name for s in store.schedule()} == {"计科2301", "英语2301"}
    store.conn.execute("DELETE FROM schedule_slots")
    assert {r.standing for r in class_rows(store, now) if r.college == "信息学院"} == {IN_PROGRESS, UNSCHEDULED}


def test_import_on_the_dashboard_is_audited_and_errors_are_a_400(office: Office):
    admin = client_for(office, "admin")
    good = (HEADER + "外语学院,英语2301,booth-03,2027-05-21,08:00,09:00\n").encode("utf-8-sig")
    answer = admin.post("/schedule", data={"csrf": csrf_of(admin)}, files={"file": ("slots.csv", good, "text/csv")})
    assert answer.status_code == 200 and "Imported 1 slot of 外语学院 from slots.csv" in answer.text
    assert 'data-class="外语学院/英语2301" data-standing="upcoming"' in answer.text
    assert admin.get("/api/schedule.json").json()[0]["start"] == "08:00"
    assert "schedule_import" in admin.get("/audit").text
    bad = (HEADER + "外语学院,英语2301,booth-03,2027-05-21,09:00,08:00\n").encode()
    answer = admin.post("/schedule", data={"csrf": csrf_of(admin)}, files={"file": ("bad.csv", bad, "text/csv")})
    assert answer.status_code == 400 and "line 2: end 08:00 is before start 09:00: a slot cannot" in answer.text
    assert "Traceback" not in answer.text and len(office.store.schedule()) == 1
    answer = admin.post("/schedule", data={"csrf": csrf_of(admin)}, files={"file": ("x.csv", b"\xff\xfe\x00", "a")})
    assert answer.status_code == 400 and "nothing imported" in answer.text
    assert admin.post("/schedule", data={"csrf": csrf_of(admin)}).status_code == 400  # no file
    forged = admin.post("/schedule", data={"csrf": "forged"}, files={"file": ("s.csv", good, "text/csv")})
    assert forged.status_code == 403
    viewer = client_for(office, "viewer")
    answer = viewer.post("/schedule", data={"csrf": csrf_of(viewer)}, files={"file": ("s.csv", good, "text/csv")})
    assert answer.status_code == 403


def test_a_secretary_imports_only_their_colleges_slots(office: Office):
    secretary = client_for(office, "sec")
    own = (HEADER + "外语学院,英语2301,booth-03,2027-05-21,08:00,09:00\n").encode()
    answer = secretary.post("/schedule", data={"csrf": csrf_of(secretary)}, files={"file": ("s.csv", own, "text/csv")})
    assert answer.status_code == 200 and "Imported 1 slot of 外语学院" in answer.text
    other = own + "信息学院,计科2301,booth-01,2027-05-20,09:30,10:30\n".encode()
    answer = secretary.post("/schedule", data={"csrf": csrf_of(secretary)}, files={"file": ("s.csv", other, "a")})
    assert answer.status_code == 400 and "line 3: college 信息学院: a secretary of 外语学院 imports only" in answer.text
    assert [s.college for s in office.store.schedule()] == ["外语学院"]


def test_a_secretary_sees_only_their_colleges_slots(office: Office):
    text = HEADER + ("信息学院,计科2301,booth-01,2027-05-20,09:30,10:30\n"
                     "外语学院,英语2301,booth-03,2027-05-21,08:00,09:00\n")
    office.store.import_schedule(parse_upload(text.encode(), CLASSES, ZONE, "s.csv"))
    secretary = client_for(office, "sec")
    assert [row["college"] for row in secretary.get("/api/schedule.json").json()] == ["外语学院"]
    assert "信息学院" not in secretary.get("/schedule").text


def test_the_command_line_imports_a_schedule(office: Office, tmp_path: Path):
    config = tmp_path / "central.toml"
    config.write_text(f'[storage]\ndata_dir = "{office.config.data_dir}"\n'
                      f'db_url = "{office.config.storage.db_url}"\n', encoding="utf-8")
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(HEADER + "外语学院,英语2301,booth-03,2027-05-21,08:00,09:00\n", encoding="utf-8-sig")
    bad.write_text(HEADER + "外语学院,英语2301,booth-03,2027-05-21,08:00\n", encoding="utf-8")
    run = [sys.executable, "-m", "central.cli", "schedule", "import"]
    done = subprocess.run([*run, str(good), "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "imported 1 schedule slot of 外语学院" in done.stdout, done.stderr
    done = subprocess.run([*run, str(bad), "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "line 2: missing field(s): end" in done.stderr and "Traceback" not in done.stderr
    assert len(office.store.schedule()) == 1
