"""A kill between writing a photo and committing its ledger row: the start removes what it left.

The photo folder is filled the way the save path fills it (the CHSI writer, a writer killed
before its rename); the kill test (test_booth_kill.py) does the same with real SIGKILLs.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

from appliance.app import build_booth
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.flow.events import CardPresented
from appliance.flow.states import State
from appliance.simulation.roster_gen import card_for
from appliance.ui.headless_display import HeadlessDisplay
from tests.booth.test_booth_flow import Rig


def _killed_before_rename(folder, id_number: str) -> None:
    """A real process writes the photo durably and is SIGKILLed right before its rename."""
    script = textwrap.dedent(f"""
        import os, signal
        from boothcore import durable
        os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        durable.write_atomic({str(folder / f"{id_number}.jpg")!r}, b"\\xff\\xd8" + b"x" * 30000 + b"\\xff\\xd9")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -9


def test_start_removes_photos_without_a_ledger_row_and_empty_folders(config, roster, ledger, sim_camera, checker,
                                                                    photo_output, students, caplog):
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    rig.open_class(students[0])
    kept = rig.photograph(students[0]).path
    photos = rig.booth.photo_dir
    # What kills in the save path leave: a complete file whose row never committed, a temp file
    # of a writer killed before its rename, and a folder made just before the kill.
    assert rig.send(CardPresented(card_for(students[1]))) is State.READY
    assert rig.shoot(subject=1) is State.REVIEW
    orphan = photo_output(rig.booth.cycle.frame, rig.booth.cycle.report, students[1].id_number,
                          photos / "0123456789abcdef0123456789abcdef").path
    _killed_before_rename(photos / "fedcba9876543210fedcba9876543210", students[2].id_number)
    (photos / "00000000000000000000000000000000").mkdir()
    assert len(list(photos.glob("*/.*.tmp"))) == 1 and orphan.exists()

    caplog.set_level(logging.INFO)
    parts = build_booth(config, display=HeadlessDisplay(), camera=sim_camera, reader=SimulatedCardReader(),
                        checker=checker)
    parts.close()
    assert [path for path in photos.rglob("*") if path.is_file()] == [kept]
    assert sorted(path.name for path in photos.iterdir()) == [kept.parent.name]
    assert len(rig.ledger.accepted_files()) == 1
    text = caplog.text
    for student in students[1:3]:
        assert student.id_number not in text
        masked = student.id_number[:6] + "*" * 8 + student.id_number[-4:]
        assert masked in text
    assert "removed 3 empty photo folder(s)" in text


def test_a_start_with_nothing_left_behind_removes_nothing(config, roster, ledger, sim_camera, checker,
                                                         photo_output, students):
    rig = Rig(config, roster, ledger, sim_camera, checker, photo_output)
    rig.open_class(students[0])
    kept = rig.photograph(students[0]).path
    build_booth(config, display=HeadlessDisplay(), camera=sim_camera, reader=SimulatedCardReader(),
                checker=checker).close()
    assert kept.exists() and [path for path in rig.booth.photo_dir.rglob("*") if path.is_file()] == [kept]
