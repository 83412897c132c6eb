"""``booth doctor``: one line per check (ok / warn / fail) with the fix; exit 0 only when nothing fails."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from appliance.config import load_config
from appliance.device.doctor import Doctor, report_json
from appliance.device.provision import BOOTH_TOML


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help="check camera, reader, models, broker, disk, clock, ... and say "
                                   "what to fix")
    parser.add_argument("--config", default=str(BOOTH_TOML), metavar="FILE",
                        help=f"booth.toml (default: the provisioned {BOOTH_TOML})")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--config-only", action="store_true",
                        help="only load the configuration: exit 0 when valid, 2 with the reason when not "
                             "(booth.service's ExecCondition)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.config_only:
        config = load_config(args.config)  # ConfigError: one line and exit 2 (appliance.cli)
        print(f"config ok: {config.booth.id} from {args.config}")
        return 0
    checks = Doctor(Path(args.config)).run()
    report = report_json(checks)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for check in checks:
            print(check.line())
    return 0 if report["ok"] else 1
