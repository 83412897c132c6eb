"""The ``booth`` command line. Sub-commands live in ``appliance.commands``, one module each.

Every usage, start-up and command error ends the command with one line on stderr naming what is
wrong and what to do, and exit code 2 (``booth`` and ``booth-central`` alike); ``-v`` also logs the
traceback of an error that was not foreseen.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import NoReturn

from appliance import __version__
from appliance.config import ConfigError

EXIT_USAGE = 2

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
    "appliance.commands.pin_hash",
    "appliance.commands.screenshots",
)

log = logging.getLogger(__name__)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (argparse prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="booth", description="Diploma-photo booth")
    parser.add_argument("--version", action="version", version=f"booth {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def error_line(error: Exception) -> str | None:
    """The one line for an error the operator can act on, or None for one that was not foreseen.

    The modules are imported here, when an error happened, so the CLI starts without them.
    """
    from appliance.cardreader.base import ReaderError
    from appliance.quality.models import ModelError
    from central.local_broker import BrokerError
    from central.store import StoreUrlError

    if isinstance(error, ReaderError):
        return error.en
    if isinstance(error, ModelError | BrokerError | StoreUrlError):
        return str(error)
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.filename}: {error.strerror}: check that the path exists and this user may use it"
    return None


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse, set up logging, run the chosen command; any error is one line and exit 2.

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
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        line = error_line(error)
        if line is None:
            log.debug("unforeseen error", exc_info=True)
            line = (f"unexpected {type(error).__name__}: {error} (a bug: run again with -v for the traceback "
                    "and report it)")
        print(f"{parser.prog}: {line}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
