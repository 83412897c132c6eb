"""``booth retention``: delete photo files central stored more than ``booth.photo_retention_days`` ago."""

from __future__ import annotations

import argparse
import json

from appliance.commands.common import add_config_options, config_from_args
from appliance.device.retention import purge_acked_photos
from appliance.uplink.outbox import Outbox


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("retention", help="delete photo files central acknowledged long enough ago")
    add_config_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    outbox = Outbox(config.data_dir / "booth.db", config.booth.id)
    try:
        report = purge_acked_photos(outbox, config.data_dir / "photos", config.booth.photo_retention_days,
                                    dry_run=args.dry_run)
    finally:
        outbox.close()
    if args.json:
        print(json.dumps({**report.to_json(), "dry_run": args.dry_run}))
    else:
        verb = "would delete" if args.dry_run else "deleted"
        print(f"retention: {verb} {len(report.deleted)} photo file(s), {report.freed_bytes / 1e6:.1f} MB "
              f"(acknowledged by central over {config.booth.photo_retention_days:g} days ago); "
              f"{report.already_gone} deleted earlier")
        for path in report.refused:
            print(f"retention: refused to delete {path}: outside {config.data_dir / 'photos'}")
    return 1 if report.refused else 0
