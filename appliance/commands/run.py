"""``booth run``: the booth service (what systemd starts on the Pi)."""

from __future__ import annotations

import argparse
import logging
import signal

from appliance.app import build_booth
from appliance.commands.common import add_config_options, config_from_args
from appliance.hardware.gpio import BoothPanel
from appliance.runtime import BoothLoop, attach_panel, ui_events
from appliance.ui.factory import open_display
from appliance.uplink.client import Uplink
from appliance.uplink_bridge import BoothBridge, reconcile_uploads

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the booth (camera, reader, button, screen, uplink)")
    add_config_options(parser)
    parser.set_defaults(func=run_booth)


def run_booth(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    display = open_display(config.hardware.screen)
    parts = build_booth(config, display=display)
    loop = BoothLoop(parts.booth, parts.reader)
    loop.pump_inputs = ui_events(display, loop)
    bridge = BoothBridge(parts.booth, loop, config.data_dir / "booth.db")
    uplink = Uplink(config.uplink, config.booth.id, config.data_dir / "booth.db", status_provider=bridge.status,
                    on_command=bridge.command, on_photo_acked=bridge.photo_acked)
    parts.booth.uplink = uplink
    parts.booth.listeners.append(lambda previous, state: uplink.publish_status())
    panel = BoothPanel(config.hardware)
    attach_panel(loop, panel)
    uplink.start()
    queued = reconcile_uploads(parts.booth, uplink)
    if queued:
        log.warning("booth: %d saved photo(s) were not in the outbox after a crash; queued now", queued)
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    log.info("booth %s running", config.booth.id)
    try:
        loop.run()
    finally:
        uplink.stop()
        panel.close()
        parts.close()
    return 0
