"""The ``booth`` command line. Sub-commands live in ``appliance.commands``, one module each; the
runner and its one-line errors are ``boothcore.cli``'s, shared with ``booth-central``.

Programs that run the booth together with the central office (``booth demo``, from ``fleetdemo``)
add their sub-commands through the ``booth.commands`` entry-point group, so the booth never imports
the office.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import entry_points

from appliance import __version__
from boothcore import cli as core_cli
from boothcore.cli import EXIT_USAGE, OneLineParser, run_command

# Listed here so the import is explicit and a missing module fails loudly.
COMMANDS = (
    "appliance.commands.models",
    "appliance.commands.check_photo",
    "appliance.commands.roster",
    "appliance.commands.run",
    "appliance.commands.read_card",
    "appliance.commands.retention",
    "appliance.commands.provision",
    "appliance.commands.doctor",
    "appliance.commands.hash_pin",
    "appliance.commands.screenshots",
)
# Packages that depend on the booth register sub-commands here (pyproject.toml [project.entry-points]).
PLUGIN_GROUP = "booth.commands"
# The project's own packages: a module of these that is missing is a broken install, not a missing extra.
OWN_PACKAGES = ("appliance", "boothcore", "central", "fleetdemo")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="booth", description="Diploma-photo booth")
    parser.add_argument("--version", action="version", version=f"booth {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    for plugin in sorted(entry_points(group=PLUGIN_GROUP), key=lambda point: point.name):
        plugin.load().register(subparsers)
    return parser


def missing_extra_line(error: ModuleNotFoundError) -> str | None:
    """The one line for a library of the ``booth`` extra that is not installed, else None.

    ``pip install '.[central]'`` installs this script too (a console script cannot depend on an
    extra), without NumPy, OpenCV or pygame, which the sub-commands import.
    """
    if error.name is None or error.name.partition(".")[0] in OWN_PACKAGES:
        return None
    return (f"the Python module {error.name!r} is not installed: the booth needs the 'booth' extra "
            "(pip install 'diploma-booth[booth]'; on the office, booth-central is the command)")


def error_line(error: Exception) -> str | None:
    """The one line for an error the operator can act on, or None for one that was not foreseen.

    The modules are imported here, when an error happened, so the CLI starts without them.
    """
    from appliance.cardreader.base import ReaderError
    from appliance.quality.models import ModelError

    if isinstance(error, ReaderError):
        return error.en
    if isinstance(error, ModelError):
        return str(error)
    return core_cli.error_line(error)


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except ModuleNotFoundError as error:
        line = missing_extra_line(error)
        if line is None:
            raise
        print(f"booth: {line}", file=sys.stderr)
        return EXIT_USAGE
    return run_command(parser, argv, error_line)


if __name__ == "__main__":
    sys.exit(main())
