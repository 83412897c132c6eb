"""A running booth: the loop, the GPIO panel and the uplink around the assembled parts.

``booth run`` and ``booth demo`` both go through here (built by ``appliance.app.build_service``),
so the simulated booth runs the same wiring as the one on the Pi.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from appliance.hardware.gpio import BoothPanel
from appliance.parts import BoothParts
from appliance.runtime import BoothLoop
from appliance.supervision import ServiceNotifier
from appliance.uplink.client import Uplink
from appliance.uplink_bridge import booth_status, reconcile_uploads

log = logging.getLogger(__name__)


class BoothService:
    """Runs what ``appliance.app.build_service`` assembled; ``run()`` once, it closes everything."""

    def __init__(self, parts: BoothParts, *, loop: BoothLoop, uplink: Uplink, panel: BoothPanel,
                 notifier: ServiceNotifier) -> None:
        self.parts = parts
        self.loop = loop
        self.uplink = uplink
        self.panel = panel
        self.notifier = notifier

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Connect the uplink, queue what a crash left behind, serve until stopped."""
        booth = self.parts.booth
        self.uplink.start(lambda: booth_status(booth))
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
