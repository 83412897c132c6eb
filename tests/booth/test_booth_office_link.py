"""The booth's header says when the office link is down, and stops saying it when it is back.

The real booth service (flow, loop, uplink) against a broker port where nothing listens yet, then a
real mosquitto started on that port (issue 10 item 8).
"""

from __future__ import annotations

import time

from appliance.app import build_service
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.ui.headless_display import HeadlessDisplay
from central.local_broker import LocalBroker, free_port


def test_header_shows_office_link_down_since_and_clears(tmp_path):
    port = free_port()
    config = load_config(None, {
        "booth": {"data_dir": str(tmp_path / "booth"), "graduation_year": 2027},
        "hours": {"enforce": False}, "hardware": {"screen": "headless"},
        "uplink": {"broker_url": f"mqtt://127.0.0.1:{port}", "will_delay_s": 1, "reconnect_min_s": 0.1,
                   "reconnect_max_s": 0.5}})
    display = HeadlessDisplay()
    service = build_service(config, display=display, reader=SimulatedCardReader())
    seen: list[str] = []
    broker = LocalBroker(tmp_path / "broker", port=port)
    deadline = time.monotonic() + 60

    def step() -> bool:
        status = display.last_view.status if display.last_view else ""
        if not seen or seen[-1] != status:
            seen.append(status)
        down = "office link down since" in status
        if down and not broker.running:
            broker.start()  # the office broker comes back
        return (broker.running and service.uplink.connected and not down) or time.monotonic() > deadline

    try:
        service.run(until=step)
    finally:
        broker.stop()
    down = [status for status in seen if "office link down since" in status]
    assert down, seen
    assert down[0].startswith("与办公室断开(自 ") and down[0].endswith("· booth-01")
    assert "office link down since" not in seen[-1] and seen[-1] == "booth-01", seen
