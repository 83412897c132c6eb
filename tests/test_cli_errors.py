"""Every ``booth`` and ``booth-central`` sub-command, given bad arguments, a missing or bad config,
missing files, an unusable data folder or missing models: one line on stderr naming what is wrong,
no traceback, exit code 2 (issue 10, item 7). Real processes, as an operator runs them."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli import build_parser as booth_parser
from boothcore.idnumber import make_id_number
from central.cli import build_parser as central_parser
from central.local_broker import free_port

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = {"booth": "appliance.cli", "booth-central": "central.cli"}

# The arguments each sub-command needs besides the inputs under test ({csv}, {photo}, {toml}, {backup}: files
# that exist; {root}: an empty folder).
BASE_ARGS: dict[tuple[str, ...], list[str]] = {
    ("booth", "models", "fetch"): [],
    ("booth", "models", "verify"): [],
    ("booth", "check-photo"): ["{photo}"],
    ("booth", "roster", "import"): ["{csv}"],
    ("booth", "roster", "classes"): [],
    ("booth", "demo"): ["--headless", "--until-done"],
    ("booth", "run"): [],
    ("booth", "read-card"): ["--timeout", "0.1"],
    ("booth", "retention"): ["--dry-run"],
    ("booth", "provision"): ["--from", "{toml}", "--root", "{root}"],
    ("booth", "doctor"): [],
    ("booth", "hash-pin"): [],
    ("booth", "pin-hash"): [],  # the first name, kept as an alias
    ("booth", "screenshots"): ["--out", "{root}/shots"],
    ("booth-central", "serve"): [],
    ("booth-central", "migrate"): [],
    ("booth-central", "roster", "import"): ["{csv}"],
    ("booth-central", "schedule", "import"): ["{csv}"],
    ("booth-central", "class", "open"): ["booth-01", "--college", "计算机学院", "--class", "计算机2023-1班"],
    ("booth-central", "class", "close"): ["booth-01"],
    ("booth-central", "doctor"): ["booth-01", "--wait", "0.1"],
    ("booth-central", "booths"): [],
    ("booth-central", "flag"): ["11010519491231002X", "--reason", "eyes closed"],
    ("booth-central", "web"): [],
    ("booth-central", "user", "add"): ["alice", "--role", "viewer"],
    ("booth-central", "user", "list"): [],
    ("booth-central", "user", "remove"): ["alice"],
    ("booth-central", "user", "passwd"): ["alice"],
    ("booth-central", "user", "reset-password"): ["alice"],  # passwd's other name
    ("booth-central", "export", "chsi"): ["--out", "{root}/package"],
    ("booth-central", "export", "missing"): ["--out", "{root}/missing.csv"],
    ("booth-central", "export", "fees"): ["--out", "{root}/fees.csv"],
    ("booth-central", "check-store"): [],
    ("booth-central", "backup"): ["--out", "{root}/backup.tar"],
    ("booth-central", "restore"): ["{backup}"],
}


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...],
            ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(command path, its parser) of every runnable sub-command."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _leaves(sub, (*path, name))
    if not found and len(path) > 1:
        found.append((path, parser))
    return found


PARSERS = dict(_leaves(booth_parser(), ("booth",)) + _leaves(central_parser(), ("booth-central",)))
LEAVES = {leaf: {option for action in parser._actions for option in action.option_strings}
          for leaf, parser in PARSERS.items()}
# The office commands that read (or change) a store that must exist: they create nothing (the others,
# migrate, roster import, user add and restore, may start a new office's store; serve and web only
# with --migrate).
STORE_READERS = {("booth-central", *leaf) for leaf in (
    ("serve",), ("web",), ("export", "chsi"), ("export", "missing"), ("export", "fees"), ("schedule", "import"),
    ("flag",), ("booths",),
    ("class", "open"), ("class", "close"), ("doctor",), ("check-store",), ("backup",), ("user", "list"),
    ("user", "remove"), ("user", "passwd"), ("user", "reset-password"))}
BOOTH_READERS = {("booth", "roster", "classes")}  # reads booth.db, creates nothing
# `booth doctor` diagnoses the config: a missing or bad one is one of its checks (a FAIL line with
# the fix, among the other checks' lines, exit 1), not an error of the command.
DIAGNOSES_CONFIG = {("booth", "doctor")}
FILE_PLACEHOLDERS = ("{csv}", "{photo}", "{toml}", "{backup}")


def test_every_sub_command_is_in_this_test():
    assert set(LEAVES) == set(BASE_ARGS)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    from PIL import Image

    Image.new("RGB", (64, 64), (100, 197, 255)).save(folder / "photo.png")
    (folder / "roster.csv").write_text(
        "id_number,name,student_no,college,class,graduation_year,level,category,captured_before\n",
        encoding="utf-8")
    (folder / "empty-models").mkdir()
    (folder / "root").mkdir()
    (folder / "booth.toml").write_text("[booth]\nid = \"booth-07\"\n", encoding="utf-8")
    (folder / "backup.tar").write_bytes(b"")  # the cases here fail before it is read
    return {"csv": folder / "roster.csv", "photo": folder / "photo.png", "toml": folder / "booth.toml",
            "backup": folder / "backup.tar", "root": folder / "root", "folder": folder}


def _good_config(program: str, folder: Path, **changes: str) -> str:
    """A valid config of ``program`` with data in ``folder``; ``changes`` replace "section.key" lines."""
    if program == "booth":
        values = {"booth.data_dir": f'"{folder / "booth-data"}"', "hardware.screen": '"headless"',
                  "hardware.card_reader": '"simulated"'}
    else:
        values = {"broker.url": f'"mqtt://127.0.0.1:{free_port()}"',
                  "storage.data_dir": f'"{folder / "central-data"}"'}
    values.update({key.replace("__", "."): value for key, value in changes.items()})
    sections: dict[str, list[str]] = {}
    for key, value in values.items():
        section, name = key.split(".")
        sections.setdefault(section, []).append(f"{name} = {value}")
    return "".join(f"[{section}]\n" + "\n".join(lines) + "\n" for section, lines in sections.items())


def _run(leaf: tuple[str, ...], args: list[str], inputs: dict[str, Path], env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess:
    program, *command = leaf
    filled = [arg.format(csv=inputs["csv"], photo=inputs["photo"], toml=inputs["toml"], backup=inputs["backup"],
                         root=inputs["root"])
              for arg in [*command, *args]]
    return subprocess.run([sys.executable, "-m", PROGRAMS[program], *filled], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, cwd=ROOT, timeout=120,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy", **(env or {})})


def _assert_one_line(done: subprocess.CompletedProcess, *expected: str) -> None:
    # LiteRT's C++ runtime prints its delegate notice itself; it is not ours to suppress.
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("INFO: Created")]
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "unexpected" not in lines[0], lines[0]  # a foreseen error, told as such
    for text in expected:
        assert text in lines[0], lines[0]


def _cases() -> list[tuple[tuple[str, ...], str]]:
    cases = []
    for leaf, options in LEAVES.items():
        if leaf not in BASE_ARGS:
            continue  # test_every_sub_command_is_in_this_test names it
        cases.append((leaf, "bad-argument"))
        if "--config" in options and leaf not in DIAGNOSES_CONFIG:
            cases += [(leaf, "missing-config"), (leaf, "not-utf8-config"), (leaf, "bad-value-config")]
        if "--data" in options or leaf[0] == "booth-central":
            cases.append((leaf, "data-folder"))
        if set(FILE_PLACEHOLDERS) & set(BASE_ARGS[leaf]):
            cases.append((leaf, "missing-file"))
    return cases


@pytest.mark.parametrize(("leaf", "case"), _cases(), ids=lambda value: "-".join(value) if isinstance(
    value, tuple) else value)
def test_one_line_and_exit_2(leaf, case, inputs, tmp_path):
    program = leaf[0]
    base = list(BASE_ARGS[leaf])
    config = tmp_path / "config.toml"
    config.write_text(_good_config(program, tmp_path), encoding="utf-8")
    options = LEAVES[leaf]
    if "--config" in options and leaf not in DIAGNOSES_CONFIG:
        base += ["--config", str(config)]
    if case == "bad-argument":
        _assert_one_line(_run(leaf, [*base, "--no-such-option"], inputs), "unrecognized arguments: --no-such-option",
                         "--help")
    elif case == "missing-config":
        absent = tmp_path / "absent.toml"
        _assert_one_line(_run(leaf, [*base, "--config", str(absent)], inputs), f"cannot read {absent}")
    elif case == "not-utf8-config":
        config.write_bytes(_good_config(program, tmp_path).encode("utf-8") + "# 注释\n".encode("gbk"))
        _assert_one_line(_run(leaf, base, inputs), str(config), "is not UTF-8", "save it as UTF-8")
    elif case == "bad-value-config":
        if program == "booth":
            config.write_text(_good_config(program, tmp_path, hardware__card_reader='"sam:"'), encoding="utf-8")
            _assert_one_line(_run(leaf, base, inputs), "hardware.card_reader = 'sam:'", "sam:/dev/ttyUSB0")
        else:
            config.write_text(_good_config(program, tmp_path, storage__db_url='"mysql://u:secret@db/photos"'),
                              encoding="utf-8")
            done = _run(leaf, base, inputs)
            _assert_one_line(done, "storage.db_url", "sqlite:///PATH", "postgresql://USER@HOST/DATABASE")
            assert "secret" not in done.stderr
    elif case == "data-folder":
        blocked = tmp_path / "a-file"
        blocked.write_text("not a folder")
        if "--data" in options:
            done = _run(leaf, [*base, "--data", str(blocked / "data")], inputs)
            _assert_one_line(done, f"--data = '{blocked / 'data'}'", "no booth data there" if leaf in BOOTH_READERS
                             else "cannot create the folder")
        else:
            key = "booth__data_dir" if program == "booth" else "storage__data_dir"
            config.write_text(_good_config(program, tmp_path, **{key: f'"{blocked / "data"}"'}), encoding="utf-8")
            _assert_one_line(_run(leaf, base, inputs), key.replace("__", "."),
                             "no store at" if leaf in STORE_READERS else "cannot create the folder")
    elif case == "missing-file":
        missing = tmp_path / "missing.file"
        args = [str(missing) if arg in FILE_PLACEHOLDERS else arg for arg in base]
        _assert_one_line(_run(leaf, args, inputs), str(missing))


def test_no_sub_command_is_one_line():
    for module in PROGRAMS.values():
        done = subprocess.run([sys.executable, "-m", module], capture_output=True, text=True, cwd=ROOT, timeout=60)
        _assert_one_line(done, "the following arguments are required: COMMAND")


def test_booth_without_the_booth_extra_names_the_extra():
    # As after `pip install '.[central]'`: the `booth` script is there, NumPy is not (None in
    # sys.modules makes its import raise ModuleNotFoundError, as a missing package does).
    code = "import sys; sys.modules['numpy'] = None; from appliance.cli import main; sys.exit(main(['--help']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    _assert_one_line(done, "'numpy' is not installed", "diploma-booth[booth]")


@pytest.mark.parametrize("leaf", [("booth", "run"), ("booth", "demo"), ("booth", "check-photo"),
                                  ("booth", "screenshots")],
                         ids=lambda leaf: "-".join(leaf))
def test_missing_models_are_one_line(leaf, inputs, tmp_path):
    base = ([*BASE_ARGS[leaf], "--data", str(tmp_path / "data")] if leaf[1] not in ("check-photo", "screenshots")
            else BASE_ARGS[leaf])
    if leaf[1] == "run":
        config = tmp_path / "booth.toml"
        config.write_text(_good_config("booth", tmp_path), encoding="utf-8")
        base += ["--config", str(config)]
    empty = inputs["folder"] / "empty-models"
    _assert_one_line(_run(leaf, base, inputs, env={"BOOTH_MODEL_DIR": str(empty)}), f"not found in {empty}",
                     "booth models fetch")
    assert not (tmp_path / "data" / "broker" / "mosquitto.pid").exists()  # the demo started nothing


def test_read_card_with_sam_and_no_device_is_one_line(inputs):
    _assert_one_line(_run(("booth", "read-card"), ["--reader", "sam:"], inputs), "sam needs a serial port")


@pytest.mark.parametrize("leaf", [("booth-central", "class", "close"), ("booth-central", "roster", "import"),
                                  ("booth-central", "doctor")], ids=lambda leaf: "-".join(leaf))
def test_office_commands_with_no_broker_are_one_line(leaf, inputs, tmp_path):
    config = tmp_path / "central.toml"
    config.write_text(_good_config("booth-central", tmp_path, ingest__known_booths='["booth-01"]'), encoding="utf-8")
    csv = tmp_path / "roster.csv"
    csv.write_text(inputs["csv"].read_text(encoding="utf-8")
                   + f"{make_id_number('110105', dt.date(2004, 3, 7), 123)},张三,20230001,计算机学院,"
                   "计算机2023-1班,2027,本科,普通,no\n", encoding="utf-8")
    args = [*BASE_ARGS[leaf], "--config", str(config)]
    assert _run(("booth-central", "migrate"), ["--config", str(config)], inputs).returncode == 0  # the store
    if leaf[1] == "roster":
        args = [str(csv), "--config", str(config), "--push", "booth-01"]
    _assert_one_line(_run(leaf, args, inputs), "cannot reach the broker mqtt://127.0.0.1:", "broker.url")


def _one_student_roster(inputs: dict[str, Path], tmp_path: Path) -> Path:
    csv = tmp_path / "roster.csv"
    csv.write_text(inputs["csv"].read_text(encoding="utf-8")
                   + f"{make_id_number('110105', dt.date(2004, 3, 7), 123)},张三,20230001,计算机学院,"
                   "计算机2023-1班,2027,本科,普通,no\n", encoding="utf-8")
    return csv


@pytest.mark.parametrize("args", [["class", "open", "booth-10", "--college", "计算机学院", "--class", "计算机2023-1班"],
                                  ["class", "close", "booth-10"], ["doctor", "booth-10", "--wait", "0.1"],
                                  ["roster", "import", "{csv}", "--push", "booth-10"]], ids=lambda args: args[0])
def test_office_commands_to_a_booth_central_does_not_know_are_one_line_and_do_nothing(args, inputs, tmp_path):
    # A mistyped booth id was "sent" (exit 0, "the booth answers with a command_result event"): the
    # broker keeps no session for an id no booth ever used, so the command was lost without a word.
    config = tmp_path / "central.toml"
    config.write_text(_good_config("booth-central", tmp_path, ingest__known_booths='["booth-01", "booth-02"]'),
                      encoding="utf-8")
    assert _run(("booth-central", "migrate"), ["--config", str(config)], inputs).returncode == 0
    args = [str(_one_student_roster(inputs, tmp_path)) if arg == "{csv}" else arg for arg in args]
    done = _run(("booth-central",), [*args, "--config", str(config)], inputs)
    _assert_one_line(done, "booth-10: no booth of that id has reported to central", "(known: booth-01, booth-02)")
    assert "cannot reach the broker" not in done.stderr  # refused before any connection
    missing = _run(("booth-central", "export", "missing"), ["--out", str(tmp_path / "m.csv"), "--config", str(config)],
                   inputs)
    assert missing.stdout.startswith("0 row(s)"), missing.stdout  # the roster was not imported either


def test_opening_a_class_not_on_the_roster_is_one_line(inputs, tmp_path):
    config = tmp_path / "central.toml"
    config.write_text(_good_config("booth-central", tmp_path, ingest__known_booths='["booth-01"]'), encoding="utf-8")
    csv = _one_student_roster(inputs, tmp_path)
    assert _run(("booth-central", "roster", "import"), [str(csv), "--config", str(config)], inputs).returncode == 0
    done = _run(("booth-central", "class", "open"), ["booth-01", "--college", "计算机学院", "--class", "计算机2023-2班",
                                                      "--config", str(config)], inputs)
    _assert_one_line(done, "计算机学院/计算机2023-2班 is not a class of central's roster", "--college and --class")


# Each numeric option of both programs, a value outside its range and what its one line names (the range).
NUMERIC_OPTIONS = [
    (("booth", "read-card"), "--timeout", ["0", "-1", "nan", "inf", "3601", "soon"], "more than 0 and at most 3600"),
    (("booth", "demo"), "--booths", ["0", "9", "1.5"], "from 1 to 8"),
    (("booth", "demo"), "--students", ["4", "10000"], "from 5 to 9999"),
    (("booth", "demo"), "--countdown", ["0", "-0.5", "11"], "more than 0 and at most 10 seconds"),
    (("booth-central", "serve"), "--workers", ["0", "-1", "1000"], "from 1 to 64"),
    (("booth-central", "doctor"), "--wait", ["0", "-5", "nan"], "more than 0 and at most 3600 seconds"),
]


@pytest.mark.parametrize(("leaf", "option", "value", "valid_range"),
                         [(leaf, option, value, valid) for leaf, option, values, valid in NUMERIC_OPTIONS
                          for value in values],
                         ids=lambda value: "-".join(value) if isinstance(value, tuple) else value)
def test_a_number_outside_its_range_is_refused_at_parsing(leaf, option, value, valid_range, inputs, tmp_path):
    # The config is never read: the refusal comes before anything starts (a broker, a store, a reader).
    args = [*BASE_ARGS[leaf], "--config", str(tmp_path / "absent.toml"), option, value]
    if leaf == ("booth", "demo"):
        args = [*BASE_ARGS[leaf], "--data", str(tmp_path / "data"), option, value]
    done = _run(leaf, args, inputs)
    _assert_one_line(done, f"argument {option}: '{value}'", valid_range)
    assert not (tmp_path / "data").exists()


def test_every_numeric_option_is_checked():
    numeric = {(leaf, action.option_strings[-1]) for leaf, parser in PARSERS.items() for action in parser._actions
               if action.type in (int, float) or getattr(action.type, "__name__", "") in ("number", "whole number")}
    assert numeric == {(leaf, option) for leaf, option, *_ in NUMERIC_OPTIONS}


@pytest.mark.parametrize("leaf", [("booth-central", "migrate"), ("booth-central", "serve"),
                                  ("booth-central", "booths")], ids=lambda leaf: "-".join(leaf))
def test_an_unreachable_postgresql_store_is_one_line(leaf, inputs, tmp_path):
    url = f"postgresql://booth:secret@127.0.0.1:{free_port()}/photos"
    config = tmp_path / "central.toml"
    config.write_text(_good_config("booth-central", tmp_path, storage__db_url=f'"{url}"'), encoding="utf-8")
    done = _run(leaf, [*BASE_ARGS[leaf], "--config", str(config)], inputs)
    _assert_one_line(done, "cannot use the PostgreSQL store postgresql://booth:***@127.0.0.1:", "storage.db_url")
    assert "secret" not in done.stderr


@pytest.mark.parametrize("leaf", sorted(STORE_READERS), ids=lambda leaf: "-".join(leaf))
def test_a_command_that_reads_a_store_that_is_not_there_creates_none(leaf, inputs, tmp_path):
    # A typo in storage.data_dir (or db_url) used to open, and so create, an empty store there.
    config = tmp_path / "central.toml"
    typo = tmp_path / "central-dta"
    config.write_text(_good_config("booth-central", tmp_path, storage__data_dir=f'"{typo}"'), encoding="utf-8")
    done = _run(leaf, [*BASE_ARGS[leaf], "--config", str(config)], inputs)
    _assert_one_line(done, f"no store at {typo / 'central.db'}", f"storage.data_dir = '{typo}'", f"in {config}",
                     "booth-central migrate")
    assert not typo.exists()
    typo.mkdir()  # the folder is there, the database is not (db_url names another file)
    done = _run(leaf, [*BASE_ARGS[leaf], "--config", str(config)], inputs)
    _assert_one_line(done, f"no store at {typo / 'central.db'}")
    assert list(typo.iterdir()) == []


@pytest.mark.parametrize("command", ["serve", "web"])
def test_serve_and_web_name_migrate_for_a_store_that_is_not_there_and_create_it_with_it(command, inputs, tmp_path):
    # They used to start a fresh, empty office wherever a mistyped storage.data_dir pointed.
    config = tmp_path / "central.toml"
    data = tmp_path / "central-data"
    config.write_text(_good_config("booth-central", tmp_path, storage__data_dir=f'"{data}"'), encoding="utf-8")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        http = ["--http", f"127.0.0.1:{taken.getsockname()[1]}"]
        done = _run(("booth-central", command), ["--config", str(config), *http], inputs)
        _assert_one_line(done, f"no store at {data / 'central.db'}", f"booth-central {command} --migrate")
        assert not data.exists()
        # With --migrate the store is made before the command starts (then the dashboard's address,
        # taken here, stops it).
        done = _run(("booth-central", command), ["--config", str(config), "--migrate", *http], inputs)
    assert done.returncode == 2 and "cannot listen there" in done.stderr, done.stderr
    assert (data / "central.db").is_file()
