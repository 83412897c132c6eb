"""The further booths of ``booth demo --booths K``: one process each, and one of them switched off once.

Booth 2 is killed (SIGKILL, so its Will fires and the dashboard shows it offline) once central has
stored ``OUTAGE_AFTER_PHOTOS`` of its photos, kept off for ``OUTAGE_S`` and started again on the
same data folder: it resumes its class, and its outbox sends whatever the kill left unsent.
Every child is started from this object's own thread, which lives as long as they do, so a killed
demo takes them along (``boothcore.children.die_with_parent``).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from boothcore.children import die_with_parent
from fleetdemo.demo import DemoClass, DemoSummary
from fleetdemo.office import DemoOffice

OUTAGE_AFTER_PHOTOS = 2  # booth 2 goes offline once this many of its photos are stored
OUTAGE_S = 5.0  # how long it stays off, long enough to see on the dashboard (it refreshes within 2 s)
OFFLINE_WAIT_S = 15.0  # central marks a killed booth offline when the broker sends its Will (1 s: DEMO_WILL_DELAY_S)
_POLL_S = 0.2

log = logging.getLogger(__name__)


@dataclass
class ChildBooth:
    demo_class: DemoClass
    data_dir: Path
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    summary: DemoSummary | None = None
    restarts: int = 0
    failure: str = ""
    switched_off: subprocess.Popen[bytes] | None = None  # the process the outage killed

    @property
    def log_file(self) -> Path:
        return self.data_dir / "demo.log"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as err:
            self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=err,
                                            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)


class FurtherBooths:
    """Booths 2..K as child processes (``python -m fleetdemo.booth``); ``on_summary`` gets each
    booth's summary (on this object's thread) when its class is done."""

    def __init__(self, office: DemoOffice, classes: list[DemoClass], root: Path, *, students: int, run: int,
                 graduation_year: int, countdown_s: float, until_done: bool,
                 on_summary: Callable[[DemoSummary], None]) -> None:
        self.office = office
        self.on_summary = on_summary
        self.booths = [ChildBooth(demo_class, root / demo_class.booth_id, [
            sys.executable, "-m", "fleetdemo.booth", "--index", str(index), "--booths", str(len(classes)),
            "--students", str(students), "--run", str(run), "--graduation-year", str(graduation_year),
            "--data", str(root / demo_class.booth_id), "--broker", office.broker_url,
            "--countdown", str(countdown_s), *(["--until-done"] if until_done else [])])
            for index, demo_class in enumerate(classes) if index > 0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-fleet", daemon=True)

    def start(self) -> FurtherBooths:
        if self.booths:
            self._thread.start()
        return self

    def stop(self) -> None:
        """End every child (SIGTERM: each booth stops its loop and its uplink cleanly)."""
        self._stop.set()
        for booth in self.booths:
            if booth.process is not None and booth.process.poll() is None:
                booth.process.terminate()
        self.join()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ----------------------------------------------------------------------- the monitor thread
    def _run(self) -> None:
        readers = [self._start(booth) for booth in self.booths]
        readers += self._outage(self.booths[0])
        for reader in readers:
            reader.join()

    def _start(self, booth: ChildBooth) -> threading.Thread:
        """Start the booth's process and a thread reading its summary line as soon as it comes."""
        booth.start()
        assert booth.process is not None
        reader = threading.Thread(target=self._wait, args=(booth, booth.process),
                                  name=f"demo-{booth.demo_class.booth_id}", daemon=True)
        reader.start()
        return reader

    def _outage(self, booth: ChildBooth) -> list[threading.Thread]:
        """Switch ``booth`` off once, mid-class, and on again; the reader of its new process."""
        store = self.office.open_store()
        try:
            while not self._stop.is_set():
                assert booth.process is not None
                if booth.process.poll() is not None:
                    return []  # it finished (or failed) first: its reader reports it
                stored = len(store.photos(college=booth.demo_class.college, class_name=booth.demo_class.class_name))
                if stored >= OUTAGE_AFTER_PHOTOS:
                    break
                time.sleep(_POLL_S)
            else:
                return []
            print(f"booth demo: switching {booth.demo_class.booth_id} off for {OUTAGE_S:.0f} s "
                  "(killed: its Will marks it offline on the dashboard)", file=sys.stderr, flush=True)
            booth.switched_off = booth.process
            booth.process.kill()
            booth.process.wait()
            deadline = time.monotonic() + OFFLINE_WAIT_S
            while time.monotonic() < deadline and any(
                    status.booth == booth.demo_class.booth_id and status.online for status in store.booths()):
                if self._stop.wait(_POLL_S):
                    return []  # Ctrl-C while waiting for the Will: the demo stops now, not after the wait
            shown = "offline on the dashboard (its Will)" if time.monotonic() < deadline else \
                f"still shown online after {OFFLINE_WAIT_S:.0f} s (its Will did not arrive)"
            print(f"booth demo: {booth.demo_class.booth_id} is {shown}", file=sys.stderr, flush=True)
            if self._stop.wait(OUTAGE_S):
                return []
            booth.restarts += 1
            reader = self._start(booth)
            print(f"booth demo: {booth.demo_class.booth_id} is back on; it resumes its class",
                  file=sys.stderr, flush=True)
            return [reader]
        finally:
            store.close()

    def _wait(self, booth: ChildBooth, process: subprocess.Popen[bytes]) -> None:
        """Until ``process`` ends: its summary line when its class is done, its failure if it fails
        (not when the demo switched it off or is stopping)."""
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip():
                booth.summary = DemoSummary(**json.loads(line))
                booth.summary.restarts = booth.restarts
                self.on_summary(booth.summary)
        process.wait()
        if process.returncode != 0 and not self._stop.is_set() and process is not booth.switched_off:
            tail = booth.log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-3:]
            booth.failure = f"exit {process.returncode}; the end of {booth.log_file}: " + " | ".join(tail)
