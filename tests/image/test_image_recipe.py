"""The SD-card image recipe: pi-gen's stage layout, what it installs and enables, shellcheck, and
``build.sh`` naming exactly what is missing where pi-gen and its prerequisites are not present.

The real build needs root, loop devices, arm64 emulation and ~12 GB; it is not run here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "image_build"
STAGE = RECIPE / "stage-booth"
UNITS = REPO / "systemd"
STEP = re.compile(r"^(\d\d)-(packages|run\.sh|run-chroot\.sh)$")
# Units the image enables that Debian / Raspberry Pi OS packages provide (package: where it comes from).
SYSTEM_UNITS = {"ssh": "openssh-server (pi-gen stage2)", "pcscd.socket": "pcscd (00-system/00-packages)"}


def substages() -> list[Path]:
    return sorted(p for p in STAGE.iterdir() if p.is_dir())


def shell_scripts() -> list[Path]:
    found = []
    for folder in (RECIPE, UNITS):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and (path.suffix == ".sh" or path.read_bytes().startswith(b"#!/bin/bash")):
                found.append(path)
    return found


def test_stage_layout_is_pi_gen_numbered_steps_with_executable_scripts():
    assert os.access(STAGE / "prerun.sh", os.X_OK) and (STAGE / "EXPORT_IMAGE").is_file()
    assert {p.name for p in STAGE.iterdir() if p.is_file()} == {"prerun.sh", "EXPORT_IMAGE"}
    assert [p.name[:2] for p in substages()] == [f"{n:02d}" for n in range(len(substages()))]
    for substage in substages():
        assert re.match(r"^\d\d-[a-z-]+$", substage.name), substage
        steps = [p for p in substage.iterdir() if p.name != "files"]
        assert steps, f"{substage.name} has no step"
        for step in steps:
            assert STEP.match(step.name), f"{substage.name}/{step.name} is not a pi-gen step name"
            if step.name.endswith("run.sh"):
                assert os.access(step, os.X_OK), f"{substage.name}/{step.name} is not executable"
        numbers = [STEP.match(step.name).group(1) for step in steps]
        assert len(numbers) == len(set(numbers)), f"{substage.name}: two steps share a number"


def test_every_file_a_step_uses_exists_and_every_enabled_unit_is_installed():
    installed_units = set()
    enabled = set()
    for substage in substages():
        for script in substage.glob("*.sh"):
            text = script.read_text(encoding="utf-8")
            for name in re.findall(r"\bfiles/([\w.-]+)", text):
                if name != "booth-src.tar":  # written by build.sh for each build
                    assert (substage / "files" / name).is_file(), f"{script.name}: files/{name} missing"
            for line in re.findall(r"^systemctl enable (.+)$", text, flags=re.M):
                enabled.update(line.split())
            installed_units.update(re.findall(r"files/([\w-]+\.(?:service|timer))", text))
            for block in re.findall(r"for unit in (.+?); do", text, flags=re.S):
                installed_units.update(block.replace("\\\n", " ").split())
    assert enabled, "no unit enabled"
    for unit in enabled:
        name = unit if "." in unit else f"{unit}.service"
        if unit in SYSTEM_UNITS:
            continue
        assert name in installed_units, f"{unit} is enabled but not installed"
        assert (UNITS / name).is_file() or (STAGE / "00-system" / "files" / name).is_file(), name
    for unit in installed_units:
        assert (UNITS / unit).is_file() or (STAGE / "00-system" / "files" / unit).is_file(), unit
    assert {"booth.service", "booth-provision.service", "booth-retention.timer"} <= enabled


def test_the_recipe_sets_the_appliance_settings():
    packages = (STAGE / "00-system" / "00-packages").read_text().split()
    assert {"python3-picamera2", "pcscd", "libccid", "fonts-wqy-microhei", "mosquitto-clients", "overlayroot"} <= set(
        packages)
    files = STAGE / "00-system" / "files"
    assert "RuntimeWatchdogSec=10s" in (files / "watchdog.conf").read_text()
    assert "Storage=volatile" in (files / "journald.conf").read_text()
    assert "PasswordAuthentication no" in (files / "sshd.conf").read_text()
    fstab = [line.split() for line in (files / "fstab-data").read_text().splitlines() if not line.startswith("#")]
    assert fstab[0][1] == "/var/lib/booth" and "noatime" in fstab[0][3].split(",")
    assert "overlayroot=tmpfs:recurse=0" in (STAGE / "02-readonly" / "00-run.sh").read_text()
    chroot = (STAGE / "00-system" / "02-run-chroot.sh").read_text()
    assert "usermod --append --groups video,render,gpio,input,dialout booth" in chroot
    assert "dphys-swapfile" in chroot and "autologin.conf" in chroot
    booth = (STAGE / "01-booth" / "01-run-chroot.sh").read_text()
    assert "venv --system-site-packages" in booth and "booth models fetch" in booth and "models verify" in booth


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck missing: apt install shellcheck")
def test_shellcheck_passes_on_every_script():
    scripts = shell_scripts()
    assert len(scripts) >= 7
    result = subprocess.run(["shellcheck", "--shell=bash", *map(str, scripts)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def build(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in ("PI_GEN_DIR", "BOOTH_SSH_KEY")}
    return subprocess.run([str(RECIPE / "build.sh"), *args], capture_output=True, text=True, check=False,
                          env={**clean, **(env or {})}, timeout=60)


def test_build_without_pi_gen_names_each_missing_piece_and_builds_nothing():
    result = build()
    assert result.returncode == 2
    assert "missing:" in result.stderr and "pi-gen checkout: git clone" in result.stderr
    assert "technician SSH public key: --ssh-key" in result.stderr
    assert not (STAGE / "01-booth" / "files" / "booth-src.tar").exists()


def test_build_names_the_pi_gen_host_tools_that_are_missing(tmp_path):
    pigen = tmp_path / "pi-gen"
    pigen.mkdir()
    (pigen / "build.sh").write_text("#!/bin/sh\necho built > built\n")
    (pigen / "build.sh").chmod(0o755)
    # pi-gen's format: words "tool[:package]", several on a line, '#' comments.
    (pigen / "depends").write_text("bash\nno-such-tool-for-booth:no-such-package sh other-missing-tool  # comment\n")
    key = tmp_path / "id.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBooth technician\n")
    result = build("--pi-gen", str(pigen), "--ssh-key", str(key))
    assert "host tool no-such-tool-for-booth: apt-get install no-such-package" in result.stderr
    assert "host tool other-missing-tool: apt-get install other-missing-tool" in result.stderr
    assert "host tool bash" not in result.stderr and "host tool sh" not in result.stderr
    assert "comment" not in result.stderr
    assert "pi-gen checkout" not in result.stderr and "SSH public key" not in result.stderr
    assert result.returncode == 2 and not (pigen / "built").exists() and not (pigen / "config").exists()


def test_build_refuses_a_file_that_is_not_an_ssh_public_key(tmp_path):
    key = tmp_path / "id"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    result = build("--ssh-key", str(key), "--release", "buster")
    assert result.returncode == 2
    assert f"technician SSH public key {key}: not readable or not an OpenSSH public key" in result.stderr
    assert "release 'buster': use --release bookworm or --release trixie" in result.stderr
