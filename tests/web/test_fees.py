"""Fees (issue 12): each closed class session's count x price from the booth, the monitor's
payment if confirmed, totals per college; a secretary sees only their college."""

from __future__ import annotations

import csv
import io
import uuid

from central.export_csv import from_excel_text
from central.photos import PhotoArchive
from central.store import EventRecord
from tests.web.client import client_for
from tests.web.conftest import Office, photograph


def closed(office: Office, college: str, class_name: str, session: str, count: int, fee: float,
           paid: float | None) -> None:
    office.store.record_event(EventRecord(event_id=uuid.uuid4().hex, booth="booth-01", ts="2026-11-30T10:00:00Z",
                                          kind="class_closed", data={"session_id": session, "college": college,
                                                                     "class": class_name, "count": count,
                                                                     "fee_cny": fee, "missing": 2}))
    if paid is not None:
        office.store.record_event(EventRecord(event_id=uuid.uuid4().hex, booth="booth-02",
                                              ts="2026-11-30T10:05:00Z", kind="payment_confirmed",
                                              data={"session_id": session, "amount_cny": paid}))


def test_fees_per_session_and_totals_per_college(office: Office):
    closed(office, "信息学院", "计科2301", "s-a", 4, 60.0, 60.0)
    closed(office, "信息学院", "计科2302", "s-b", 4, 60.0, None)
    closed(office, "外语学院", "英语2301", "s-c", 4, 60.0, 60.0)
    admin = client_for(office, "admin")
    page = admin.get("/fees").text
    assert '<tr data-college="信息学院"><td>信息学院</td><td>2</td><td>8</td>\n<td>120.00</td><td>60.00</td>' in page
    assert "未确认" in page and "booth-02" in page
    rows = list(csv.DictReader(io.StringIO(admin.get("/exports/fees.csv").content.decode("utf-8-sig"))))
    assert [(r["class"], r["paid"], r["paid_booth"]) for r in rows] == [
        ("计科2301", "yes", "booth-02"), ("计科2302", "no", ""), ("英语2301", "yes", "booth-02")]
    # The amounts as the page shows them (boothcore.money.cny), not Python's 60.0.
    assert [(r["fee_cny"], r["amount_cny"]) for r in rows] == [("60.00", "60.00"), ("60.00", ""), ("60.00", "60.00")]
    secretary = client_for(office, "sec").get("/fees").text
    assert "外语学院" in secretary and "信息学院" not in secretary


def test_a_class_with_nothing_to_pay_is_not_unpaid(office: Office):
    """A class closed with nobody photographed (fee 0: the booth asks no payment) read paid "no" and
    "not confirmed", as if its monitor owed the office."""
    closed(office, "信息学院", "计科2303", "s-z", 0, 0.0, None)
    admin = client_for(office, "admin")
    (row,) = csv.DictReader(io.StringIO(admin.get("/exports/fees.csv").content.decode("utf-8-sig")))
    assert (row["class"], row["fee_cny"], row["paid"]) == ("计科2303", "0.00", "none due")
    page = admin.get("/fees").text
    assert "nothing to pay" in page and "not confirmed" not in page


def test_make_up_payments_per_person(office: Office):
    """A make-up session: each person's payment follows their photo; one person did not pay."""
    store, archive = office.store, PhotoArchive(office.config.data_dir)
    store.record_event(EventRecord(uuid.uuid4().hex, "booth-05", "2027-05-01T01:00:00Z", "class_opened",
                                   {"session_id": "mk-1", "college": "", "class": ""}))
    people = [e for e in office.roster if e.id_number not in office.photographed][:3]
    for minute, entry in enumerate(people):
        record = photograph(store, archive, entry, booth="booth-05")
        store.conn.execute("UPDATE photos SET session_id = 'mk-1', captured_at = ? WHERE photo_id = ?",
                           (f"2027-05-01T01:0{minute + 1}:00.000000Z", record.photo_id))
        if minute != 1:  # the second person left without paying
            store.record_event(EventRecord(uuid.uuid4().hex, "booth-05", f"2027-05-01T01:0{minute + 1}:30Z",
                                           "payment_confirmed", {"session_id": "mk-1", "amount_cny": 15.0}))
    admin = client_for(office, "admin")
    rows = list(csv.DictReader(io.StringIO(admin.get("/exports/makeup-payments.csv").content.decode("utf-8-sig"))))
    assert [(from_excel_text(r["id_number"]), r["paid"], r["amount_cny"]) for r in rows] == [
        (people[0].id_number, "yes", "15.00"), (people[1].id_number, "no", ""), (people[2].id_number, "yes", "15.00")]
    page = admin.get("/fees").text
    assert page.count('<tr class="paid">') == 2 and page.count('<tr class="unpaid">') == 1
    colleges = [p.college for p in people]
    for college in set(colleges):  # each person counts for their own college
        paid = [p for index, p in enumerate(people) if index != 1 and p.college == college]
        row = page[page.index(f'<tr data-college="{college}">'):]
        assert f'<td class="makeup-people">{colleges.count(college)}</td>' in row.split("</tr>")[0]
        assert f'<td class="makeup-paid">{len(paid)} · {15 * len(paid):.2f}</td>' in row.split("</tr>")[0]
    secretary = client_for(office, "sec").get("/exports/makeup-payments.csv").content.decode("utf-8-sig")
    seen = {r["college"] for r in csv.DictReader(io.StringIO(secretary))}
    assert seen <= {"外语学院"} and people[0].id_number not in secretary


def test_a_make_up_sessions_close_is_not_a_class_fee(office: Office):
    """A make-up session's class_closed names no college (an older booth sent count x price as its fee):
    its people paid one by one (the make-up list), so it is no row of the class fees nor of a total."""
    closed(office, "信息学院", "计科2301", "s-a", 4, 60.0, 60.0)
    closed(office, "", "", "mk-1", 3, 45.0, None)
    admin = client_for(office, "admin")
    rows = list(csv.DictReader(io.StringIO(admin.get("/exports/fees.csv").content.decode("utf-8-sig"))))
    assert [r["session_id"] for r in rows] == ["s-a"]
    page = admin.get("/fees").text
    assert '<tr data-college="">' not in page and "45.00" not in page
