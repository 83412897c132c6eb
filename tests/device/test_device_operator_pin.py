"""The operator PIN kept as an scrypt hash: ``booth hash-pin`` makes it, the booth checks PINs against it."""

from __future__ import annotations

import io
import re
from concurrent.futures import Future

import pytest

from appliance.app import build_booth
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.cli import main as booth_main
from appliance.config import load_config
from appliance.flow.events import OperatorAction, OperatorCommand
from appliance.ui.headless_display import HeadlessDisplay
from boothcore.config import ConfigError


def make_hash(monkeypatch, capsys, pin: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(pin + "\n"))
    code = booth_main(["hash-pin"])
    return code, capsys.readouterr().out.strip()


def test_pin_hash_line_is_accepted_by_the_config_and_matches_only_its_pin(monkeypatch, capsys):
    code, line = make_hash(monkeypatch, capsys, "864213")
    assert code == 0 and line.startswith('pin_hash = "scrypt$14$8$1$')
    pin_hash = line.split('"')[1]
    operator = load_config(None, {"operator": {"pin_hash": pin_hash}}).operator
    assert operator.accepts("864213")
    assert not operator.accepts("2468") and not operator.accepts("8642130") and not operator.accepts(None)
    assert make_hash(monkeypatch, capsys, "12")[0] == 2
    with pytest.raises(ConfigError, match=re.escape("operator.pin_hash (value not shown): must look like scrypt")):
        load_config(None, {"operator": {"pin_hash": "sha1:x"}})


def test_the_booth_takes_operator_commands_only_with_the_hashed_pin(tmp_path, monkeypatch, capsys):
    pin_hash = make_hash(monkeypatch, capsys, "864213")[1].split('"')[1]
    config = load_config(None, {"booth": {"data_dir": str(tmp_path / "data")}, "hours": {"enforce": False},
                                "operator": {"pin_hash": pin_hash}})
    parts = build_booth(config, display=HeadlessDisplay(), reader=SimulatedCardReader())
    try:
        answers = {}
        for pin in ("2468", "864213"):  # the default plain PIN no longer opens anything
            reply: Future[str] = Future()
            parts.booth.handle(OperatorCommand(OperatorAction.CLOSE_SESSION, pin=pin, reply=reply))
            answers[pin] = str(reply.exception())
    finally:
        parts.close()
    assert answers["2468"] == "wrong PIN"
    assert answers["864213"] != "wrong PIN" and "session" in answers["864213"]
