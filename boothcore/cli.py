"""The command-line plumbing ``booth`` and ``booth-central`` share: one-line usage errors, the
command runner, argparse types for input paths and numbers.

Every usage, start-up and command error ends the command with one line on stderr naming what is
wrong and what to do, and exit code 2; ``-v`` also logs the traceback of an error that was not foreseen.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

from boothcore.config import ConfigError
from boothcore.privacy import MaskIdNumbers, mask_ids_in

EXIT_USAGE = 2

log = logging.getLogger(__name__)
MASK_ID_NUMBERS = MaskIdNumbers()


class CommandError(Exception):
    """An error the operator can act on whose text is the whole line (printed after ``prog: ``)."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (argparse prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def existing_file(text: str) -> Path:
    """argparse ``type=`` for an input file: a missing one is a usage error (one line, exit 2)."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}" if not path.exists() else f"not a file: {text}")
    return path


def existing_folder(text: str) -> Path:
    """argparse ``type=`` for an input folder: a missing one is a usage error (one line, exit 2)."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text}" if not path.exists() else f"not a folder: {text}")
    return path


def read_secret(prompt: str, *, confirm: bool = False) -> str:
    """A password or PIN, never from the command line (it would show in ``ps`` and the shell's
    history): typed at the terminal without echo (``confirm``: twice, CommandError when the two
    differ), or the first line of standard input when that is not a terminal (scripts, tests)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    secret = getpass.getpass(f"{prompt}: ")
    if confirm and getpass.getpass(f"{prompt} (again): ") != secret:
        raise CommandError("the two entries differ: nothing was changed, try again")
    return secret


def overwrite_refusal(option: str, targets: Iterable[Path], instead: str) -> str | None:
    """The one line refusing to replace the first of ``targets`` (files a command would write) that
    exists, or None when none does; ``instead`` says what to name instead ("name a new file").

    A command checks before it writes anything, so a refusal leaves nothing half-written; one that
    may replace files takes ``--force`` to skip the check (the line offers it).
    """
    existing = next((path for path in targets if path.exists()), None)
    if existing is None:
        return None
    return f"{option}: {existing} already exists: {instead}, or add --force to replace it"


def number_in(low: float, high: float, *, integer: bool = False, above_low: bool = False,
              unit: str = "") -> Callable[[str], float]:
    """argparse ``type=`` for a number from ``low`` to ``high`` (more than ``low`` when ``above_low``);
    anything else (not a number, nan, out of range) is a usage error naming the range (one line, exit 2).

    ``unit`` ("seconds") follows the range in that line. An ``integer`` option gives an ``int``.
    """
    bounds = (f"more than {low:g} and at most {high:g}" if above_low else f"from {low:g} to {high:g}") + (
        f" {unit}" if unit else "")
    wanted = "a whole number" if integer else "a number"

    def parse(text: str) -> float:
        try:
            value: float = int(text) if integer else float(text)
        except ValueError:
            value = math.nan
        if not (low < value if above_low else low <= value) or not value <= high:  # nan fails both
            raise argparse.ArgumentTypeError(f"{text!r}: give {wanted} {bounds}")
        return value

    parse.__name__ = "whole number" if integer else "number"  # argparse names the type by it in some messages
    return parse


def error_line(error: Exception) -> str | None:
    """The one line for an error the operator can act on, or None for one that was not foreseen."""
    if isinstance(error, CommandError):
        return str(error)
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.filename}: {error.strerror}: check that the path exists and this user may use it"
    return None


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None,
                describe: Callable[[Exception], str | None] = error_line) -> int:
    """Parse, set up logging, run the chosen command; any error is one line and exit 2.

    ``describe`` turns a program's own foreseen errors into their line (default: ``error_line``).
    """
    args = parser.parse_args(argv)
    # Roster, ledger, outbox and photos hold ID numbers and names: nothing we create is world-readable.
    os.umask(0o027)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # every line of either program, whichever logger wrote it:
        handler.addFilter(MASK_ID_NUMBERS)       # a photo's path, a traceback or a peer's text carry ID numbers
    try:
        return int(args.func(args) or 0)
    except ConfigError as error:
        print(error, file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        line = describe(error)
        if line is None:
            log.debug("unforeseen error", exc_info=True)
            line = (f"unexpected {type(error).__name__}: {error} (a bug: run again with -v for the traceback "
                    "and report it)")
        print(f"{parser.prog}: {mask_ids_in(line)}", file=sys.stderr)  # an OSError's path may name a person
    return EXIT_USAGE
