"""Configuration plumbing the booth and the central office share: the one-line error, reading a
TOML file with overrides, creating the data folder.

Each program owns its own models (``appliance.config``, ``central.config``); this module only turns
files and validation errors into dicts and the one line an operator sees.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
import types
from collections.abc import Collection
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from boothcore.durable import why_unwritable


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line the operator sees."""


# What a TOML scalar key takes, in words, by its annotation.
_SCALAR_WORDS: dict[object, str] = {bool: "true or false", int: "a whole number", float: "a number"}


def _scalar_words(annotation: object) -> str | None:
    """``_SCALAR_WORDS`` of ``annotation`` (``int``, ``float | None``, ...), None for other types."""
    options = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    words = [_SCALAR_WORDS[option] for option in options if option in _SCALAR_WORDS]
    return words[0] if words and all(option in _SCALAR_WORDS or option is type(None) for option in options) else None


class ConfigSection(BaseModel):
    """A section of a config file: an unknown key is refused, and so is a number or true/false written
    as text (``graduation_year = "2027"``). TOML has those types, so the quotes are a slip; pydantic's
    lax mode would convert the text silently, its strict mode would also refuse the text TOML gives
    paths, times and tuples, so only the scalar keys are checked here. A folder key given "" is
    refused too: ``Path("")`` is the working directory (``/`` under systemd), where a technician who
    wrote "" meant the default, as "" means for the other keys that take it."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_quoted_scalar(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and info.field_name is not None:
            field = cls.model_fields[info.field_name]
            words = _scalar_words(field.annotation)
            if words:
                raise ValueError(f"must be {words}, written without quotes")
            if field.annotation is Path and not value.strip():
                raise ValueError(f"must name a folder: leave the key out for the default ({field.default})")
        return value


def _known_keys(model: type[BaseModel] | None, section: list[str]) -> list[str]:
    """The keys ``model`` takes at ``section`` (a path of section names; [] = the top level)."""
    for part in section:
        field = model.model_fields.get(part) if model else None
        annotation = field.annotation if field else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return list(model.model_fields) if model else []


_KEYS_LISTED = 12  # an unknown key's line lists the section's keys up to this many (it stays one line)


def unknown_key_line(loc: list[str], known: list[str]) -> str:
    """The line for the unknown section (``loc`` of one name) or key ``loc`` beside the ``known`` ones:
    ``[Booth]: unknown section: did you mean [booth]? ...``, ``booth.Id: unknown key: did you mean booth.id?``"""
    name = loc[-1]
    same = [key for key in known if key.lower() == name.lower()] or difflib.get_close_matches(name, known, 1)
    if len(loc) == 1:
        hint = f"did you mean [{same[0]}]? " if same else ""
        return f"[{name}]: unknown section: {hint}(the sections: {', '.join(f'[{key}]' for key in known)})"
    prefix = ".".join(loc[:-1])
    if same:
        return f"{prefix}.{name}: unknown key: did you mean {prefix}.{same[0]}?"
    listed = f"[{prefix}] takes {', '.join(known)}" if len(known) <= _KEYS_LISTED else \
        f"the keys of [{prefix}] are in the documented config file"
    return f"{prefix}.{name}: unknown key ({listed})"


def one_line_error(error: ValidationError, raw: dict[str, Any], secret_keys: Collection[str] = (),
                   model: type[BaseModel] | None = None) -> str:
    """The first validation error as the one line an operator sees (booth and central configs).

    The value of a key in ``secret_keys`` (``section.key``) is never part of the line: it goes to the
    log and to the booth's "not provisioned" screen, and a mistyped PIN is usually the real one.
    ``model`` (the config's model) lets an unknown section or key be answered with the known one
    (``[System]`` for ``[system]``)."""
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
        return f"config error: {unknown_key_line(loc, _known_keys(model, loc[:-1]))}"
    if first["type"] == "missing":
        return f"config error: {key}: missing"
    if first["type"] == "string_type" and isinstance(value, int | float):  # TOML: pin = 1234, not "1234"
        message += ": write it in quotes"
    if first["type"] == "list_type" and isinstance(value, str):  # TOML: service = "08:00-12:00", no brackets
        message += f": write it in brackets, e.g. {json.dumps([value], ensure_ascii=False)}"
    elif first["type"] == "tuple_type" and isinstance(value, str):  # background_rgb = "100,197,255"
        message += ": write its numbers in brackets, as the documented config file shows"
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
