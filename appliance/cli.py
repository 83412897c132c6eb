"""The ``booth`` command line. Sub-commands live in ``appliance.commands``, one module each."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from appliance import __version__
from appliance.config import ConfigError

# Listed here so the import is explicit and a missing module fails loudly.
COMMANDS = (
    "appliance.commands.models",
    "appliance.commands.check_photo",
    "appliance.commands.roster",
    "appliance.commands.demo",
    "appliance.commands.run",
    "appliance.commands.read_card",
    "appliance.commands.retention",
    "appliance.commands.provision",
    "appliance.commands.doctor",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="booth", description="Diploma-photo booth")
    parser.add_argument("--version", action="version", version=f"booth {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse, set up logging, run the chosen command; a config error is one line and exit 2.

    Shared by ``booth`` and ``booth-central``.
    """
    args = parser.parse_args(argv)
    # Roster, ledger, outbox and photos hold ID numbers and names: nothing we create is world-readable.
    os.umask(0o027)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
