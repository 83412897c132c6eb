"""Options every booth command shares: which config file, which data folder."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.config import BoothConfig, load_config
from boothcore.cli import CommandError
from boothcore.config import ensure_folder


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="booth.toml (default: the embedded defaults)")
    parser.add_argument("--data", metavar="DIR", help="data folder (overrides booth.data_dir)")


def config_from_args(args: argparse.Namespace, overrides: dict[str, Any] | None = None, *,
                     existing: str | None = None) -> BoothConfig:
    """The configuration, with its data folder created (a ConfigError names ``--data`` or
    ``booth.data_dir`` when the folder cannot be made or written). ``existing`` (a command that
    only reads): the file of the data folder it reads, which must be there; nothing is created, and a
    missing one (a mistyped ``--data``) is one line."""
    overrides = {section: dict(values) for section, values in (overrides or {}).items()}
    if getattr(args, "data", None):
        overrides.setdefault("booth", {})["data_dir"] = args.data
    config = load_config(getattr(args, "config", None), overrides)
    key = "--data" if getattr(args, "data", None) else "booth.data_dir"
    if existing is None:
        ensure_folder(config.data_dir, key)
    elif not (config.data_dir / existing).is_file():
        raise CommandError(f"{key} = '{config.data_dir}': no booth data there (no {existing}): check the folder, "
                           "or import a roster first (booth roster import FILE.csv)")
    return config
