"""``python -m central.certs``: a re-run never silently replaces the CA or a key (issue 9 item 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def certs(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central.certs", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, check=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fleet")
    result = certs(folder, "--booth", "booth-01", "--booth", "booth-02")
    assert result.returncode == 0, result.stderr
    return folder


def test_the_fleet_has_two_cas_and_central_is_signed_by_its_own(fleet: Path) -> None:
    for name in ("ca", "central-ca", "broker", "central", "booth-01", "booth-02"):
        assert (fleet / f"{name}.crt").is_file() and (fleet / f"{name}.key").is_file()
    assert (fleet / "ca.crl").is_file()  # the booth listener's crlfile, empty until a --revoke
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(fleet / "central-ca.crt"),
                             str(fleet / "central.crt")], capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    wrong = subprocess.run(["openssl", "verify", "-CAfile", str(fleet / "central-ca.crt"),
                            str(fleet / "booth-01.crt")], capture_output=True, text=True, check=False)
    assert wrong.returncode != 0  # a booth certificate is not one of central's


def test_a_rerun_without_add_refuses_to_make_a_new_ca(fleet: Path) -> None:
    before = snapshot(fleet)
    result = certs(fleet, "--booth", "booth-03")
    assert result.returncode == 2
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in result.stderr
    assert "ca.key" in line and "booth-01, booth-02" in line and "--force" in line
    assert snapshot(fleet) == before  # nothing written, not even booth-03


def test_add_never_overwrites_centrals_key_or_a_booths(fleet: Path) -> None:
    before = snapshot(fleet)
    central = certs(fleet, "--add", "--booth", "central")
    assert central.returncode == 2 and "reserved" in central.stderr
    existing = certs(fleet, "--add", "--booth", "booth-03", "--booth", "booth-01")
    assert existing.returncode == 2
    assert "booth-01.key" in existing.stderr and "--force" in existing.stderr
    assert snapshot(fleet) == before  # booth-03 is not issued either: all or nothing


def test_add_issues_a_new_booth_with_the_existing_ca(fleet: Path, tmp_path: Path) -> None:
    result = certs(fleet, "--add", "--booth", "booth-04")
    assert result.returncode == 0, result.stderr
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(fleet / "ca.crt"), str(fleet / "booth-04.crt")],
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    missing = certs(tmp_path / "empty", "--add", "--booth", "booth-05")
    assert missing.returncode == 2 and "ca.crt not found" in missing.stderr


def test_force_replaces_what_it_names(tmp_path: Path) -> None:
    folder = tmp_path / "fleet"
    assert certs(folder, "--booth", "booth-01").returncode == 0
    old_ca, old_key = (folder / "ca.key").read_bytes(), (folder / "booth-01.key").read_bytes()
    assert certs(folder, "--add", "--booth", "booth-01", "--force").returncode == 0
    assert (folder / "booth-01.key").read_bytes() != old_key and (folder / "ca.key").read_bytes() == old_ca
    assert certs(folder, "--booth", "booth-01", "--force").returncode == 0
    assert (folder / "ca.key").read_bytes() != old_ca
