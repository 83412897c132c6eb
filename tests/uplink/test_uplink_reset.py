"""A booth whose data was reset (a new SD card: boot counter back to 1) is taken up again by central."""

from __future__ import annotations

import logging
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from appliance.uplink.client import Uplink
from boothcore import protocol as p
from central.cli import main as central_main
from central.local_broker import LocalBroker
from central.store import BoothStatus, SqliteStore
from tests.uplink.uplink_fake_central import wait_for
from tests.uplink.uplink_real_central import RealCentral


def booth_on(data: Path, settings) -> Uplink:
    return Uplink(settings, "booth-01", data / "booth.db", on_command=lambda command: None)


def central_view(central: RealCentral) -> BoothStatus | None:
    store = SqliteStore(central.data_dir / "central.db")
    try:
        return next((b for b in store.booths() if b.booth == "booth-01"), None)
    finally:
        store.close()


def run_until_seen(uplink: Uplink, central: RealCentral, state: str) -> None:
    uplink.start(lambda: {"state": state})
    try:
        wait_for(lambda: (b := central_view(central)) is not None and b.state == state and b.boot == uplink.boot,
                 what=f"central to show state {state} at boot {uplink.boot}")
    finally:
        uplink.stop()


def test_a_booth_with_new_data_starts_a_new_boot_sequence_at_central(
        tmp_path: Path, broker: LocalBroker, real_central: RealCentral, make_settings,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.INFO, "central.ingest")
    old_card, new_card = tmp_path / "sd-old", tmp_path / "sd-new"
    for state in ("idle", "ready", "review"):  # three starts on the old card: boots 1, 2, 3
        run_until_seen(booth_on(old_card, make_settings()), real_central, state)
    before = central_view(real_central)
    assert before is not None and before.boot == 3 and before.install_id and before.resets == 0
    again = booth_on(old_card, make_settings())
    again.start(lambda: {"state": "idle"})
    again.stop()
    assert again.install_id == before.install_id, "the install id is made once per data folder"

    fresh = booth_on(new_card, make_settings())  # the reset booth: boot 1, new install id
    run_until_seen(fresh, real_central, "countdown")
    after = central_view(real_central)
    assert after is not None and after.boot == 1 and after.install_id == fresh.install_id != before.install_id
    assert after.resets == 1 and after.reset_at
    assert "booth-01 was reset" in caplog.text
    toml = tmp_path / "central.toml"
    toml.write_text(f'[storage]\ndata_dir = "{real_central.data_dir}"\n', encoding="utf-8")
    assert central_main(["booths", "--config", str(toml)]) == 0
    shown = capsys.readouterr().out
    assert f"boot 1, install {fresh.install_id}" in shown
    assert f"data reset 1 time(s), last at {after.reset_at}" in shown

    # The old card's late Will (boot 4, higher than the new boot 1) does not take the booth back.
    late = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="old-card-will", protocol=mqtt.MQTTv5)
    late.connect(broker.host, broker.port)
    late.loop_start()
    try:
        will = p.will_status("booth-01", 4, before.install_id)
        late.publish(p.status_topic("booth-01"), p.encode(will), qos=1, retain=True).wait_for_publish(10)
    finally:
        late.disconnect()
        late.loop_stop()
    wait_for(lambda: "from install" in caplog.text, what="the retired install's status to be ignored")
    final = central_view(real_central)
    assert final is not None and (final.boot, final.install_id) == (1, fresh.install_id)
