"""``booth run``: the booth service (what systemd starts on the Pi)."""

from __future__ import annotations

import argparse
import logging
import signal

from appliance.app import build_booth
from appliance.commands.common import add_config_options, config_from_args
from appliance.hardware.gpio import open_panel
from appliance.service import BoothService
from appliance.ui.factory import display_for

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the booth (camera, reader, button, screen, uplink)")
    add_config_options(parser)
    parser.set_defaults(func=run_booth)


def run_booth(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    panel = open_panel(config.hardware)  # a pin factory that cannot load stops the start here, exit 2
    try:
        parts = build_booth(config, display=display_for(config.hardware))
    except BaseException:
        panel.close()
        raise
    service = BoothService(parts, panel=panel)
    signal.signal(signal.SIGTERM, lambda *_: service.loop.stop())
    log.info("booth %s running", config.booth.id)
    service.run()
    return 0
