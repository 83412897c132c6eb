"""The local mosquitto never outlives what started it: a pid file left by a killed parent is reaped."""

from __future__ import annotations

import os
import subprocess

import psutil

from central.local_broker import LocalBroker


def test_a_broker_left_running_in_the_folder_is_stopped_at_the_next_start(tmp_path):
    broker = LocalBroker(tmp_path / "broker")
    broker.conf_path.write_text(broker.render_config(), encoding="utf-8")
    # As a parent killed between fork and exec (or on an OS without PR_SET_PDEATHSIG) leaves it.
    orphan = subprocess.Popen([broker.binary, "-c", str(broker.conf_path)], stderr=subprocess.DEVNULL)
    broker.pid_path.write_text(f"{orphan.pid}\n", encoding="ascii")
    again = LocalBroker(tmp_path / "broker")
    try:
        again.start()
        assert orphan.wait(timeout=10) is not None  # stopped by the new start, not by this test
        assert int(again.pid_path.read_text()) != orphan.pid and again.running
    finally:
        again.stop()
        if orphan.poll() is None:
            orphan.kill()
    assert not again.pid_path.exists()


def test_a_pid_file_naming_another_process_kills_nothing(tmp_path):
    broker = LocalBroker(tmp_path / "broker")
    broker.pid_path.write_text(f"{os.getpid()}\n", encoding="ascii")  # a reused pid: this test itself
    with broker:
        assert psutil.Process(os.getpid()).is_running() and broker.running
