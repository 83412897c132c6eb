"""``booth-central serve --http`` runs the ingest and the dashboard in one process; ``web`` alone
shares the same store from another process (issue 12 item 1)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from central.local_broker import LocalBroker, free_port

REPO = Path(__file__).resolve().parents[2]


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            return urllib.request.urlopen(url, timeout=2).status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def test_serve_with_http_and_a_separate_web_process_share_the_store(tmp_path: Path):
    with LocalBroker(tmp_path / "broker") as broker:
        toml = tmp_path / "central.toml"
        toml.write_text(f'[broker]\nurl = "mqtt://{broker.host}:{broker.port}"\n'
                        f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[ingest]\nworkers = 1\n', encoding="utf-8")
        serve_port, web_port = free_port(), free_port()
        processes = [subprocess.Popen([sys.executable, "-m", "central.cli", *args, "--config", str(toml)], cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for args in (["serve", "--migrate", "--http", f"127.0.0.1:{serve_port}"],
                                  ["web", "--migrate", "--http", f"127.0.0.1:{web_port}"])]
        try:
            for process, port in zip(processes, (serve_port, web_port), strict=True):
                assert _wait_for(f"http://127.0.0.1:{port}/login", process) == 200
                assert _wait_for(f"http://127.0.0.1:{port}/api/fleet.json", process) == 401
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=30) for process in processes]
        assert codes == [0, 0], [p.stderr.read() for p in processes]
