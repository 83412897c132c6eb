"""systemd's notification protocol (sd_notify(3)): one datagram of ``KEY=value`` lines to ``$NOTIFY_SOCKET``.

A no-op when the booth does not run under a ``Type=notify`` unit (``NOTIFY_SOCKET`` unset), so
``booth run`` from a checkout behaves as before. A failed send is logged and never stops the booth:
a missing ping then lets systemd's watchdog act, which is the point of it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (e.g. ``"READY=1\\nSTATUS=idle"``); True when a datagram went out."""
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket (sd_notify(3))
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as error:
        log.warning("sd_notify: cannot send to %s: %s", address.lstrip("\0"), error)
        return False
    return True


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds of the unit's ``WatchdogSec=`` (``$WATCHDOG_USEC``), or None when no watchdog watches us.

    ``$WATCHDOG_PID``, when set, must be this process (sd_watchdog_enabled(3)): a child the booth
    starts must not ping on its behalf.
    """
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None
