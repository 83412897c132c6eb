"""Configuration plumbing the booth and the central office share: the one-line error, reading a
TOML file with overrides, creating the data folder.

Each program owns its own models (``appliance.config``, ``central.config``); this module only turns
files and validation errors into dicts and the one line an operator sees.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from boothcore.durable import why_unwritable


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line the operator sees."""


def one_line_error(error: ValidationError, raw: dict[str, Any], secret_keys: Collection[str] = ()) -> str:
    """The first validation error as the one line an operator sees (booth and central configs).

    The value of a key in ``secret_keys`` (``section.key``) is never part of the line: it goes to the
    log and to the booth's "not provisioned" screen, and a mistyped PIN is usually the real one."""
    first = error.errors()[0]
    loc = [str(p) for p in first["loc"]]
    key = ".".join(loc)
    message = first["msg"].removeprefix("Value error, ")
    if message.startswith(key.split(".")[0] + ".") or (loc and message.startswith(f"{loc[0]}.")):
        return f"config error: {message}"
    value: Any = raw
    for part in loc:
        value = value.get(part) if isinstance(value, dict) else None
    if first["type"] == "extra_forbidden":
        return f"config error: {key}: unknown key"
    if first["type"] == "missing":
        return f"config error: {key}: missing"
    if first["type"] == "string_type" and isinstance(value, int | float):  # TOML: pin = 1234, not "1234"
        message += ": write it in quotes"
    if key in secret_keys:
        return f"config error: {key} (value not shown): {message}"
    return f"config error: {key} = {value!r}: {message}"


def read_raw(path: str | Path | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The TOML file (or nothing: the embedded defaults) as a dict, with section overrides applied.

    Shared by the booth's and the central office's configuration loaders.
    """
    raw: dict[str, Any] = {}
    if path:
        try:
            # utf-8-sig: a byte-order mark (Windows editors write one) is not TOML; drop it.
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as error:
            raise ConfigError(f"config error: cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise ConfigError(f"config error: {path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at "
                              f"offset {error.start}): save it as UTF-8") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config error: {path} is not valid TOML: {error}") from None
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    return raw


def ensure_folder(path: Path, key: str) -> Path:
    """Create the data folder ``path`` (0750) when needed; ConfigError naming ``key`` when it cannot
    be created or written, so a bad data folder stops a command at start with one line."""
    where = f"config error: {key} = '{path}'"
    todo = f"set {key} to a folder this user may write (a missing one is created)"
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{where}: is a file, not a folder: {todo}")
    try:
        path.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{where}: cannot create the folder ({why_unwritable(path, error)}): {todo}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{where}: this user may not write there: fix its owner or {todo}")
    return path
