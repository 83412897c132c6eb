"""What central trusts: its own receive order (not a booth's clock), its roster, the class a booth has open."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from appliance.simulation.roster_gen import generate_roster, roster_csv
from boothcore import protocol as p
from boothcore.privacy import mask_id
from boothcore.roster import RosterEntry
from central.cli import main as central_main
from central.ingest import Ingest
from central.local_broker import LocalBroker
from central.store import SqlStore
from tests.central.conftest import MiniBooth, central_config, id_number, jpeg_bytes, make_init, write_config_toml


def test_a_booth_clock_running_ahead_does_not_pin_its_photo(booth: MiniBooth, db: SqlStore,
                                                            data_dir: Path) -> None:
    """A Pi without an RTC before NTP: its capture claims 2031; the genuine retake later must win."""
    person = id_number(601)
    ahead, retake = jpeg_bytes(30), jpeg_bytes(31)
    first = make_init("booth-01", ahead, ident=person, captured_at="2031-01-01T00:00:00Z")
    second = make_init("booth-01", retake, ident=person, captured_at=p.utc_now())
    assert booth.upload(first, ahead).status == "stored"
    assert booth.upload(second, retake).status == "stored"
    assert next((data_dir / "photos").rglob("*.jpg")).read_bytes() == retake
    assert db.current_photo(person).photo_id == second.photo_id
    assert {r.photo_id for r in db.photos(current_only=False)} == {first.photo_id, second.photo_id}
    # Every capture is kept, not only its row: the earlier one is still there, byte for byte.
    assert (data_dir / "captures" / f"{first.photo_id}.jpg").read_bytes() == ahead
    assert (data_dir / "captures" / f"{second.photo_id}.jpg").read_bytes() == retake
    current = next((data_dir / "photos").rglob("*.jpg"))
    assert current.stat().st_ino == (data_dir / "captures" / f"{second.photo_id}.jpg").stat().st_ino
    # A re-send of the first (a booth that lost the ack) changes nothing.
    assert booth.upload(first, ahead).status == "stored"
    assert db.current_photo(person).photo_id == second.photo_id
    assert next((data_dir / "photos").rglob("*.jpg")).read_bytes() == retake


@pytest.fixture
def roster(tmp_path: Path, broker: LocalBroker, data_dir: Path, db_url: str) -> list[RosterEntry]:
    """Two classes on central's roster, imported with ``booth-central roster import``."""
    entries = [*generate_roster(3, graduation_year=2027, college="信息学院", class_name="计科2301", seed=1),
               *generate_roster(3, graduation_year=2027, college="信息学院", class_name="计科2302", seed=2)]
    csv_file = tmp_path / "roster.csv"
    csv_file.write_text(roster_csv(entries), encoding="utf-8")
    config = write_config_toml(tmp_path / "central.toml", data_dir, broker, db_url)
    assert central_main(["roster", "import", str(csv_file), "--config", str(config)]) == 0
    return entries


def upload_of(booth: MiniBooth, entry: RosterEntry, seed: int, **fields: str) -> p.Ack:
    data = jpeg_bytes(seed)
    init = make_init("booth-01", data, ident=entry.id_number, college=fields.get("college", entry.college),
                     class_name=fields.get("class_name", entry.class_name))
    return booth.upload(init, data)


def test_photos_are_checked_against_centrals_roster(roster: list[RosterEntry], booth: MiniBooth,
                                                    db: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "central.ingest")
    member = roster[0]
    assert upload_of(booth, member, 40).status == "stored"
    stranger = id_number(602)
    assert stranger not in {e.id_number for e in roster}
    data = jpeg_bytes(41)
    init = make_init("booth-01", data, ident=stranger)
    ack = booth.upload(init, data)
    assert ack.status == "rejected" and "not on central's roster" in ack.reason
    assert mask_id(stranger) in ack.reason
    other_class = roster[3]  # on the roster of 计科2302, photographed as 计科2301
    ack = upload_of(booth, other_class, 42, class_name="计科2301")
    assert ack.status == "rejected" and "is on the roster of 信息学院/计科2302" in ack.reason
    assert [r.id_number for r in db.photos(current_only=False)] == [member.id_number]
    assert "not on central's roster" in caplog.text
    assert stranger not in caplog.text and other_class.id_number not in caplog.text


def test_photo_of_a_class_the_booth_did_not_have_open_is_refused(roster: list[RosterEntry], booth: MiniBooth,
                                                                 db: SqlStore) -> None:
    status = p.Status(booth="booth-01", boot=1, online=True, state="idle", queue_depth=0, disk_free_mb=900.0,
                      version="test", ts=p.utc_now(),
                      session=p.SessionInfo(id="s-1", kind="class", college="信息学院", class_="计科2301"))
    booth.publish(p.status_topic("booth-01"), p.encode(status), retain=True)
    in_class, elsewhere = roster[0], roster[4]
    assert upload_of(booth, in_class, 43).status == "stored"  # make_init's session is "s-1"
    ack = upload_of(booth, elsewhere, 44)  # on the roster of 计科2302, but the booth had 计科2301 open
    assert ack.status == "rejected"
    assert "had 信息学院/计科2301 open in session s-1" in ack.reason
    assert db.photo(ack.id) is None


def test_without_tls_an_empty_known_booths_is_named_as_open_to_any_client(broker: LocalBroker, data_dir: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "central.ingest")
    with Ingest(central_config(data_dir, broker, workers=1)) as ingest:
        assert ingest.wait_connected()
    assert "known_booths is empty and the broker link has no TLS" in caplog.text
