"""``booth hash-pin``: turn the operator PIN into the ``operator.pin_hash`` line for booth.toml.

``pin-hash``, the command's first name, is kept as an alias (argparse ``aliases``) for scripts that use it.
"""

from __future__ import annotations

import argparse
import sys

from appliance.operator_pin import PIN_PATTERN, hash_pin
from boothcore.cli import read_secret


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("hash-pin", aliases=["pin-hash"],
                                   help="print operator.pin_hash for a PIN (read from the terminal or standard "
                                   "input, never from the command line)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    pin = read_secret("operator PIN").strip()
    if not PIN_PATTERN.fullmatch(pin):
        print("hash-pin: the PIN must be 4-8 digits", file=sys.stderr)
        return 2
    print(f'pin_hash = "{hash_pin(pin)}"')
    return 0
