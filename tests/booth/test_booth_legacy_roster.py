"""A roster row an older version imported, which today's name rule refuses (issue 9 item 3).

The booth refuses that person before any photo (so it never says "saved" for a photo the upload
would refuse), and a start with such a row and a photo already saved under it does not die: the
row and the photo are reported, the other photos are queued.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from appliance.app import build_service
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.eligibility import MESSAGES, Reason
from appliance.flow.events import CardPresented
from appliance.flow.states import State
from appliance.ledger import Ledger, Verdict
from appliance.simulation.roster_gen import card_for, generate_roster
from appliance.ui.headless_display import HeadlessDisplay
from appliance.uplink.outbox import Outbox
from boothcore import db
from boothcore.roster import Roster
from tests.booth.conftest import YEAR
from tests.booth.test_booth_flow import Rig

BAD_CLASS = "计算机/1班"


def _store_legacy_row(conn, entry) -> None:
    """What ``booth roster import`` wrote before the name rule: a class with '/'."""
    conn.execute("UPDATE roster SET class_name = ? WHERE id_number = ?", (BAD_CLASS, entry.id_number))


def test_a_legacy_bad_row_is_refused_before_any_photo(config, conn, roster, ledger, sim_camera, checker,
                                                      photo_output, students):
    _store_legacy_row(conn, students[1])
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    ledger_before = ledger.conn.execute("SELECT count(*) FROM captures").fetchone()[0]
    assert rig.open_class(students[0]) is State.IDLE
    assert rig.send(CardPresented(card_for(students[1]))) is State.REFUSED
    assert rig.display.last_view.lines[0] == MESSAGES[Reason.ROSTER_ENTRY_INVALID]
    assert ledger.conn.execute("SELECT count(*) FROM captures").fetchone()[0] == ledger_before
    assert rig.photograph(students[0]) is not None  # everyone else goes on


def test_a_start_with_a_legacy_bad_row_and_its_saved_photo_does_not_die(tmp_path, caplog):
    students = generate_roster(3, graduation_year=YEAR)
    config_overrides = {"booth": {"data_dir": str(tmp_path / "data"), "graduation_year": YEAR},
                        "hours": {"enforce": False}, "hardware": {"screen": "headless"},
                        "uplink": {"broker_url": ""}}
    config = load_config(None, config_overrides)
    conn = db.connect(config.data_dir / "booth.db")
    Roster(conn).upsert(students)
    ledger = Ledger(conn, config.booth.id)
    session = ledger.open_session("class", students[0].college, students[0].class_name, 20.0)
    photo_ids = [uuid.uuid4().hex for _ in students[:2]]
    for number, entry in enumerate(students[:2]):
        folder = config.data_dir / "photos" / photo_ids[number]  # where the booth saves it
        folder.mkdir(parents=True)
        path = folder / f"{entry.id_number}.jpg"
        path.write_bytes(b"\xff\xd8\xff" + bytes([number]) * 100 + b"\xff\xd9")
        ledger.record_capture(photo_id=photo_ids[number], session_id=session.id, id_number=entry.id_number,
                              attempt=1, verdict=Verdict.ACCEPTED, path=str(path),
                              sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    _store_legacy_row(conn, students[1])
    conn.close()

    service = build_service(config, display=HeadlessDisplay(), reader=SimulatedCardReader())
    with caplog.at_level(logging.ERROR):
        service.run(until=lambda: True)  # start, queue what the outbox lacks, stop
    outbox = Outbox(config.data_dir / "booth.db", config.booth.id)
    assert outbox.has_photo(photo_ids[0]) and not outbox.has_photo(photo_ids[1])
    masked = students[1].id_number[:6] + "*" * 8 + students[1].id_number[-4:]
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert any(masked in line and "bad class: contains '/'" in line and "re-import" in line for line in errors)
    assert any(f"photo {photo_ids[1]}" in line and "kept but not queued" in line for line in errors), errors
    assert not any(students[1].id_number in line for line in errors)
