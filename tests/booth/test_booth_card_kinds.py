"""Every card kind the readers support, through roster import, the flow, the ledger, the file name,
the upload and central; and the field's roster files (foreigner's card, full-width digits, Excel).

Field inputs are read from ``../shared/cases/field/`` (relative to the repo root); a test using one
is skipped, saying so, when the folder is absent.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from appliance.cardreader.base import IdentityCard
from appliance.cli import main as booth_main
from appliance.eligibility import MESSAGES, Reason
from appliance.flow.events import CardPresented
from appliance.flow.states import State
from appliance.simulation.roster_gen import card_for, roster_csv
from appliance.uplink.client import Uplink
from appliance.uplink_bridge import UplinkOffice
from boothcore import db
from boothcore.cardkind import CardKind
from boothcore.idnumber import make_id_number, number_kind
from boothcore.roster import COLUMNS, Roster, RosterEntry
from central.cli import main as central_main
from central.embedded import EmbeddedCentral
from tests.booth.conftest import YEAR
from tests.booth.test_booth_flow import Rig

FIELD = Path(__file__).resolve().parents[2] / ".." / "shared" / "cases" / "field"
HEADER = ",".join(COLUMNS) + "\n"


def field_case(name: str) -> Path:
    path = FIELD / name
    if not path.is_file():
        pytest.skip(f"field input {path} is absent (the shared cases folder is not mounted here)")
    return path


def _person(number: str, name: str, student_no: str) -> RosterEntry:
    return RosterEntry(id_number=number, name=name, student_no=student_no, college="计算机学院",
                       class_name="计算机2023-1班", graduation_year=YEAR, level="本科", category="普通",
                       captured_before=False)


# One graduate per card kind (made-up people; the 2017 number is the field sample's).
EVERY_KIND = [
    _person(make_id_number("110105", dt.date(2004, 3, 15), 102), "张小明", "20231001"),  # resident
    _person(make_id_number("810000", dt.date(2003, 8, 8), 2), "陈嘉欣", "20231002"),  # J, Hong Kong
    _person(make_id_number("820000", dt.date(2003, 9, 9), 4), "何家宝", "20231003"),  # J, Macao
    _person(make_id_number("830000", dt.date(2003, 10, 10), 6), "林志明", "20231004"),  # J, Taiwan
    _person("KOR110002031512", "KIM MIN JUN", "20231005"),  # I, 2017 foreigner's card
    _person(make_id_number("931410", dt.date(2002, 1, 2), 31), "MARK SMITH", "20231006"),  # Y, 2023 card
]


@pytest.mark.parametrize("cli", ["booth", "central"])
def test_foreign_2017_card_roster_is_imported(tmp_path, capsys, cli):
    roster = field_case("roster-foreign-2017-card.csv")
    if cli == "booth":
        assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 0
        entry = Roster(db.connect(tmp_path / "d" / "booth.db")).lookup("KOR110002031512")
    else:
        toml = tmp_path / "central.toml"
        toml.write_text(f'[storage]\ndata_dir = "{tmp_path / "central"}"\n', encoding="utf-8")
        assert central_main(["roster", "import", str(roster), "--config", str(toml)]) == 0
        entry = Roster(db.connect(tmp_path / "central" / "central.db")).lookup("KOR110002031512")
    assert entry is not None and entry.name == "金敏俊" and not entry.captured_before


def test_full_width_digits_are_imported_as_digits(tmp_path, capsys):
    roster = field_case("roster-fullwidth-digits.csv")
    assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 0, capsys.readouterr().err
    (entry,) = Roster(db.connect(tmp_path / "d" / "booth.db")).class_members("计算机学院", "计科2301")
    assert entry.id_number == "110105200403151022"


def test_excel_booleans_are_read(tmp_path, capsys):
    roster = field_case("roster-excel-booleans.csv")
    assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 0, capsys.readouterr().err
    entries = Roster(db.connect(tmp_path / "d" / "booth.db")).class_members("计算机学院", "计科2301")
    assert [entry.captured_before for entry in entries] == [False, True, False, False]


@pytest.mark.parametrize("spelling", ["TRUE", "true", "Yes", "Y", "y", "1", "是", "ＹＥＳ", " 是\u3000"])
def test_every_spelling_of_yes_is_read(tmp_path, capsys, spelling):
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + f"11010519491231002X,张三,20230001,计算机学院,1班,2027,本科,普通,{spelling}\n",
                      encoding="utf-8")
    assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 0, capsys.readouterr().err
    assert Roster(db.connect(tmp_path / "d" / "booth.db")).lookup("11010519491231002X").captured_before


def test_a_number_excel_reformatted_says_how_to_fix_it(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "1.10105E+17,张三,20230001,计算机学院,1班,2027,本科,普通,FALSE\n", encoding="utf-8")
    assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 2
    assert ("line 2: bad id_number: ID number '1.10105E+17': this looks like an Excel number format: format "
            "the column as text") in capsys.readouterr().err


def test_a_number_still_wrong_after_normalising_says_what_is_wrong(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + "１１０１０５２００４０３１５１０２Ｏ,张三,20230001,计算机学院,1班,2027,本科,普通,否\n"
                      + "KOR990002031512,金敏俊,20230002,计算机学院,1班,2027,本科,普通,否\n", encoding="utf-8")
    assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 2
    err = capsys.readouterr().err
    assert "line 2: bad id_number: ID number must be 17 digits followed by a digit or X: 'O' at position 18" in err
    assert "line 3: bad id_number: ID number issuing office code 9900 of a 2017 foreigner's card is not valid" in err


def test_every_card_kind_is_photographed_saved_uploaded_and_stored(tmp_path, config, conn, ledger, sim_camera,
                                                                   checker, photo_output):
    """A simulated card of each kind: READY, photo, saved as <number>.jpg, in the ledger, uploaded,
    stored by central under the same number."""
    roster_file = tmp_path / "every-kind.csv"
    roster_file.write_text(roster_csv(EVERY_KIND), encoding="utf-8")
    assert booth_main(["roster", "import", "--data", str(config.data_dir), str(roster_file)]) == 0
    assert {number_kind(entry.id_number).value for entry in EVERY_KIND} == {
        "resident", "hmt_permit", "foreign_2017", "foreign_2023"}
    with EmbeddedCentral(tmp_path / "office", workers=1) as central:
        uplink = Uplink(config.uplink.model_copy(update={"broker_url": central.url}), config.booth.id,
                        config.data_dir / "booth.db", on_command=lambda command: "")
        rig = Rig(config, Roster(conn), ledger, sim_camera, checker, photo_output, office=UplinkOffice(uplink))
        uplink.start(lambda: {"state": rig.booth.state.value, "session": None})
        try:
            rig.open_class(EVERY_KIND[0])
            for entry in EVERY_KIND:
                card = card_for(entry)
                assert card.kind is number_kind(entry.id_number)
                outcome = rig.photograph(entry)
                assert outcome.path.name == f"{entry.id_number}.jpg" and outcome.path.exists()
                assert ledger.accepted_for(entry.id_number)
                assert rig.wait(config.capture.message_timeout_s + 0.1) is State.IDLE
            store = central.open_store()
            deadline = time.monotonic() + 60
            while not all(store.current_photo(e.id_number) for e in EVERY_KIND) and time.monotonic() < deadline:
                time.sleep(0.1)
            for entry in EVERY_KIND:
                stored = store.current_photo(entry.id_number)
                assert stored is not None, f"{number_kind(entry.id_number)} not stored by central"
                file = tmp_path / "office" / "central" / "photos" / entry.college / entry.class_name
                assert (file / f"{entry.id_number}.jpg").is_file()
            assert uplink.outbox.problems() == []
        finally:
            uplink.stop()


def test_a_card_whose_number_has_another_kinds_form_is_refused(config, conn, ledger, sim_camera, checker,
                                                               photo_output):
    roster = Roster(conn)
    roster.upsert(EVERY_KIND)
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    rig.open_class(EVERY_KIND[0])
    card = card_for(EVERY_KIND[4])
    forged = type(card)(kind=card_for(EVERY_KIND[0]).kind, id_number=card.id_number, name=card.name)
    assert rig.send(CardPresented(forged)) is State.REFUSED
    assert rig.display.last_view.lines[0] == MESSAGES[Reason.INVALID_NUMBER]


def test_a_typed_number_of_each_kind_goes_to_the_operator(config, conn, ledger, sim_camera, checker, photo_output):
    """A keyboard-wedge reader types the number of any card kind: the operator checks the card."""
    roster = Roster(conn)
    roster.upsert(EVERY_KIND)
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    rig.open_class(EVERY_KIND[0])
    for entry in EVERY_KIND:
        typed = IdentityCard(kind=CardKind.TYPED_NUMBER, id_number=entry.id_number, needs_operator_confirmation=True)
        assert rig.send(CardPresented(typed)) is State.CONFIRM, entry
        assert rig.booth.pending.reasons == (Reason.TYPED_NUMBER,)
