"""A real mosquitto on a free loopback port, for tests, benchmarks and the demo.

It takes the limits block of the production config (``config/mosquitto/mosquitto.conf``) so tests
run against the same packet size and queue limits as the fleet, and optionally (``tls``) its
listeners block, word for word but for loopback ports and the test's certificate folder: booths on
``port`` (fleet CA, CN = user name = client id), central on ``central_port`` (central CA only).

    with LocalBroker(tmp_path) as broker:
        client.connect(broker.host, broker.port)
        broker.stop(); ...; broker.start()     # an outage, same port

The broker runs in its own session (process group): a terminal's Ctrl-C, or a timeout signalling
the process group, reaches its owner but not the broker, so the owner stops its clients first
(booths publish their offline status through it) and the broker last (``stop()``).
The broker never outlives its parent: on Linux it gets SIGTERM when the thread that started it
ends (``PR_SET_PDEATHSIG``; start it from a thread that lives as long as it should, as the main
thread does), and its pid file in ``conf_dir`` lets the next start in the same folder end a broker
left by a parent that was killed before that signal existed (another OS, or a kill between fork
and exec).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

from boothcore.children import die_with_parent
from boothcore.cli import CommandError
from central.certs import TlsFiles

PRODUCTION_CONF = Path(__file__).resolve().parent.parent / "config" / "mosquitto" / "mosquitto.conf"
PRODUCTION_ACL = PRODUCTION_CONF.with_name("booth.acl")
_LIMITS_BEGIN, _LIMITS_END = "# --- limits", "# --- end limits"
_LISTENERS_BEGIN, _LISTENERS_END = "# --- listeners", "# --- end listeners"
_PRODUCTION_CERTS = "/etc/mosquitto/certs/"
BOOTH_PORT, CENTRAL_PORT = 8883, 8884  # the production listeners
_START_TIMEOUT_S = 10.0
log = logging.getLogger(__name__)


class BrokerError(CommandError, RuntimeError):
    """mosquitto is missing, or did not start / accept connections."""


def _block(conf: Path, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in conf.read_text(encoding="utf-8").splitlines():
        if line.startswith(begin):
            inside = True
        elif line.startswith(end):
            break
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    return lines


def production_limits(conf: Path = PRODUCTION_CONF) -> list[str]:
    """The setting lines between the limits markers of the production config."""
    return _block(conf, _LIMITS_BEGIN, _LIMITS_END)


def production_listeners(certs: Path, ports: dict[int, int], host: str,
                         conf: Path = PRODUCTION_CONF) -> list[str]:
    """The production listeners block with ``ports`` (production port -> port) bound to ``host``
    and the certificates taken from the folder ``certs`` (``central.certs.make_fleet``'s layout)."""
    lines = []
    for line in _block(conf, _LISTENERS_BEGIN, _LISTENERS_END):
        words = line.split()
        if words[0] == "listener":
            line = f"listener {ports[int(words[1])]} {host}"
        lines.append(line.replace(_PRODUCTION_CERTS, f"{certs}/"))
    return lines


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _accepts(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
        return True
    return False


class LocalBroker:
    """Context manager around one ``mosquitto -c`` process; ``stop()``/``start()`` keep the port."""

    host = "127.0.0.1"

    def __init__(self, conf_dir: Path, *, tls: TlsFiles | None = None, acl_file: Path | None = None,
                 port: int | None = None, extra: list[str] | None = None) -> None:
        binary = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)
        if binary is None:
            raise BrokerError("mosquitto not found: install the Debian package 'mosquitto' (make setup)")
        self.binary: str = binary
        self.conf_dir = Path(conf_dir)
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.tls = tls
        self.acl_file = Path(acl_file) if acl_file else None
        self.port = port or free_port(self.host)
        # Central's own listener under TLS (the central CA's certificates only); else the same one.
        self.central_port = free_port(self.host) if tls else self.port
        self.extra = list(extra or [])
        self.conf_path = self.conf_dir / "mosquitto.conf"
        self.log_path = self.conf_dir / "mosquitto.log"
        self.pid_path = self.conf_dir / "mosquitto.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def central_url(self) -> str:
        """Where the central service connects (its own TLS listener)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.central_port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def render_config(self) -> str:
        lines = ["per_listener_settings false", *production_limits(),
                 "persistence true", f"persistence_location {self.conf_dir}/", "autosave_interval 1",
                 f"log_dest file {self.log_path}", "log_type error", "log_type warning", "log_type notice",
                 f"user {pwd.getpwuid(os.getuid()).pw_name}"]
        if self.acl_file:
            lines.append(f"acl_file {self.acl_file}")
        lines.append(f"allow_anonymous {'false' if self.tls else 'true'}")
        if self.tls:
            lines += production_listeners(self.tls.cert.parent, {BOOTH_PORT: self.port,
                                                                 CENTRAL_PORT: self.central_port}, self.host)
        else:
            lines.append(f"listener {self.port} {self.host}")
        return "\n".join([*lines, *self.extra, ""])

    def start(self) -> LocalBroker:
        """Start (or restart after ``stop()``) on the same port; return once it accepts connections."""
        if self.running:
            return self
        self.reap_orphan()
        self.conf_path.write_text(self.render_config(), encoding="utf-8")
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            self._proc = subprocess.Popen([self.binary, "-c", str(self.conf_path)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, preexec_fn=die_with_parent,
                                          start_new_session=True)
            self.pid_path.write_text(f"{self._proc.pid}\n", encoding="ascii")
            while time.monotonic() < deadline and self._proc.poll() is None:
                if all(_accepts(self.host, port) for port in {self.port, self.central_port}):
                    return self
                time.sleep(0.02)
            if self._proc.poll() is None:
                self._kill()
                raise BrokerError(f"mosquitto did not accept connections on port {self.port}/{self.central_port}")
            stderr = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            # The port of a just-stopped broker can linger briefly; retry until the deadline.
            if time.monotonic() >= deadline or "Address already in use" not in stderr + log:
                self._proc = None
                raise BrokerError(f"mosquitto exited at start: {(stderr or log).strip()[-1000:]}")
            time.sleep(0.1)

    def reap_orphan(self) -> int | None:
        """End a broker that a killed parent left running on this folder (its pid file names it, and
        its command line names this folder's config); return its pid, or None when there was none."""
        try:
            pid = int(self.pid_path.read_text(encoding="ascii").strip())
            process = psutil.Process(pid)
            orphan = str(self.conf_path) in process.cmdline()
        except (OSError, ValueError, psutil.Error):
            orphan = False
        if orphan:
            log.warning("stopping mosquitto (pid %d) left running in %s by a process that was killed", pid,
                        self.conf_dir)
            with contextlib.suppress(psutil.Error):
                process.terminate()
                try:
                    process.wait(timeout=10)
                except psutil.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        self.pid_path.unlink(missing_ok=True)
        return pid if orphan else None

    def stop(self, *, kill: bool = False) -> None:
        """Stop the broker: SIGTERM (saves persistence) or ``kill=True`` for SIGKILL (a crash)."""
        if self._proc is None:
            return
        if kill:
            self._kill()
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._kill()
        self._close()

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._close()

    def _close(self) -> None:
        if self._proc is not None and self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None
        self.pid_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
