"""The booth's retained status and its telemetry, as central's fleet view reads them.

The status (state, session, outbox depth, disk, temperature, version; retained, QoS 1) is
refreshed on every booth state change and at most every ``STATUS_MIN_INTERVAL_S`` when only the
queue depth changed; telemetry (QoS 0, expiring) every ``uplink.telemetry_interval_s``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.uplink.broker_link import BrokerLink
from appliance.uplink.outbox import Outbox
from appliance.uplink.settings import UplinkSettings
from boothcore import protocol as p

log = logging.getLogger("appliance.uplink.client")  # one logger for the uplink's lines

STATUS_MIN_INTERVAL_S = 2.0  # queue-depth changes refresh the retained status at most this often
CPU_TEMP_FILE = Path("/sys/class/thermal/thermal_zone0/temp")


def cpu_temp_c() -> float | None:
    try:
        return round(int(CPU_TEMP_FILE.read_text().strip()) / 1000.0, 1)
    except (OSError, ValueError):
        return None


class StatusReporter:
    """Status and telemetry of one booth; ``publish``/``pump`` run on the uplink's sender thread.

    ``provider``: the booth's state and session (``uplink_bridge.booth_status``), set when the
    uplink starts; ``boot`` and ``install_id`` likewise.
    """

    def __init__(self, settings: UplinkSettings, booth_id: str, version: str, outbox: Outbox,
                 link: BrokerLink) -> None:
        self.settings = settings
        self.booth_id = booth_id
        self.version = version
        self.outbox = outbox
        self.link = link
        self.provider: Callable[[], dict[str, Any]] | None = None
        self.boot = 0
        self.install_id: str | None = None
        self.started_at = time.monotonic()
        self.dirty = True
        self._last = 0.0
        self._next_telemetry = 0.0

    def refresh_now(self) -> None:
        """The next sender step publishes the status (a booth state change, central asked)."""
        self.dirty = True
        self._last = 0.0

    def deadlines(self) -> list[float]:
        return [self._next_telemetry] + ([self._last + STATUS_MIN_INTERVAL_S] if self.dirty else [])

    def telemetry_due(self, now: float) -> bool:
        """Publish telemetry if its interval is over (and mark the status due); True when it did."""
        if now < self._next_telemetry:
            return False
        self._next_telemetry = now + self.settings.telemetry_interval_s
        self._publish_telemetry()
        self.dirty = True
        return True

    def publish_if_due(self, now: float) -> None:
        if self.dirty and now - self._last >= STATUS_MIN_INTERVAL_S:
            self.publish()

    def status(self, *, online: bool, state: str | None = None) -> p.Status:
        try:
            provided = dict(self.provider() or {}) if self.provider else {}
        except Exception:
            log.exception("uplink: status_provider failed")
            provided = {"state": "unknown"}
        temp = provided.get("cpu_temp_c", cpu_temp_c())
        return p.Status(booth=self.booth_id, boot=self.boot, online=online,
                        state=state or provided.get("state") or "unknown", session=provided.get("session"),
                        queue_depth=self.outbox.backlog(), disk_free_mb=round(self.outbox.disk_free_mb(), 1),
                        cpu_temp_c=temp, version=self.version, install_id=self.install_id, ts=p.utc_now())

    def publish(self) -> None:
        """Publish the retained status now."""
        try:
            status = self.status(online=True)
        except ValueError as error:  # a bad session from the provider: report state without it
            log.error("uplink: status not valid: %s", str(error).splitlines()[0])
            status = p.Status(booth=self.booth_id, boot=self.boot, online=True, state="unknown",
                              queue_depth=self.outbox.backlog(), disk_free_mb=round(self.outbox.disk_free_mb(), 1),
                              version=self.version, install_id=self.install_id, ts=p.utc_now())
        self.link.publish(p.status_topic(self.booth_id), p.encode(status), p.QOS_STATUS, retain=True)
        self.dirty = False
        self._last = time.monotonic()

    def _publish_telemetry(self) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.MessageExpiryInterval = p.TELEMETRY_EXPIRY_S
        try:
            provided = self.provider() if self.provider else {}
            temp = provided.get("cpu_temp_c", cpu_temp_c())
        except Exception:
            temp = cpu_temp_c()
        telemetry = p.Telemetry(booth=self.booth_id, ts=p.utc_now(), cpu_temp_c=temp,
                                disk_free_mb=round(self.outbox.disk_free_mb(), 1),
                                mem_used_mb=round(psutil.virtual_memory().used / 2**20, 1),
                                uptime_s=round(time.monotonic() - self.started_at, 1),
                                queue_depth=self.outbox.backlog())
        self.link.publish(p.telemetry_topic(self.booth_id), p.encode(telemetry), p.QOS_TELEMETRY,
                          properties=props)
