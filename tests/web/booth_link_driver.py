"""A booth's office link for the browser test: the booth's own ``Uplink`` (boot counter, retained
status, the MQTT Will), idle in a class session until the test SIGKILLs it (so the Will fires).

    python booth_link_driver.py BROKER_URL BOOTH_ID DATA_DIR

Prints ``CONNECTED <boot>`` once the link is up.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from appliance.uplink.client import Uplink
from appliance.uplink.settings import UplinkSettings


def main() -> None:
    url, booth, data = sys.argv[1:4]
    Path(data).mkdir(parents=True, exist_ok=True)
    # No Will Delay: the test watches the Will itself, not the booth's grace period for reconnects.
    settings = UplinkSettings(broker_url=url, will_delay_s=0, session_expiry_s=0, telemetry_interval_s=5)
    session = {"id": "s-1", "kind": "class", "college": "外语学院", "class": "英语2301"}
    uplink = Uplink(settings, booth, Path(data) / "outbox.db",
                    on_command=lambda command: None)
    uplink.start(lambda: {"state": "ready", "session": session, "cpu_temp_c": 48.0})
    while not uplink.connected:
        time.sleep(0.05)
    print(f"CONNECTED {uplink.boot}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
