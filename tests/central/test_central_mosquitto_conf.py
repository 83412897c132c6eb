"""config/mosquitto/mosquitto.conf installed as its README says, /etc/mosquitto/conf.d/booth.conf beside
Debian's own /etc/mosquitto/mosquitto.conf, starts the real mosquitto (trial: both files set
persistence_location, and mosquitto 2.0 refused to start: 'Duplicate persistence_location value')."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import time
from pathlib import Path

from central.certs import make_fleet
from central.local_broker import PRODUCTION_CONF, free_port

ACL = PRODUCTION_CONF.parent / "booth.acl"
# Debian 12's /etc/mosquitto/mosquitto.conf (package mosquitto 2.0.11), its paths moved into the test's
# folder; `user` keeps the broker as the test's user so it can read that folder.
DEBIAN_MAIN = """pid_file {root}/mosquitto.pid
persistence true
persistence_location {root}/persist/
log_dest file {root}/mosquitto.log
include_dir {root}/conf.d
user {user}
"""


def test_the_production_config_starts_as_debians_conf_d_file(tmp_path: Path) -> None:
    make_fleet(tmp_path / "certs", ["booth-01"])
    (tmp_path / "persist").mkdir()
    (tmp_path / "conf.d").mkdir()
    ports = {8883: free_port(), 8884: free_port()}
    text = (PRODUCTION_CONF.read_text(encoding="utf-8").replace("/etc/mosquitto/certs", str(tmp_path / "certs"))
            .replace("/etc/mosquitto/booth.acl", str(ACL)).replace("log_dest syslog", "log_dest stderr"))
    for port, free in ports.items():
        text = text.replace(f"listener {port}\n", f"listener {free} 127.0.0.1\n")
    (tmp_path / "conf.d" / "booth.conf").write_text(text, encoding="utf-8")
    main = tmp_path / "mosquitto.conf"
    main.write_text(DEBIAN_MAIN.format(root=tmp_path, user=pwd.getpwuid(os.getuid()).pw_name), encoding="utf-8")
    broker = subprocess.Popen(["mosquitto", "-c", str(main)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30  # a loaded shared machine
        while broker.poll() is None and time.monotonic() < deadline:
            if all(_accepts(port) for port in ports.values()):
                break
            time.sleep(0.05)
        assert broker.poll() is None, broker.stderr.read().decode(errors="replace") if broker.stderr else ""
        assert all(_accepts(port) for port in ports.values()), "mosquitto did not open both listeners"
    finally:
        broker.terminate()
        broker.wait(10)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False
