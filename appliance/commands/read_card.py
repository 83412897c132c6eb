"""``booth read-card``: wait for one card on the configured reader and print what it says.

For installers and technicians checking a reader. Personal data is masked unless asked for.
Exit 0 on a read, 1 on a timeout or a refused card, 2 on a reader error; failures print one line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from appliance.cardreader.base import CardRefused, IdentityCard, ReaderError
from boothcore.cli import number_in
from boothcore.idnumber import IdNumberError, validate
from boothcore.privacy import mask_id, mask_name

EXIT_READ, EXIT_REFUSED, EXIT_READER_ERROR = 0, 1, 2
MAX_TIMEOUT_S = 3600.0  # a technician at the reader waits minutes; an hour bounds a forgotten check
FIELDS = ("kind", "name", "name_en", "gender", "nationality", "birth_date", "address", "id_number",
          "authority", "valid_from", "valid_to", "pass_number", "issue_count")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("read-card", help="wait for one ID card on the reader and print its fields")
    parser.add_argument("--reader", help="reader spec: simulated | sam:/dev/ttyUSB0[@baud] | pcsc[:name] | "
                                         "wedge:/dev/input/eventN (default: hardware.card_reader)")
    parser.add_argument("--config", help="booth.toml, for hardware.card_reader when --reader is not given")
    parser.add_argument("--timeout", type=number_in(0, MAX_TIMEOUT_S, above_low=True, unit="seconds"), default=30.0,
                        metavar="S",
                        help=f"seconds to wait for a card (more than 0, up to {MAX_TIMEOUT_S:g}; default 30)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--show-personal-data", action="store_true",
                        help="print the ID number, name and address in full (masked by default)")
    parser.set_defaults(func=run)


def refusal(card: IdentityCard) -> str | None:
    """Why the booth would not accept this card's number, or None (the checksum is only a sanity check)."""
    try:
        validate(card.id_number, kind=card.kind)
    except IdNumberError as error:
        return error.en
    return None


def _mask_address(address: str) -> str:
    return address[:3] + "*" * max(len(address) - 3, 0)


def card_fields(card: IdentityCard, show_personal_data: bool) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(card, name) for name in FIELDS}
    values["kind"] = str(card.kind)
    if card.long_term:
        values["valid_to"] = "长期"
    for name, value in values.items():
        if isinstance(value, dt.date):
            values[name] = value.isoformat()
    if not show_personal_data:
        values["id_number"] = mask_id(card.id_number)
        values["name"] = mask_name(card.name) if card.name else None
        values["name_en"] = mask_name(card.name_en) if card.name_en else None
        values["address"] = _mask_address(card.address) if card.address else None
        values["pass_number"] = mask_name(card.pass_number) if card.pass_number else None
    values["photo_bytes"] = len(card.photo) if card.photo else 0
    values["needs_operator_confirmation"] = card.needs_operator_confirmation
    return {name: value for name, value in values.items() if value is not None}


def run(args: argparse.Namespace) -> int:
    from appliance.cardreader.spec import open_reader

    spec = args.reader
    if not spec:
        from appliance.config import load_config

        spec = load_config(args.config).hardware.card_reader
    try:
        reader = open_reader(spec)
    except ReaderError as error:
        print(f"read-card: {error.en}", file=sys.stderr)
        return EXIT_READER_ERROR
    try:
        card = reader.wait_for_card(args.timeout)
    except CardRefused as error:
        print(f"read-card: card refused: {error.en}", file=sys.stderr)
        return EXIT_REFUSED
    except ReaderError as error:
        print(f"read-card: reader error: {error.en}", file=sys.stderr)
        return EXIT_READER_ERROR
    finally:
        reader.close()
    if card is None:
        print(f"read-card: no card within {args.timeout:g} s", file=sys.stderr)
        return EXIT_REFUSED
    fields = card_fields(card, args.show_personal_data)
    if args.json:
        print(json.dumps(fields, ensure_ascii=False))
    else:
        width = max(map(len, fields))
        for name, value in fields.items():
            print(f"{name:<{width}}  {value}")
    why = refusal(card)
    if why:
        print(f"read-card: card refused: {why}", file=sys.stderr)
        return EXIT_REFUSED
    if card.needs_operator_confirmation:
        print("read-card: a typed number: the operator must check it against the card", file=sys.stderr)
    return EXIT_READ
