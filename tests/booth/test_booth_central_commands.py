"""The office drives a booth through MQTT: roster push, open and close a class, answered results.

Real mosquitto, real central ingest, the real booth service (uplink, bridge, loop) and the
``booth-central`` command line.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.app import build_service
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import BoothConfig, load_config
from appliance.flow.booth import Booth
from appliance.flow.states import State
from appliance.ledger import Ledger
from appliance.simulation.roster_gen import generate_roster, roster_csv
from appliance.ui.headless_display import HeadlessDisplay
from boothcore import db
from boothcore.privacy import mask_id
from boothcore.roster import Roster
from central.cli import main as central_main
from central.commands import allow_retake
from central.config import load_central_config
from central.embedded import EmbeddedCentral
from central.store import Store
from tests.central.conftest import MiniBooth, jpeg_bytes, make_init


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class OfficeSide:
    """What the office's script works with: the running central, its store, the CLI's config
    arguments, and the booth it drives."""
    central: EmbeddedCentral
    store: Store
    argv: list[str]
    booth: Booth
    config: BoothConfig
    central_toml: Path


def run_with_office(tmp_path: Path, students, script: Callable[[OfficeSide], None]) -> None:
    """The real booth service runs here while ``script`` plays the office in another thread, once
    the booth has connected and central's roster push (``students``) has reached it; any failure of
    the office's side fails the test."""
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(roster_csv(students), encoding="utf-8")
    with EmbeddedCentral(tmp_path, workers=1) as central:
        central_toml = tmp_path / "central.toml"
        central_toml.write_text(f'[broker]\nurl = "{central.url}"\n[storage]\ndata_dir = "{tmp_path / "central"}"\n',
                                encoding="utf-8")
        config = load_config(None, {"booth": {"data_dir": str(tmp_path / "booth"), "graduation_year": 2027},
                                    "hours": {"enforce": False}, "hardware": {"screen": "headless"}})
        service = build_service(config, broker_url=central.url, display=HeadlessDisplay(),
                                reader=SimulatedCardReader())
        failures: list[str] = []
        done = threading.Event()

        def office() -> None:
            try:
                store = central.open_store()  # central has the booth's status: commands reach it
                wait_for(lambda: any(b.booth == "booth-01" for b in store.booths()), "the booth to connect")
                argv = ["--config", str(central_toml)]
                assert central_main(["roster", "import", str(roster_file), *argv, "--push", "booth-01"]) == 0
                roster = Roster(db.connect(config.data_dir / "booth.db"))
                wait_for(lambda: roster.count() == len(students), "the roster to reach the booth")
                script(OfficeSide(central, store, argv, service.parts.booth, config, central_toml))
            except Exception as error:
                failures.append(repr(error))
            finally:
                done.set()

        threading.Thread(target=office, daemon=True).start()
        service.run(until=done.is_set)
    assert not failures, failures


