"""What systemd learns from a running booth: READY once it is up, WATCHDOG=1 while healthy, STATUS=.

``beat()`` is called by the booth loop on its own main thread, once per iteration (at least every
0.25 s, ``runtime.IDLE_TICK_S``), so a ping proves that the capture loop turns; it is sent only
while the uplink's sender thread also made progress within half the watchdog interval. A hung
capture loop sends no beat, a stalled uplink makes ``beat()`` withhold the ping: either way the
unit's ``WatchdogSec=`` runs out, systemd kills the booth and ``Restart=on-failure`` starts it
again. No thread of its own pings, so a ping can never outlive the loop it vouches for.

READY: ``build_booth`` has started the camera, opened the reader, loaded the models (the
``PhotoChecker`` loads its interpreters when built) and opened the display before the loop runs,
so the first beat is the moment all four are up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from appliance.flow.booth import Booth
from appliance.flow.states import State
from appliance.sdnotify import notify, watchdog_interval_s

log = logging.getLogger(__name__)

STATUS_EVERY_S = 5.0  # STATUS= is refreshed (when it changed) this often: one outbox count per refresh
NO_WATCHDOG_STALL_S = 30.0  # without WatchdogSec= the status still names an uplink stalled this long


class UplinkHealth(Protocol):
    @property
    def connected(self) -> bool: ...

    def sender_healthy(self, stall_s: float) -> bool: ...

    def backlog(self) -> int: ...


class ServiceNotifier:
    """sd_notify for ``booth run``: a no-op outside systemd (``NOTIFY_SOCKET`` unset)."""

    def __init__(self, booth: Booth, uplink: UplinkHealth, *, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.booth = booth
        self.uplink = uplink
        self.environ = environ
        self.clock = clock
        self.interval_s = watchdog_interval_s(environ)
        self.ready = False
        self._next_ping = 0.0
        self._next_status = 0.0
        self._status = ""
        self._problem: str | None = None
        self._seen_state: State | None = None  # the booth's state at the last beat

    def beat(self) -> None:
        """One turn of the booth loop: READY the first time, then pings and status when due."""
        now = self.clock()
        if not self.ready:
            self.ready = True
            self._status = self.status()
            self._send(f"READY=1\nSTATUS={self._status}")
            log.info("booth ready: %s", self._status)
            self._next_status = now + STATUS_EVERY_S
            self._seen_state = self.booth.state
        if self.booth.state is not self._seen_state:  # the booth moved since the last beat: STATUS= now
            self._seen_state = self.booth.state
            self._next_status = now
        if self.interval_s is not None and now >= self._next_ping:
            self._problem = self.problem()
            if self._problem is None:
                self._send("WATCHDOG=1")
                self._next_ping = now + self.interval_s / 2  # sd_watchdog_enabled(3): ping at half the interval
            else:
                self._next_status = now  # say why the pings stopped, now
        if now >= self._next_status:
            self._next_status = now + STATUS_EVERY_S
            if self.interval_s is None:
                self._problem = self.problem()
            status = self.status()
            if status != self._status:
                self._status = status
                self._send(f"STATUS={status}")

    def stopping(self) -> None:
        self._send("STOPPING=1\nSTATUS=stopping")

    def problem(self) -> str | None:
        """Why the booth is not healthy (the uplink sender stalled or stopped), or None."""
        stall_s = self.interval_s / 2 if self.interval_s is not None else NO_WATCHDOG_STALL_S
        if not self.uplink.sender_healthy(stall_s):
            return f"uplink sender stopped or stalled for over {stall_s:g} s"
        return None

    def status(self) -> str:
        """The booth's state for ``systemctl status`` (no personal data: class labels and counts only)."""
        booth = self.booth
        parts = [booth.state.value, booth.status or booth.config.booth.id,
                 f"outbox {self.uplink.backlog()}", "uplink online" if self.uplink.connected else "uplink offline"]
        if self._problem:
            parts.insert(0, f"UNHEALTHY ({self._problem})")
        return " · ".join(parts)

    def _send(self, message: str) -> None:
        notify(message, self.environ)
