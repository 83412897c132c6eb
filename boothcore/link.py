"""What a client knows about its broker link: since when it is down, and whether another device
took its session. Used by the booth's uplink (both) and central's ingest (``LinkWatch``).

``LinkWatch``: a broker that stays away would otherwise log a line per reconnect attempt, or
nothing at all. The first failure is logged, then again after 1, 2, 4, ... minutes of outage
(capped at one line an hour), and the reconnect once, saying how long the link was down.

``TakeoverWatch``: two devices with the same booth id (a cloned SD card) knock each other off the
broker about once a second, since the broker keeps one session per client id. MQTT 5 brokers
that say so send DISCONNECT with reason 0x8E (Session taken over); mosquitto 2.0.11 closes the
old connection without a DISCONNECT, which paho reports as "Unspecified error" (0x80). Either,
repeated right after connects that succeeded, means the session is being taken away.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable

FIRST_REPEAT_S = 60.0  # the second "still down" line comes after a minute of outage
MAX_REPEAT_S = 3600.0  # and then never more than one an hour

SESSION_TAKEN_OVER = 0x8E  # MQTT 5 DISCONNECT reason code (OASIS MQTT 5.0, 3.14.2.1)
UNSPECIFIED = 0x80  # what paho reports when the broker closed the socket without a DISCONNECT
QUICK_DROP_S = 10.0  # a drop this soon after a CONNACK counts (a clone reconnects within 1-2 s)
TAKEOVER_DROPS = 3  # quick drops (or 2 explicit 0x8E) within TAKEOVER_WINDOW_S mean a takeover
TAKEOVER_WINDOW_S = 60.0
STABLE_S = 120.0  # a connection that lasts this long ends the "two devices" state


class LinkWatch:
    """Down-since bookkeeping and falling-rate logging of one client's broker link.

    ``failed`` for every failed connect attempt or lost connection, ``connected`` on CONNACK.
    Called from paho's thread; ``down_since``/``down_for`` may be read from any thread.
    """

    def __init__(self, log: logging.Logger, what: str, *, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self.log = log
        self.what = what  # "uplink: broker mqtts://host:8883", named in every line
        self.clock = clock
        self.wall = wall
        self.down_since: dt.datetime | None = None  # wall clock, for the screen
        self._down_at: float | None = None  # monotonic, for durations
        self.failures = 0
        self._next_log = 0.0
        self._repeat = FIRST_REPEAT_S

    def waiting(self) -> None:
        """Count the link as down from now (before the first connect) without a log line."""
        if self._down_at is None:
            self._down_at, self.down_since = self.clock(), self.wall()
            self.failures, self._next_log, self._repeat = 0, self._down_at, FIRST_REPEAT_S

    def failed(self, reason: str) -> None:
        now = self.clock()
        if self._down_at is None:
            self._down_at, self.down_since = now, self.wall()
            self.failures, self._next_log, self._repeat = 0, now, FIRST_REPEAT_S
        self.failures += 1
        if now < self._next_log:
            return
        if self.failures == 1:
            self.log.warning("%s: link down (%s); retrying, next report in %.0f s if still down",
                             self.what, reason, self._repeat)
        else:
            self.log.warning("%s: link still down since %s (%d attempts failed, last: %s)", self.what,
                             self.down_since.strftime("%H:%M:%S") if self.down_since else "?",
                             self.failures, reason)
        self._next_log = now + self._repeat
        self._repeat = min(MAX_REPEAT_S, self._repeat * 2)

    def connected(self) -> None:
        if self._down_at is not None and self.failures > 1:
            self.log.warning("%s: link back after %.0f s down (%d attempts failed)", self.what,
                             self.clock() - self._down_at, self.failures)
        self._down_at, self.down_since, self.failures = None, None, 0

    def down_for(self) -> float | None:
        """Seconds since the link went down, or None while it is up."""
        down_at = self._down_at
        return None if down_at is None else self.clock() - down_at


class TakeoverWatch:
    """Decides, from connects and drops, that another device is using this client id.

    ``dropped`` returns True when this drop completes the pattern (the caller backs off and says
    so); ``duplicate`` stays True until a connection has lasted ``STABLE_S``.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.duplicate = False
        self._connected_at: float | None = None
        self._drops: deque[tuple[float, int]] = deque()

    def connected(self) -> None:
        self._connected_at = self.clock()

    def stable(self) -> bool:
        """True (and the "two devices" state cleared) once the current connection lasted STABLE_S."""
        if self._connected_at is not None and self.clock() - self._connected_at >= STABLE_S:
            self.duplicate = False
            self._drops.clear()
            return True
        return False

    def evidence(self) -> str:
        """What the last decision rests on, for the log line."""
        explicit = sum(1 for _, code in self._drops if code == SESSION_TAKEN_OVER)
        span = self._drops[-1][0] - self._drops[0][0] if self._drops else 0.0
        if explicit:
            return f"{explicit} DISCONNECT(s) with reason 0x8E (Session taken over) within {span:.0f} s"
        return (f"the broker closed the connection {len(self._drops)} times within {span:.0f} s, each within "
                f"{QUICK_DROP_S:.0f} s of accepting it, without saying why (mosquitto 2.0.11 does that on a "
                "takeover; a network that cuts new connections would look the same)")

    def forget(self) -> None:
        """Drop the counted drops (they had another cause, e.g. a packet over the broker's limit)."""
        self._connected_at = None
        self._drops.clear()

    def dropped(self, reason_code: int) -> bool:
        now = self.clock()
        connected_at, self._connected_at = self._connected_at, None
        if connected_at is None or reason_code not in (SESSION_TAKEN_OVER, UNSPECIFIED):
            return False
        if reason_code != SESSION_TAKEN_OVER and now - connected_at > QUICK_DROP_S:
            return False
        self._drops.append((now, reason_code))
        while self._drops and now - self._drops[0][0] > TAKEOVER_WINDOW_S:
            self._drops.popleft()
        explicit = sum(1 for _, code in self._drops if code == SESSION_TAKEN_OVER)
        if self.duplicate or explicit >= 2 or len(self._drops) >= TAKEOVER_DROPS:
            self.duplicate = True
            return True
        return False
