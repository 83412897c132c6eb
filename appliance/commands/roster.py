"""``booth roster import FILE.csv`` and ``booth roster classes``."""

from __future__ import annotations

import argparse
import sys

from appliance.commands.common import add_config_options, config_from_args
from boothcore import db
from boothcore.cli import existing_file
from boothcore.roster import Roster, RosterImportError, read_roster_file
from boothcore.text import counted

DATABASE = "booth.db"  # in the data folder (appliance.app opens the same file)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("roster", help="the graduates' roster")
    actions = parser.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    importer = actions.add_parser("import", help="import a roster CSV (all rows valid, or nothing)")
    add_config_options(importer)
    importer.add_argument("file", metavar="FILE.csv", type=existing_file)
    importer.set_defaults(func=import_roster)
    classes = actions.add_parser("classes", help="list the classes on the roster")
    add_config_options(classes)
    classes.set_defaults(func=list_classes)




def import_roster(args: argparse.Namespace) -> int:
    """Exit 2 with the report when the file is refused; the database is opened (created) only after."""
    config = config_from_args(args)
    try:
        entries = read_roster_file(args.file)
    except RosterImportError as error:
        print(error.report(), file=sys.stderr)
        return 2
    roster = Roster(db.connect(config.data_dir / DATABASE))
    written = roster.upsert(entries)
    classes = len({(entry.college, entry.class_name) for entry in entries})
    print(f"imported {counted(written, 'graduate')} in {counted(classes, 'class', 'classes')}; "
          f"the roster now holds {roster.count()}")
    year = config.booth.graduation_year
    if not any(entry.graduation_year == year for entry in entries):
        years = ", ".join(str(each) for each in sorted({entry.graduation_year for entry in entries}))
        print(f"warning: none of them graduates in booth.graduation_year {year} (the file's years: {years}): "
              f"the booth refuses every one as not this year; import {year}'s roster, or fix "
              "booth.graduation_year", file=sys.stderr)
    return 0


def list_classes(args: argparse.Namespace) -> int:
    config = config_from_args(args, existing=DATABASE)
    for college, class_name, size in Roster(db.connect(config.data_dir / DATABASE)).classes():
        print(f"{college}\t{class_name}\t{size}")
    return 0
