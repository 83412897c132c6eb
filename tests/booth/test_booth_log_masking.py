"""ID numbers in the booth's log are masked, also where they arrive inside an error's text.

The conftest scans every booth test's log (log_has_no_full_id_numbers); these tests check the
scanner itself and the one log line that carries foreign text: a failure's traceback.
"""

from __future__ import annotations

import logging

from appliance.flow.events import ButtonPressed, CardPresented
from appliance.flow.states import State
from appliance.simulation.roster_gen import card_for
from tests.booth.test_booth_flow import Rig
from tests.log_scan import unmasked_ids


def test_the_scanner_finds_full_numbers_and_passes_masked_ones_and_photo_ids():
    text = ("card 11010519990101002X refused; card USA110020010202 read; kept 110105********002X; "
            "photo 3f2a9c1b0d8e4f67a5b3c2d1e0f98765/320102********2838.jpg; at 2026-11-30T13:25:37.123456Z")
    assert unmasked_ids(text) == ["11010519990101002X", "USA110020010202"]
    assert unmasked_ids("photo 112233445566778899aabbccddeeff00 queued (43210 bytes)") == []


def test_a_failure_whose_error_names_the_photo_file_is_logged_masked(config, roster, ledger, sim_camera, checker,
                                                                   students, caplog):
    def disk_full(frame, report, id_number, folder):
        raise OSError(28, "No space left on device", str(folder / f".{id_number}.jpg.k2j4h1.tmp"))

    rig = Rig(config, roster, ledger, sim_camera, checker, disk_full)
    caplog.set_level(logging.INFO)
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.shoot() is State.REVIEW
    rig.react()
    assert rig.send(ButtonPressed()) is State.ERROR
    number = students[0].id_number
    assert "No space left on device" in caplog.text and "Traceback" in caplog.text
    assert number not in caplog.text and f"{number[:6]}********{number[-4:]}.jpg" in caplog.text
