"""pcscd in the foreground with its own reader configuration (vpcd, the virtual smart-card
reader, on free ports), for the PC/SC reader tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PCSCD = shutil.which("pcscd") or "/usr/sbin/pcscd"
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PCSCD_PID_FILE = Path("/run/pcscd/pcscd.pid")


@dataclass
class Pcscd:
    process: subprocess.Popen[bytes]
    port: int  # vpcd's first slot listens here (the second on port + 1)
    log: Path

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("0.0.0.0", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("0.0.0.0", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no two adjacent free TCP ports for vpcd")


def _pcscd_running_elsewhere() -> int | None:
    try:
        pid = int(PCSCD_PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


@contextlib.contextmanager
def running_pcscd(folder: Path, *, with_vpcd: bool = True) -> Iterator[Pcscd]:
    """pcscd in the foreground with its own reader.conf.d (vpcd on free ports), stopped by its pid."""
    if not Path(PCSCD).exists():
        pytest.skip("pcscd is not installed (apt-get install pcscd vsmartcard-vpcd; `make setup` does it)")
    if with_vpcd and not VPCD_DRIVER.exists():
        pytest.fail(f"vsmartcard-vpcd is not installed ({VPCD_DRIVER} missing): apt-get install vsmartcard-vpcd")
    other = _pcscd_running_elsewhere()
    if other is not None:
        pytest.fail(f"another pcscd (pid {other}) is running; the PC/SC tests start their own: stop it first")
    conf = folder / "reader.conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    port = _free_port_pair()
    if with_vpcd:
        (conf / "vpcd").write_text(
            f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x{port:04X}\n'
            f"LIBPATH {VPCD_DRIVER}\nCHANNELID 0x{port:04X}\n")
    log = folder / "pcscd.log"
    with log.open("wb") as out:
        process = subprocess.Popen([PCSCD, "--foreground", "--debug", "--config", str(conf)],
                                   stdout=out, stderr=subprocess.STDOUT)
    daemon = Pcscd(process, port, log)
    try:
        deadline = time.monotonic() + 15
        while "daemon ready" not in log.read_text(errors="replace"):
            if process.poll() is not None:
                pytest.fail(f"pcscd exited with {process.returncode}:\n{daemon.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"pcscd did not become ready within 15 s:\n{daemon.log_tail()}")
            time.sleep(0.05)
        yield daemon
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