def test_office_pushes_roster_and_opens_and_closes_a_class(tmp_path):
    students = generate_roster(5, graduation_year=2027)

    def script(office: OfficeSide) -> None:
        store, argv, booth, config, central_toml = (office.store, office.argv, office.booth, office.config,
                                                    office.central_toml)
        assert central_main(["class", "open", "booth-01", "--college", students[0].college,
                             "--class", students[0].class_name, *argv]) == 0
        wait_for(lambda: booth.state is State.IDLE and booth.session is not None, "the class to open")
        assert booth.session.class_name == students[0].class_name
        assert central_main(["class", "close", "booth-01", *argv]) == 0
        wait_for(lambda: booth.state is State.SUMMARY, "the class summary")
        assert len(booth.summary.missing) == 5 and booth.summary.fee_cny == 0
        wait_for(lambda: len(store.commands(booth="booth-01")) == 4  # with the answer to the close
                 and all(c.result_ok is not None for c in store.commands(booth="booth-01")),
                 "the booth's answers")
        results = {c.kind: c.result_ok for c in store.commands(booth="booth-01")}
        assert results == {"roster_update": True, "open_class": True, "close_class": True,
                           "class_photographed": True}
        assert central_main(["class", "close", "booth-01", *argv]) == 0  # nothing open now
        wait_for(lambda: any(c.result_ok is False for c in store.commands(booth="booth-01")),
                 "the refusal")
        refused = next(c for c in store.commands(booth="booth-01") if c.result_ok is False)
        assert "no session is open" in refused.result_message
        # An office process starts and asks every booth for its status; an admin flags a photo.
        office_config = load_central_config(central_toml)
        status_before = store.booths()[0].received_at
        serve = subprocess.Popen([sys.executable, "-m", "central.cli", "serve", *argv, "--workers", "1",
                                  "--client-id", "second-office"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)  # a second office process starts
        try:
            wait_for(lambda: any(c.kind == "publish_status" and c.result_ok
                                 for c in store.commands(booth="booth-01")), "the booth's answer")
            wait_for(lambda: store.booths()[0].received_at > status_before, "the status published again")
        finally:
            serve.terminate()
            assert serve.wait(timeout=30) == 0
        flagged = uuid.uuid4().hex
        assert allow_retake(office_config, store, students[0].id_number, flagged) == ["booth-01"]
        wait_for(lambda: sum(c.result_ok is True for c in store.commands(booth="booth-01")) == 6,
                 "the answers to publish_status and allow_retake")
        answers = {c.kind: c.result_message for c in store.commands(booth="booth-01")}
        assert answers["publish_status"] == "status published"
        assert answers["allow_retake"] == f"retake of {mask_id(students[0].id_number)} allowed once"
        ledger = Ledger(db.connect(config.data_dir / "booth.db"), "booth-01")
        assert [tuple(row) for row in ledger.conn.execute(
            "SELECT photo_id FROM retake_allowances WHERE id_number = ?", (students[0].id_number,))
        ] == [(flagged,)]

    run_with_office(tmp_path, students, script)


def test_a_class_split_over_two_booths_lists_as_missing_only_who_neither_photographed(tmp_path):
    # A class photographed partly at another booth: this booth's summary used to list as missing
    # everyone it had not photographed itself. Central answers the close with who has a current
    # photo there, and the summary on the screen is counted again.
    students = generate_roster(5, graduation_year=2027)
    elsewhere = students[1]

    def script(office: OfficeSide) -> None:
        central, store, argv, booth = office.central, office.store, office.argv, office.booth
        other = MiniBooth(central.broker, "booth-02")  # the class's other booth sends one photo
        data = jpeg_bytes(1)
        init = make_init("booth-02", data, ident=elsewhere.id_number, college=elsewhere.college,
                         class_name=elsewhere.class_name)
        other.send_photo(init, data)
        assert other.ack_for(init.photo_id).status == "stored"
        assert central_main(["class", "open", "booth-01", "--college", elsewhere.college,
                             "--class", elsewhere.class_name, *argv]) == 0
        wait_for(lambda: booth.state is State.IDLE and booth.session is not None, "the class to open")
        assert central_main(["class", "close", "booth-01", *argv]) == 0
        wait_for(lambda: booth.state is State.SUMMARY, "the class summary")
        wait_for(lambda: elsewhere.id_number not in {m.id_number for m in booth.summary.missing},
                 "central's answer to the close")
        assert {m.id_number for m in booth.summary.missing} == {s.id_number for s in students} \
            - {elsewhere.id_number}
        assert booth.state is State.SUMMARY and booth.summary.fee_cny == 0  # only its own photos are paid
        wait_for(lambda: any(c.kind == "class_photographed" and c.result_ok
                             for c in store.commands(booth="booth-01")), "the booth's answer")
        answer = next(c for c in store.commands(booth="booth-01") if c.kind == "class_photographed")
        assert answer.result_message == "1 of the class photographed at central"

    run_with_office(tmp_path, students, script)
