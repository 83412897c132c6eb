"""The ``booth-central`` command line: run the ingest, import the roster, push it to booths."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from boothcore.cli import (
    CommandError,
    OneLineParser,
    existing_file,
    number_in,
    overwrite_refusal,
    read_secret,
    run_command,
)
from boothcore.config import ensure_folder
from boothcore.durable import why_unwritable, write_atomic
from boothcore.names import normalize_name
from boothcore.roster import RosterImportError, read_roster_file
from boothcore.text import counted
from central.config import MAX_WORKERS, CentralConfig, load_central_config

if TYPE_CHECKING:
    from central.store import SqlStore
    from central.users import User, Users

# ``flag --by``: the name the audit trail records (a dashboard user name is at most 32 characters).
MAX_ACTOR = 64
# ``doctor --wait``: a booth answers within seconds when online; an hour bounds a forgotten wait.
MAX_DOCTOR_WAIT_S = 3600.0


def _config(args: argparse.Namespace, *, existing: bool = False, create: str | None = None) -> CentralConfig:
    """The configuration, with its data folder created (one line naming storage.data_dir if it cannot be);
    ``existing`` (a command that only reads or changes a store): nothing is created, and a store that
    is not there is one line (``require_store``) naming ``create``, the commands that make one."""
    from central.store import require_store

    overrides: dict[str, dict[str, object]] = {}
    if getattr(args, "client_id", None):
        overrides.setdefault("broker", {})["client_id"] = args.client_id
    if getattr(args, "workers", None) is not None:
        overrides.setdefault("ingest", {})["workers"] = args.workers
    config = load_central_config(args.config, overrides)
    if existing:
        require_store(config, args.config, create=create)
    else:
        ensure_folder(config.data_dir, "storage.data_dir")
    return config


def _unreachable(config: CentralConfig, error: OSError) -> str:
    return (f"booth-central: cannot reach the broker {config.broker.url} ({error.strerror or error}): start it "
            "or fix broker.url")


def _http_address(text: str) -> str:
    """HOST:PORT for --http (checked by the same rule as web.http)."""
    from central.config import WebSection

    try:
        WebSection(http=text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8080)") from None
    return text


def _web_config(args: argparse.Namespace) -> CentralConfig:
    """``serve`` and ``web`` create a store only with ``--migrate``: a service started on a mistyped
    storage.data_dir must not run a fresh, empty office beside the real one."""
    config = _config(args, existing=not args.migrate,
                     create=f"booth-central {args.command} --migrate, or booth-central migrate")
    if getattr(args, "http", None):
        config = config.model_copy(update={"web": config.web.model_copy(update={"http": args.http})})
    return config


def _ask_fleet_status(config: CentralConfig) -> None:
    """The office (re)started: every booth it knows publishes its status again (in the background:
    the ingest starts at once, and an unreachable broker is the ingest's to report)."""
    from central.commands import ask_fleet_status
    from central.store import open_office_store

    store = open_office_store(config)
    try:
        booths = ask_fleet_status(config, store)
        logging.getLogger("central").info("asked %d booth(s) to publish their status again", len(booths))
    except OSError as error:
        logging.getLogger("central").warning("could not ask the booths for their status: %s", error)
    finally:
        store.close()


def _checked_store(config: CentralConfig, migrate: bool) -> None:
    """Open the store once before starting (``migrate``: bring it up to this build first), so a store
    that is unreachable, not migrated or newer than this build stops the command with one line."""
    from central.store import open_office_store

    open_office_store(config, migrate=migrate).close()


def _migrate(args: argparse.Namespace) -> int:
    from central.sql import safe_url
    from central.store import migrate_store

    config = _config(args)
    before, after = migrate_store(config.storage.db_url, base=config.data_dir)
    change = f"migrated from schema version {before} to {after}" if before != after else \
        f"already at schema version {after}"
    print(f"{safe_url(config.storage.db_url)}: {change}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from central.ingest import run_ingest

    config = _web_config(args)
    _checked_store(config, args.migrate)
    threading.Thread(target=_ask_fleet_status, args=(config,), name="ask-status", daemon=True).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    logging.getLogger("central").info("serving %s with %d worker(s), data in %s", config.broker.url,
                                      config.ingest.workers, config.data_dir)
    if args.http:
        from central.web.server import DashboardServer

        with DashboardServer(config) as server:
            logging.getLogger("central").info("dashboard at %s", server.url)
            return run_ingest(config, config.ingest.workers, stop)
    return run_ingest(config, config.ingest.workers, stop)


def _web(args: argparse.Namespace) -> int:
    from central.web.server import DashboardServer

    config = _web_config(args)
    _checked_store(config, args.migrate)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with DashboardServer(config) as server:
        print(f"dashboard at {server.url} (data in {config.data_dir})", flush=True)
        while not stop.wait(0.5) and server.running:
            pass
    return 0


def _on_users(args: argparse.Namespace, change: Callable[[Users], str], *, existing: bool = True) -> int:
    """Run ``change`` on the users of the store (``existing``: it must be there already) and print the
    line it returns; a UserError is one line, exit 2."""
    from central.store import open_office_store
    from central.users import UserError, Users

    store = open_office_store(_config(args, existing=existing))
    try:
        line = change(Users(store.conn))
    except UserError as error:
        print(f"booth-central: {error}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(line)
    return 0


def _described(user: User) -> str:
    return f"{user.name} ({user.role}{', ' + user.college if user.college else ''})"


def _user_add(args: argparse.Namespace) -> int:
    def add(users: Users) -> str:
        password = read_secret(f"password for {args.name}", confirm=True)
        return f"added {_described(users.add(args.name, args.role, password, args.college))}"

    return _on_users(args, add, existing=False)  # the first user of a new office creates its store


def _user_list(args: argparse.Namespace) -> int:
    """Every dashboard user: name, role, college (never a password hash)."""
    def listing(users: Users) -> str:
        return "\n".join(f"{u.name}\t{u.role}\t{u.college or '-'}" for u in users.users()) or \
            "no dashboard user yet: add one with booth-central user add NAME --role admin"

    return _on_users(args, listing)


def _user_remove(args: argparse.Namespace) -> int:
    return _on_users(args, lambda users: f"removed {_described(users.remove(args.name))}; their logins ended")


def _user_passwd(args: argparse.Namespace) -> int:
    from central.users import UserError

    def reset(users: Users) -> str:
        if users.user(args.name) is None:  # before asking for a password that could not be used
            raise UserError(f"no user {args.name!r} (booth-central user list shows them)")
        users.set_password(args.name, read_secret(f"new password for {args.name}", confirm=True))
        return f"new password set for {args.name}; their open logins ended"

    return _on_users(args, reset)


def _export(args: argparse.Namespace) -> int:
    from central.export import ExportError, export_chsi, fees_csv, fees_rows, missing_csv, missing_rows
    from central.store import open_office_store

    config = _config(args, existing=True)
    store = open_office_store(config)
    try:
        if (args.college or args.class_name) and not store.roster(college=args.college, class_name=args.class_name):
            print(f"booth-central: no class {args.college or '*'} / {args.class_name or '*'} in the roster: check "
                  "--college and --class", file=sys.stderr)
            return 2
        if args.what == "chsi":
            try:
                report = export_chsi(store, config.data_dir, args.out, college=args.college,
                                     class_name=args.class_name, as_zip=args.zip)
            except ExportError as error:
                print(f"booth-central: {error}", file=sys.stderr)
                return 2
            for name, why in report.refused:
                print(f"refused {name}: {why}")
            summary = (f"{report.written} photo(s), {len(report.refused)} refused, {report.missing} missing,"
                       f" in {report.folder}")
        else:
            if args.out.is_dir():
                print(f"booth-central: --out {args.out}: is a folder; name the CSV file to write", file=sys.stderr)
                return 2
            text = (missing_csv(missing_rows(store, None, args.college, args.class_name)) if args.what == "missing"
                    else fees_csv(fees_rows(store, None)))
            try:
                write_atomic(args.out, text.encode("utf-8"), overwrite=args.force)
            except OSError as error:
                refusal = overwrite_refusal("--out", [args.out], "name a new file") \
                    if isinstance(error, FileExistsError) and args.out.is_file() else None
                if refusal:
                    print(f"booth-central: {refusal}", file=sys.stderr)
                else:
                    print(f"booth-central: --out {args.out}: cannot write there: {why_unwritable(args.out, error)}; "
                          "name a file in a folder this user may write", file=sys.stderr)
                return 2
            summary = f"{text.count(chr(10)) - 1} row(s) in {args.out}"
        _audit(store, f"export_{args.what}", summary)
    finally:
        store.close()
    print(summary)
    return 0


def _audit(store: SqlStore, action: str, detail: str) -> None:
    """An office change made from this command line, in the dashboard's audit trail (actor "cli")."""
    from central.users import Users

    Users(store.conn).audit("cli", action, detail)


def _roster_import(args: argparse.Namespace) -> int:
    from central.commands import push_roster, require_known_booths
    from central.store import open_office_store

    config = _config(args)
    try:
        entries = read_roster_file(args.file)
    except RosterImportError as error:
        print(error.report(), file=sys.stderr)
        return 2
    store = open_office_store(config)
    try:
        if args.push and "all" not in args.push:
            require_known_booths(config, store, args.push)  # before the import: nothing done
        count = store.import_roster(entries)
        classes = len({(entry.college, entry.class_name) for entry in entries})
        _audit(store, "roster_import", f"{counted(count, 'row')} from {args.file.name}")
        print(f"imported {counted(count, 'graduate')} in {counted(classes, 'class', 'classes')} from {args.file}")
        if args.push:
            try:
                sent = push_roster(config, store, args.push, entries)
            except OSError as error:
                print(_unreachable(config, error) + "; the roster is imported, push it again with --push",
                      file=sys.stderr)
                return 2
            print(f"pushed roster_update to {len(sent)} booth(s): {', '.join(sent)}")
    finally:
        store.close()
    return 0


def _schedule_import(args: argparse.Namespace) -> int:
    from central.schedule import ScheduleImportError, read_schedule_file
    from central.store import open_office_store

    config = _config(args, existing=True)
    store = open_office_store(config)
    try:
        classes = {(e.college, e.class_name) for e in store.roster()}
        try:
            slots = read_schedule_file(args.file, classes, config.web.zone)
        except ScheduleImportError as error:
            print(error.report(), file=sys.stderr)
            return 2
        count = store.import_schedule(slots)
        colleges = ", ".join(sorted({slot.college for slot in slots}))
        _audit(store, "schedule_import", f"{counted(count, 'slot')} of {colleges} from {args.file.name}")
    finally:
        store.close()
    print(f"imported {counted(count, 'schedule slot')} of {colleges} from {args.file} (times in "
          f"{config.web.timezone})")
    return 0


def _flag(args: argparse.Namespace) -> int:
    """Flag a student's current photo for a retake: the dashboard's flag (central.retakes), from here."""
    from boothcore.idnumber import IdNumberError, validate
    from boothcore.privacy import mask_id
    from central.retakes import FlagError, flag_photo
    from central.store import open_office_store

    try:
        id_number = validate(args.id_number)
    except IdNumberError as error:
        print(f"booth-central flag: ID number {mask_id(args.id_number.strip())}: {error.en}", file=sys.stderr)
        return 2
    actor = " ".join(args.by.split())
    if not 1 <= len(actor) <= MAX_ACTOR or not actor.isprintable():
        print(f"booth-central flag: --by: give a name of 1-{MAX_ACTOR} printable characters", file=sys.stderr)
        return 2
    config = _config(args, existing=True)
    store = open_office_store(config)
    try:
        record = store.current_photo(id_number)
        if record is None:
            known = store.roster_entry(id_number) is not None
            print(f"booth-central flag: {mask_id(id_number)} " + (
                "has no current photo to flag (not photographed yet, or already flagged)" if known else
                "is not on the roster: check the number (booth-central roster import first)"), file=sys.stderr)
            return 2
        try:
            outcome = flag_photo(config, store, record, args.reason, actor)
        except FlagError as error:
            print(f"booth-central flag: {error}", file=sys.stderr)
            return 2
    finally:
        store.close()
    print(f"flagged photo {record.photo_id} of {mask_id(id_number)} ({record.college}/{record.class_name}) for a "
          "retake: the student is on the missing list again")
    if outcome.problem:
        print(f"booth-central flag: the booths were not told ({outcome.problem}); until they are (the photo "
              "page's 'tell the booths again'), the operator's override lets the student be photographed",
              file=sys.stderr)
        return 1
    print(f"told {len(outcome.booths)} booth(s) to allow the retake: {', '.join(outcome.booths)}" if outcome.booths
          else "no booth to tell yet (none seen, ingest.known_booths empty)")
    return 0


def _booths(args: argparse.Namespace) -> int:
    """Every booth central has heard from: state, boot, install id, and data resets it saw."""
    from central.store import open_office_store

    config = _config(args, existing=True)
    store = open_office_store(config)
    try:
        booths = store.booths()
    finally:
        store.close()
    if not booths:
        print("no booth has sent a status yet")
    for booth in booths:
        reset = f"; data reset {booth.resets} time(s), last at {booth.reset_at}" if booth.resets else ""
        print(f"{booth.booth}: {'online' if booth.online else 'offline'} ({booth.state}), boot {booth.boot},"
              f" install {booth.install_id or '-'}, last status {booth.received_at}{reset}")
    return 0


def _class_command(args: argparse.Namespace) -> int:
    """Open or close a class session on a booth (the teaching secretary's request, sent by the office)."""
    from central.commands import build_command, require_known_booths, send_commands
    from central.store import open_office_store

    config = _config(args, existing=True)
    data = {"college": args.college, "class": args.class_name} if args.action == "open" else {}
    command = build_command("open_class" if args.action == "open" else "close_class", data)
    store = open_office_store(config)
    try:
        require_known_booths(config, store, [args.booth])
        if args.action == "open" and store.roster_size() and not store.roster(college=args.college,
                                                                              class_name=args.class_name):
            raise CommandError(f"{args.college}/{args.class_name} is not a class of central's roster: check "
                               "--college and --class (the booth would refuse it)")
        (command_id,) = send_commands(config, store, [(args.booth, command)])
        _audit(store, f"class_{args.action}", " ".join((f"{args.booth}:", *data.values())))
    except OSError as error:
        print(_unreachable(config, error), file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"sent {args.action}_class to {args.booth} (command {command_id}); the booth answers with a "
          f"command_result event")
    return 0


def _doctor_command(args: argparse.Namespace) -> int:
    """Send ``doctor`` to a booth; print its answer once the ingest recorded it. Exit 0 healthy, 1 not, 3 no answer."""
    from central.commands import build_command, require_known_booths, send_commands
    from central.store import open_office_store

    config = _config(args, existing=True)
    store = open_office_store(config)
    try:
        require_known_booths(config, store, [args.booth])
        try:
            (command_id,) = send_commands(config, store, [(args.booth, build_command("doctor", {}))])
        except OSError as error:
            print(_unreachable(config, error), file=sys.stderr)
            return 2
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            record = next((c for c in store.commands(booth=args.booth) if c.command_id == command_id), None)
            if record is not None and record.result_ok is not None:
                print(f"{args.booth}: {'healthy' if record.result_ok else 'NOT healthy'}: {record.result_message}")
                return 0 if record.result_ok else 1
            time.sleep(0.5)
    finally:
        store.close()
    print(f"{args.booth}: no answer to doctor (command {command_id}) within {args.wait:g} s: is the booth online "
          "and booth-central serve running?", file=sys.stderr)
    return 3


def _check_store(args: argparse.Namespace) -> int:
    """Every stored photo's bytes against its row's sha256: a line per damaged photo, a summary; exit 1 if any."""
    from central.check_store import check_store
    from central.photos import PhotoArchive
    from central.store import open_office_store

    config = _config(args, existing=True)
    store = open_office_store(config)
    try:
        check = check_store(store, PhotoArchive(config.data_dir))
    finally:
        store.close()
    for fault in check.faults:
        print(fault.line())
    print(check.summary())
    return 0 if check.ok else 1


def _backup(args: argparse.Namespace) -> int:
    """The store's database and photo files in one new file; exit 1 when damaged photos were left out."""
    from central.backup import write_backup

    report = write_backup(_config(args, existing=True), args.out)
    for fault in report.left_out:
        print(fault.line())
    print(report.summary())
    return 1 if report.left_out else 0


def _restore(args: argparse.Namespace) -> int:
    """A backup file into an empty store, then checked as check-store does; exit 1 when it is not intact."""
    from central.backup import restore_backup

    report = restore_backup(_config(args), args.backup)
    for fault in report.check.faults:
        print(fault.line())
    print(report.summary())
    return 0 if report.check.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="booth-central", description="Central office service of the booth fleet")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the MQTT ingest workers")
    serve.add_argument("--config", type=Path, required=True, help="central.toml")
    serve.add_argument("--workers", type=number_in(1, MAX_WORKERS, integer=True), default=None, metavar="N",
                       help=f"ingest workers, 1 to {MAX_WORKERS} (overrides ingest.workers)")
    serve.add_argument("--client-id", default=None,
                       help="MQTT client id prefix (each process on the same broker needs its own)")
    serve.add_argument("--http", type=_http_address, default=None, metavar="HOST:PORT",
                       help="also serve the office dashboard here")
    serve.set_defaults(func=_serve)

    web = commands.add_parser("web", help="serve the office dashboard alone (beside serve, on the same store)")
    web.add_argument("--config", type=Path, required=True, help="central.toml")
    web.add_argument("--http", type=_http_address, default=None, metavar="HOST:PORT",
                     help="listen here (default: web.http)")
    web.set_defaults(func=_web)
    for command in (serve, web):
        command.add_argument("--migrate", action="store_true",
                             help="first bring the store's schema up to this build (as booth-central migrate)")

    migrate = commands.add_parser("migrate", help="bring the store's schema up to this build (SQLite or PostgreSQL)")
    migrate.add_argument("--config", type=Path, required=True, help="central.toml")
    migrate.set_defaults(func=_migrate)

    user = commands.add_parser("user", help="dashboard users")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    adder = user_commands.add_parser("add", help="add a user; the password is typed twice at the terminal (or "
                                                 "read from standard input)")
    adder.add_argument("name")
    adder.add_argument("--role", required=True, choices=("admin", "secretary", "viewer"))
    adder.add_argument("--college", type=normalize_name, default=None, help="the secretary's college")
    adder.set_defaults(func=_user_add)
    lister = user_commands.add_parser("list", help="every user: name, role, college")
    lister.set_defaults(func=_user_list)
    remover = user_commands.add_parser("remove", help="remove a user and end their logins (never the last admin)")
    remover.add_argument("name")
    remover.set_defaults(func=_user_remove)
    passwd = user_commands.add_parser("passwd", aliases=["reset-password"],
                                      help="give a user a new password (typed twice at the terminal, or read "
                                           "from standard input) and end their logins")
    passwd.add_argument("name")
    passwd.set_defaults(func=_user_passwd)
    for action in (adder, lister, remover, passwd):
        action.add_argument("--config", type=Path, required=True, help="central.toml")

    export = commands.add_parser("export", help="the CHSI registry package, the missing list, the fees")
    exports = export.add_subparsers(dest="what", required=True, metavar="WHAT")
    chsi = exports.add_parser("chsi", help="the registry package: photos, manifest.csv, missing.csv")
    chsi.add_argument("--out", type=Path, required=True, metavar="DIR", help="a new (or empty) folder")
    chsi.add_argument("--zip", action="store_true", help="the photos as DIR/photos.zip")
    missing = exports.add_parser("missing", help="everyone not photographed yet, as CSV")
    fees = exports.add_parser("fees", help="each closed class: count, fee, payment, as CSV")
    for sub in (missing, fees):
        sub.add_argument("--out", type=Path, required=True, metavar="FILE.csv",
                         help="a new file (written whole or not at all)")
        sub.add_argument("--force", action="store_true", help="replace FILE.csv if it exists")
    for sub in (chsi, missing, fees):
        sub.add_argument("--config", type=Path, required=True, help="central.toml")
        if sub is not fees:
            sub.add_argument("--college", type=normalize_name, default=None)
            sub.add_argument("--class", dest="class_name", type=normalize_name, default=None)
        sub.set_defaults(func=_export, college=None, class_name=None, zip=False, force=False)

    roster = commands.add_parser("roster", help="the graduates' roster")
    roster_commands = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    importer = roster_commands.add_parser("import", help="import a roster CSV (all or nothing)")
    importer.add_argument("file", type=existing_file, metavar="FILE.csv")
    importer.add_argument("--config", type=Path, required=True, help="central.toml")
    importer.add_argument("--push", action="append", default=[], metavar="BOOTH",
                          help="also send it to this booth as a roster_update command (repeatable; 'all' ="
                               " every booth central has seen)")
    importer.set_defaults(func=_roster_import)

    schedule = commands.add_parser("schedule", help="the colleges' booth slots")
    schedule_commands = schedule.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    slots = schedule_commands.add_parser("import", help="import a schedule CSV (college, class, booth, date, start,"
                                                        " end; all or nothing; replaces the slots of its colleges)")
    slots.add_argument("file", type=existing_file, metavar="FILE.csv")
    slots.add_argument("--config", type=Path, required=True, help="central.toml")
    slots.set_defaults(func=_schedule_import)

    flag = commands.add_parser("flag", help="flag a student's current photo for a retake (as the dashboard's flag)")
    flag.add_argument("id_number", metavar="ID_NUMBER", help="the student's ID number")
    flag.add_argument("--reason", required=True, help="why, in one line (photo page, audit trail)")
    flag.add_argument("--by", default="cli", metavar="NAME", help="who flags it, for the audit trail (default: cli)")
    flag.add_argument("--config", type=Path, required=True, help="central.toml")
    flag.set_defaults(func=_flag)

    session = commands.add_parser("class", help="open or close a class session on a booth")
    actions = session.add_subparsers(dest="action", required=True, metavar="ACTION")
    opener = actions.add_parser("open", help="open a class session")
    opener.add_argument("booth")
    opener.add_argument("--college", type=normalize_name, required=True)
    opener.add_argument("--class", dest="class_name", type=normalize_name, required=True)
    closer = actions.add_parser("close", help="close the booth's session (it shows the count, fee and QR code)")
    closer.add_argument("booth")
    for action in (opener, closer):
        action.add_argument("--config", type=Path, required=True, help="central.toml")
        action.set_defaults(func=_class_command)

    booths = commands.add_parser("booths", help="list the booths central has heard from (state, boot, data resets)")
    booths.add_argument("--config", type=Path, required=True, help="central.toml")
    booths.set_defaults(func=_booths)

    doctor = commands.add_parser("doctor", help="ask a booth to run booth doctor and print its answer")
    doctor.add_argument("booth")
    doctor.add_argument("--config", type=Path, required=True, help="central.toml")
    doctor.add_argument("--wait", type=number_in(0, MAX_DOCTOR_WAIT_S, above_low=True, unit="seconds"), default=60.0,
                        metavar="S", help=f"seconds to wait for the answer (more than 0, up to {MAX_DOCTOR_WAIT_S:g};"
                                          " default 60); booth-central serve must run: its ingest records it")
    doctor.set_defaults(func=_doctor_command)

    check = commands.add_parser("check-store", help="verify every stored photo's bytes against its sha256")
    check.add_argument("--config", type=Path, required=True, help="central.toml")
    check.set_defaults(func=_check_store)

    backup = commands.add_parser("backup", help="the database and every photo file in one new file (online)")
    backup.add_argument("--out", type=Path, required=True, metavar="FILE", help="a new file (never overwritten)")
    backup.add_argument("--config", type=Path, required=True, help="central.toml")
    backup.set_defaults(func=_backup)

    restore = commands.add_parser("restore", help="a backup file into an empty store, then check it")
    restore.add_argument("backup", type=existing_file, metavar="FILE", help="made by booth-central backup")
    restore.add_argument("--config", type=Path, required=True, help="central.toml (its store must be empty)")
    restore.set_defaults(func=_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
