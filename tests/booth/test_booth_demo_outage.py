"""The demo's outage of booth-02 and Ctrl-C: stopping the demo while it waits for the killed
booth's Will ends the wait at once (it ran its whole 15 s, then reported the booth 'still shown
online', before the demo could stop)."""

from __future__ import annotations

import subprocess
import sys
import threading
from types import SimpleNamespace

from appliance.simulation.roster_gen import generate_roster
from fleetdemo import fleet
from fleetdemo.demo import DemoClass


class AlwaysOnlineStore:
    """Central's store as the outage reads it: photos stored, and a Will that has not arrived."""

    def __init__(self, killed: threading.Event) -> None:
        self.killed = killed

    def photos(self, **_filters):
        return [object()] * fleet.OUTAGE_AFTER_PHOTOS

    def booths(self):
        self.killed.set()  # read only after the kill
        return [SimpleNamespace(booth="booth-02", online=True)]

    def close(self) -> None:
        pass


def test_stopping_the_demo_during_the_wait_for_the_will_stops_at_once(tmp_path, capsys):
    killed = threading.Event()
    office = SimpleNamespace(open_store=lambda: AlwaysOnlineStore(killed), broker_url="mqtt://127.0.0.1:1")
    classes = [DemoClass(f"booth-0{index}", generate_roster(3, graduation_year=2027), {}) for index in (1, 2)]
    booths = fleet.FurtherBooths(office, classes, tmp_path, students=3, run=1, graduation_year=2027,
                                 countdown_s=1.0, until_done=True, on_summary=lambda _summary: None)
    booths.booths[0].command = [sys.executable, "-c", "import time; time.sleep(60)"]  # a booth to switch off
    booths.start()
    assert killed.wait(30)
    booths.stop()
    err = capsys.readouterr().err
    assert "switching booth-02 off" in err
    assert "still shown online" not in err and "back on" not in err
    assert booths.booths[0].restarts == 0
    assert isinstance(booths.booths[0].switched_off, subprocess.Popen)
