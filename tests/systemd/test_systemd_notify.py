"""sd_notify against a real AF_UNIX datagram socket the test owns, set as NOTIFY_SOCKET.

The booth runs on simulated hardware with a real mosquitto for its uplink: READY once it is up,
WATCHDOG=1 while the capture loop and the uplink sender are both healthy, and no ping while either
hangs; STATUS= carries the booth's state. ``booth run`` is also started as a process, as systemd
starts it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appliance.app import build_service
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.sdnotify import notify, watchdog_interval_s
from appliance.service import BoothService
from appliance.ui.headless_display import HeadlessDisplay
from central.local_broker import LocalBroker

WATCHDOG_S = 4.0  # pings every 2 s; the uplink sender may be 2 s late (it waits up to 1 s per step)


class NotifySocket:
    """The systemd side: a bound datagram socket collecting (monotonic time, message)."""

    def __init__(self) -> None:
        # AF_UNIX paths are limited to 108 bytes, pytest's tmp_path can be longer.
        self.folder = Path(tempfile.mkdtemp(prefix="sdn-"))
        self.path = self.folder / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def pings(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return [t for t, text in list(self.messages) if "WATCHDOG=1" in text.splitlines() and since <= t < until]

    def statuses(self) -> list[str]:
        return [line[7:] for _, text in list(self.messages) for line in text.splitlines() if line.startswith("STATUS=")]

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; got {self.messages}")
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def notify_socket(monkeypatch) -> Iterator[NotifySocket]:
    listener = NotifySocket()
    monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))
    monkeypatch.setenv("WATCHDOG_USEC", str(int(WATCHDOG_S * 1_000_000)))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield listener
    listener.close()


@pytest.fixture
def broker(tmp_path) -> Iterator[LocalBroker]:
    """Started before NOTIFY_SOCKET is set: mosquitto speaks sd_notify too."""
    with LocalBroker(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def service(broker, notify_socket, tmp_path) -> BoothService:
    config = load_config(None, {"booth": {"data_dir": str(tmp_path / "booth")}, "hours": {"enforce": False},
                                "hardware": {"screen": "headless"}})
    return build_service(config, broker_url=broker.url, display=HeadlessDisplay(), reader=SimulatedCardReader())


def run_in_background(service: BoothService, script: Callable[[], None]) -> list[str]:
    """Run the booth loop on this (main) thread while ``script`` acts from another; its failures."""
    failures: list[str] = []

    def act() -> None:
        try:
            script()
        except AssertionError as error:
            failures.append(str(error))
        finally:
            service.loop.stop()

    threading.Thread(target=act, daemon=True).start()
    service.run()
    return failures


def test_ready_pings_while_healthy_and_none_while_the_uplink_sender_hangs(broker, notify_socket, service):
    sock = notify_socket
    release = threading.Event()
    real_step = service.uplink._step

    def hung_step() -> None:
        release.wait()

    def script() -> None:
        sock.wait_for(lambda: any("READY=1" in m for _, m in sock.messages), "READY")
        sock.wait_for(lambda: service.uplink.connected, "the uplink to connect")
        healthy_from = time.monotonic()
        sock.wait_for(lambda: len(sock.pings(healthy_from)) >= 3, "three pings while healthy")
        service.uplink._step = hung_step  # the sender thread blocks inside its next step
        hung_at = time.monotonic()
        sock.wait_for(lambda: any(s.startswith("UNHEALTHY") for s in sock.statuses()), "the unhealthy status")
        time.sleep(2 * WATCHDOG_S)
        quiet_from = hung_at + WATCHDOG_S / 2 + 2.0  # a step in progress (<= 1 s) may finish after the swap
        assert sock.pings(quiet_from) == [], "a ping was sent while the uplink sender hung"
        service.uplink._step = real_step
        release.set()
        recovered_from = time.monotonic()
        sock.wait_for(lambda: len(sock.pings(recovered_from)) >= 1, "pings to resume")

    failures = run_in_background(service, script)
    assert not failures, failures
    ready = [t for t, m in sock.messages if "READY=1" in m]
    assert len(ready) == 1 and ready[0] <= sock.pings()[0]
    assert any("no_session" in s and "uplink online" in s and "booth-01" in s for s in sock.statuses())
    assert "STOPPING=1" in sock.messages[-1][1]


def test_no_ping_while_the_capture_loop_hangs(broker, notify_socket, service):
    sock = notify_socket
    release = threading.Event()
    handle = service.parts.booth.handle
    hang = threading.Event()

    def handle_or_hang(event):  # as a camera call that never returns would block the loop
        if hang.is_set():
            release.wait()
        return handle(event)

    service.parts.booth.handle = handle_or_hang

    def script() -> None:
        sock.wait_for(lambda: len(sock.pings()) >= 2, "pings while healthy")
        hang.set()
        hung_at = time.monotonic()
        time.sleep(2 * WATCHDOG_S)
        assert sock.pings(hung_at + 0.5) == [], "a ping was sent while the capture loop hung"
        hang.clear()
        release.set()

    failures = run_in_background(service, script)
    assert not failures, failures


def test_booth_run_process_notifies_ready_status_watchdog_and_stopping(notify_socket, tmp_path):
    config = tmp_path / "booth.toml"
    config.write_text(f'[booth]\ndata_dir = "{tmp_path / "data"}"\n[hours]\nenforce = false\n'
                      '[hardware]\nscreen = "headless"\n', encoding="utf-8")
    booth = Path(sys.executable).with_name("booth")
    process = subprocess.Popen([str(booth), "run", "--config", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        notify_socket.wait_for(lambda: len(notify_socket.pings()) >= 2, "READY and two pings", timeout=120)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    texts = [m for _, m in notify_socket.messages]
    assert texts[0].startswith("READY=1\nSTATUS=no_session · booth-01 · outbox 0 · uplink offline")
    assert "STOPPING=1" in texts[-1]


def test_notify_is_a_no_op_without_a_socket_and_reaches_an_abstract_one():
    assert notify("READY=1", {}) is False
    name = f"booth-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert notify("STATUS=ok", {"NOTIFY_SOCKET": "@" + name}) is True
        assert sock.recv(100) == b"STATUS=ok"
    assert notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/notify"}) is False  # logged, never raised


def test_watchdog_interval_is_for_this_process_only():
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval_s({}) is None and watchdog_interval_s({"WATCHDOG_USEC": "x"}) is None
