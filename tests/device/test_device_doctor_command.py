"""Central asks a running booth for ``booth doctor`` over MQTT and prints its answer.

Real mosquitto, real central ingest, the real booth service on simulated hardware, the
``booth-central doctor`` command line.
"""

from __future__ import annotations

import threading
import time

import pytest

from appliance.app import build_service
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.config import load_config
from appliance.ui.headless_display import HeadlessDisplay
from appliance.uplink.outbox import disk_free_mb
from central.cli import main as central_main
from central.embedded import EmbeddedCentral


# The broker in booth.toml, or handed to build_service as `booth demo` does (trial: the demo's booths
# answered "WARN broker: no uplink.broker_url: photos stay in the outbox" while connected to it).
@pytest.mark.parametrize("broker_given", ["in booth.toml", "to build_service"])
def test_office_asks_a_running_booth_for_its_doctor_report(tmp_path, capsys, broker_given):
    with EmbeddedCentral(tmp_path, workers=1) as central:
        central_toml = tmp_path / "central.toml"
        central_toml.write_text(f'[broker]\nurl = "{central.url}"\n[storage]\ndata_dir = "{tmp_path / "central"}"\n',
                                encoding="utf-8")
        in_toml = broker_given == "in booth.toml"
        config = load_config(None, {"booth": {"data_dir": str(tmp_path / "booth")}, "hours": {"enforce": False},
                                    "hardware": {"screen": "headless"},
                                    "uplink": {"broker_url": central.url if in_toml else ""}})
        service = build_service(config, broker_url=None if in_toml else central.url, display=HeadlessDisplay(),
                                reader=SimulatedCardReader())
        config = service.parts.config  # the one the booth runs with
        codes: list[int] = []
        failures: list[str] = []
        done = threading.Event()

        def office() -> None:
            try:
                # The booth subscribes, then publishes its status: once central has the status, a command
                # cannot arrive before the subscription (the broker drops it for a booth with no session).
                store = central.open_store()
                try:
                    deadline = time.monotonic() + 60
                    while not any(b.booth == "booth-01" and b.online for b in store.booths()):
                        assert time.monotonic() < deadline, "the booth never showed up at central"
                        time.sleep(0.1)
                finally:
                    store.close()
                argv = ["doctor", "booth-01", "--config", str(central_toml), "--wait", "60"]
                codes.append(central_main(argv))
                # The data partition now holds less than the photo reserve: the booth is not healthy.
                config.uplink.min_free_mb = int(disk_free_mb(config.data_dir)) + 1000
                codes.append(central_main(argv))
            except AssertionError as error:
                failures.append(str(error))
            finally:
                done.set()

        threading.Thread(target=office, daemon=True).start()
        service.run(until=done.is_set)
    assert not failures, failures
    healthy, sick = capsys.readouterr().out.strip().splitlines()[-2:]
    assert codes == [0, 1], (codes, healthy, sick)
    assert healthy.startswith("booth-01: healthy: ") and "WARN gpio: mock pin factory" in healthy
    assert "FAIL" not in healthy and "broker:" not in healthy  # ok checks are counted, not listed
    assert sick.startswith("booth-01: NOT healthy: 1 fail") and "FAIL disk:" in sick and "booth retention" in sick
