"""``booth run``: the booth service (what systemd starts on the Pi)."""

from __future__ import annotations

import argparse
import logging
import signal

from appliance.app import build_service
from appliance.commands.common import add_config_options, config_from_args

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the booth (camera, reader, button, screen, uplink)")
    add_config_options(parser)
    parser.set_defaults(func=run_booth)


def run_booth(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    service = build_service(config)
    signal.signal(signal.SIGTERM, lambda *_: service.loop.stop())
    log.info("booth %s running", config.booth.id)
    service.run()
    return 0
