"""Each option of ``booth`` and ``booth-central`` that has a default says it in ``--help``: the README
quotes those defaults, and a reader of ``--help`` alone should not have to guess them (trial:
``booth-central doctor --wait`` waited 60 s by default and its help did not say so)."""

from __future__ import annotations

import argparse

from appliance.cli import build_parser as booth_parser
from central.cli import build_parser as central_parser


def _options(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{path} {name}")
        elif action.option_strings:
            yield path, action


def test_every_option_with_a_default_names_it_in_its_help():
    missing = [f"{path} {action.option_strings[0]} (default {action.default!r})"
               for parser, program in ((booth_parser(), "booth"), (central_parser(), "booth-central"))
               for path, action in _options(parser, program)
               if action.default not in (None, False, [], argparse.SUPPRESS) and action.help
               and "default" not in action.help]
    assert not missing, missing
