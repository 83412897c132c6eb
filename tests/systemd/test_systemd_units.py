"""The unit files: ``systemd-analyze verify`` accepts each, and they say what the booth relies on.

verify checks that every ``ExecStart`` binary exists, so the units are verified as copies whose
install prefix (``/opt/booth/venv``, ``/opt/booth-central/venv``) points at this checkout's venv;
nothing else in them is changed.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from appliance.cli import build_parser
from central.cli import build_parser as build_central_parser

UNITS = Path(__file__).resolve().parents[2] / "systemd"
PREFIXES = {"/opt/booth/venv/bin/": f"{Path(sys.executable).parent}/",
            "/opt/booth-central/venv/bin/": f"{Path(sys.executable).parent}/"}


def unit_files() -> list[Path]:
    return sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value (systemd allows repeated keys, configparser does not)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    current = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        sections[current][key.strip()].append(value.strip())
    return sections


def one(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit[section][key]
    assert len(values) == 1, f"[{section}] {key}: {values}"
    return values[0]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing: apt install systemd")
def test_systemd_analyze_verify_passes_on_every_unit(tmp_path):
    copies = []
    for path in unit_files():
        text = path.read_text(encoding="utf-8")
        for prefix, local in PREFIXES.items():
            text = text.replace(prefix, local)
        copy = tmp_path / path.name
        copy.write_text(text, encoding="utf-8")
        copies.append(str(copy))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *copies], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr)


def test_booth_service_is_a_watched_notify_service_with_a_fixed_user_and_a_read_only_system():
    unit = parse_unit(UNITS / "booth.service")
    service = unit["Service"]
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "NotifyAccess") == "main"
    assert one(unit, "Service", "WatchdogSec") == "30s"
    assert one(unit, "Service", "Restart") == "on-failure"
    assert one(unit, "Unit", "StartLimitAction") == "reboot"
    assert "doctor --config-only" in one(unit, "Service", "ExecCondition")  # a bad config never reboots in a loop
    assert one(unit, "Service", "User") == "booth"
    assert {"video", "gpio", "input"} <= set(one(unit, "Service", "SupplementaryGroups").split())
    assert one(unit, "Service", "ProtectSystem") == "strict"
    assert "/var/lib/booth" in one(unit, "Service", "ReadWritePaths").split()
    assert "PrivateDevices" not in service  # it would hide the camera
    assert one(unit, "Service", "ExecStart").endswith("booth run --config /var/lib/booth/config/booth.toml")


def test_retention_timer_starts_its_service_and_central_runs_serve():
    timer = parse_unit(UNITS / "booth-retention.timer")
    assert timer["Timer"]["OnUnitActiveSec"] and one(timer, "Install", "WantedBy") == "timers.target"
    assert "booth retention" in one(parse_unit(UNITS / "booth-retention.service"), "Service", "ExecStart")
    central = parse_unit(UNITS / "booth-central.service")
    assert "booth-central serve" in one(central, "Service", "ExecStart")
    assert one(central, "Service", "Restart") == "on-failure"


def test_every_exec_start_names_an_existing_sub_command_with_valid_options():
    parsers = {"booth": build_parser(), "booth-central": build_central_parser()}
    for path in unit_files():
        service = parse_unit(path)["Service"]
        for command in service.get("ExecStart", []) + service.get("ExecCondition", []):
            argv = shlex.split(command)
            program = Path(argv[0]).name
            assert program in parsers, f"{path.name}: {argv[0]}"
            parsers[program].parse_args(argv[1:])  # SystemExit on an unknown sub-command or option
