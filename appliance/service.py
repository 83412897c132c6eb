"""A running booth: the loop, the GPIO panel and the uplink around the assembled parts.

``booth run`` and ``booth demo`` both go through here, so the simulated booth runs the same
wiring as the one on the Pi.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from appliance.app import BoothParts
from appliance.hardware.gpio import BoothPanel, open_panel
from appliance.runtime import BoothLoop, attach_panel
from appliance.supervision import ServiceNotifier
from appliance.uplink.client import Uplink
from appliance.uplink_bridge import BoothBridge, UplinkOffice, reconcile_uploads

log = logging.getLogger(__name__)


class BoothService:
    def __init__(self, parts: BoothParts, *, panel: BoothPanel | None = None, broker_url: str | None = None) -> None:
        """``panel``: the GPIO panel (default: opened now on ``config.hardware``); ``booth run`` opens it
        before anything else, so a pin factory that cannot load stops the start at once. The service
        owns it from here."""
        config = parts.config
        self.parts = parts
        self.loop = BoothLoop(parts.booth, parts.reader, display=parts.display)
        db_path = config.data_dir / "booth.db"
        bridge = BoothBridge(parts.booth, self.loop, db_path)
        settings = config.uplink if broker_url is None else config.uplink.model_copy(
            update={"broker_url": broker_url})
        self.uplink = Uplink(settings, config.booth.id, db_path, status_provider=bridge.status,
                             on_command=bridge.command, on_photo_acked=bridge.photo_acked)
        parts.booth.office = UplinkOffice(self.uplink)
        parts.booth.listeners.append(lambda previous, state: self.uplink.publish_status())
        self.panel = panel or open_panel(config.hardware)
        attach_panel(self.loop, self.panel)
        self.notifier = ServiceNotifier(parts.booth, self.uplink)
        self.loop.heartbeats.append(self.notifier.beat)

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Connect the uplink, queue what a crash left behind, serve until stopped."""
        self.uplink.start()
        queued = reconcile_uploads(self.parts.booth, self.uplink)
        if queued:
            log.warning("booth: %d saved photo(s) were missing from the outbox after a crash; queued now", queued)
        try:
            self.loop.run(until)
        finally:
            self.close()

    def close(self) -> None:
        self.notifier.stopping()
        self.uplink.stop()
        self.panel.close()
        self.parts.close()
