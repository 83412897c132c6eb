"""``booth doctor --json`` on simulated hardware with a real TLS mosquitto (production ACL) and real models:
all well, then the broker down, a model file corrupted, the disk nearly full, a second client with the id."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from appliance.cli import main as booth_main
from appliance.config import load_config
from appliance.device.doctor import Doctor
from appliance.quality.models import default_model_dir, load_manifest
from appliance.simulation.roster_gen import generate_roster
from appliance.uplink.client import Uplink
from appliance.uplink.outbox import disk_free_mb
from appliance.uplink.settings import UplinkSettings
from boothcore import db
from boothcore.roster import Roster
from central.certs import make_fleet
from central.local_broker import PRODUCTION_ACL, LocalBroker

BOOTH = "booth-07"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return make_fleet(tmp_path_factory.mktemp("certs"), [BOOTH])


@pytest.fixture
def broker(tmp_path, fleet):
    with LocalBroker(tmp_path / "broker", tls=fleet["broker"], acl_file=PRODUCTION_ACL) as running:
        yield running


def write_config(tmp_path: Path, broker: LocalBroker, fleet, **extra: str) -> Path:
    files = fleet[BOOTH]
    sections = {"booth": f'id = "{BOOTH}"\ndata_dir = "{tmp_path / "data"}"',
                "uplink": f'broker_url = "{broker.url}"\nca_file = "{files.ca}"\ncert_file = "{files.cert}"\n'
                          f'key_file = "{files.key}"\nreconnect_min_s = 0.2\nreconnect_max_s = 1.0'}
    for section, text in extra.items():
        sections[section] = sections.get(section, "") + "\n" + text
    path = tmp_path / "booth.toml"
    path.write_text("".join(f"[{name}]\n{text}\n" for name, text in sections.items()), encoding="utf-8")
    (tmp_path / "data").mkdir(exist_ok=True)  # what provisioning (the data partition) makes
    return path


def doctor(config: Path, capsys) -> tuple[int, dict[str, dict]]:
    code = booth_main(["doctor", "--config", str(config), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] == (code == 0)
    return code, {check["name"]: check for check in report["checks"]}


def test_all_well_on_simulated_hardware(tmp_path, broker, fleet, capsys):
    code, checks = doctor(write_config(tmp_path, broker, fleet), capsys)
    assert code == 0, checks
    for name in ("config", "camera", "reader", "models", "font", "certificates", "broker", "outbox"):
        assert checks[name]["status"] == "ok", checks[name]
    assert checks["broker"]["detail"].endswith("no other client uses this id")
    assert checks["gpio"]["status"] == "warn" and "mock pin factory" in checks["gpio"]["detail"]
    assert {check["status"] for check in checks.values()} <= {"ok", "warn"}


def test_a_missing_data_folder_fails_and_the_doctor_creates_nothing(tmp_path, broker, fleet, capsys):
    config = write_config(tmp_path, broker, fleet)
    (tmp_path / "data").rmdir()
    code, checks = doctor(config, capsys)
    assert code == 1 and checks["disk"]["status"] == "fail" and "does not exist" in checks["disk"]["detail"]
    assert "mount the data partition" in checks["disk"]["fix"]
    assert checks["outbox"]["status"] == "ok" and "has not run" in checks["outbox"]["detail"]
    assert not (tmp_path / "data").exists()


def test_broker_down_fails_with_the_fix(tmp_path, broker, fleet, capsys):
    broker.stop()
    code, checks = doctor(write_config(tmp_path, broker, fleet), capsys)
    assert code == 1 and checks["broker"]["status"] == "fail"
    assert "cannot connect" in checks["broker"]["detail"] and "check the network" in checks["broker"]["fix"]
    assert [name for name, check in checks.items() if check["status"] == "fail"] == ["broker"]


def test_a_corrupted_model_file_fails_with_the_fix(tmp_path, broker, fleet, capsys):
    models = tmp_path / "models"
    shutil.copytree(default_model_dir(), models)
    victim = models / load_manifest().models["face_landmark"].filename
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    code, checks = doctor(write_config(tmp_path, broker, fleet, quality=f'model_dir = "{models}"'), capsys)
    assert code == 1 and checks["models"]["status"] == "fail"
    assert "face_landmark" in checks["models"]["detail"] and "booth models fetch" in checks["models"]["fix"]


def test_a_nearly_full_disk_fails_with_the_fix(tmp_path, broker, fleet, capsys):
    (tmp_path / "data").mkdir()
    reserve = int(disk_free_mb(tmp_path / "data")) + 1000  # the partition holds less than the photo reserve
    code, checks = doctor(write_config(tmp_path, broker, fleet, uplink=f"min_free_mb = {reserve}"), capsys)
    assert code == 1 and checks["disk"]["status"] == "fail"
    assert "below uplink.min_free_mb" in checks["disk"]["detail"] and "booth retention" in checks["disk"]["fix"]


def test_a_second_client_holding_the_booth_id_fails_with_the_fix(tmp_path, broker, fleet, capsys):
    files = fleet[BOOTH]
    settings = UplinkSettings(broker_url=broker.url, ca_file=str(files.ca), cert_file=str(files.cert),
                              key_file=str(files.key), reconnect_min_s=0.2, reconnect_max_s=1.0)
    other = Uplink(settings, BOOTH, tmp_path / "other-booth.db", on_command=lambda command: None)
    other.start(lambda: {"state": "idle"})  # another device configured with this booth's identity
    try:
        deadline = time.monotonic() + 20
        while not other.connected:
            assert time.monotonic() < deadline, "the other client never connected"
            time.sleep(0.05)
        code, checks = doctor(write_config(tmp_path, broker, fleet), capsys)
        assert code == 1 and checks["broker"]["status"] == "fail", checks["broker"]
        assert f"another client is connected as {BOOTH}" in checks["broker"]["detail"]
        assert "give it its own booth id" in checks["broker"]["fix"]
    finally:
        other.stop()


def test_with_booth_service_running_the_doctor_never_connects_as_the_booth(tmp_path, broker, fleet):
    """The broker makes the certificate's CN the client id: a probe would take the live booth's session."""
    files = fleet[BOOTH]
    settings = UplinkSettings(broker_url=broker.url, ca_file=str(files.ca), cert_file=str(files.cert),
                              key_file=str(files.key), reconnect_min_s=0.2, reconnect_max_s=1.0)
    running = Uplink(settings, BOOTH, tmp_path / "running-booth.db", on_command=lambda command: None)
    disconnects: list[str] = []
    running.start(lambda: {"state": "idle"})
    try:
        deadline = time.monotonic() + 20
        while not running.connected:
            assert time.monotonic() < deadline, "the booth never connected"
            time.sleep(0.05)
        connected_at = running.link.generation
        status = {"online": "idle · booth-07 · outbox 0 · uplink online",
                  "offline": "idle · booth-07 · outbox 3 · uplink offline"}
        for link, text in status.items():
            def systemctl(argv: list[str], text: str = text) -> str | None:  # the OS edge: systemd's answers
                if argv[:2] == ["systemctl", "is-active"]:
                    return "active"
                return text if "StatusText" in argv else None

            checks = {c.name: c for c in Doctor(write_config(tmp_path, broker, fleet), command=systemctl).run()}
            assert checks["broker"].status == ("ok" if link == "online" else "fail"), checks["broker"]
            assert checks["camera"].status == "ok"  # simulated: nothing the booth holds
            assert checks["gpio"].status == "warn"
        time.sleep(2)  # a takeover would have shown by now (the booth reconnects within 2 s)
        if running.link.generation != connected_at or not running.connected:
            disconnects.append("the running booth lost its session to the doctor")
    finally:
        running.stop()
    assert not disconnects


def test_clock_and_watchdog_follow_what_systemd_says(tmp_path):
    config = tmp_path / "booth.toml"
    config.write_text(f'[booth]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    answers: dict[str, str | None] = {}

    def systemd(argv: list[str]) -> str | None:  # the OS edge: timedatectl and systemctl answers
        return answers.get(argv[-2])  # the property asked for (show -p NAME --value)

    def run() -> dict[str, object]:
        return {c.name: c for c in Doctor(config, command=systemd).run()}

    answers.update({"NTPSynchronized": "no", "WatchdogUSec": "0", "RuntimeWatchdogUSec": "0"})
    checks = run()
    assert checks["clock"].status == "fail" and "not synchronised" in checks["clock"].detail
    assert checks["watchdog"].status == "fail" and "no WatchdogSec=" in checks["watchdog"].detail
    answers.update({"NTPSynchronized": "yes", "WatchdogUSec": "30s"})
    checks = run()
    assert checks["clock"].status == "ok"
    assert checks["watchdog"].status == "warn" and "RuntimeWatchdogSec=10s" in checks["watchdog"].fix
    answers["RuntimeWatchdogUSec"] = "10s"
    assert run()["watchdog"].status == "ok"


def test_config_only_is_the_units_start_condition(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('[booth]\nid = "booth-07"\n', encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('[booth]\nid = "Booth 7"\n', encoding="utf-8")
    assert booth_main(["doctor", "--config-only", "--config", str(good)]) == 0
    assert "config ok: booth-07" in capsys.readouterr().out
    assert booth_main(["doctor", "--config-only", "--config", str(bad)]) == 2  # ExecCondition 1-254: start skipped
    assert "booth.id = 'Booth 7'" in capsys.readouterr().err


def test_the_roster_check_warns_when_every_card_would_be_refused(tmp_path):
    """No roster, or none of booth.graduation_year's graduates: the booth would refuse every card."""
    path = tmp_path / "booth.toml"
    path.write_text(f'[booth]\ndata_dir = "{tmp_path / "data"}"\ngraduation_year = 2027\n', encoding="utf-8")
    config = load_config(path)
    doctor_ = Doctor(path, command=lambda argv: None)
    check = doctor_.check_roster(config)
    assert check.status == "warn" and "no roster" in check.detail and "booth roster import" in check.fix
    assert not (tmp_path / "data").exists()  # the doctor creates nothing
    conn = db.connect(tmp_path / "data" / "booth.db")
    entry = generate_roster(1, graduation_year=2026)[0]
    Roster(conn).upsert([entry])
    check = doctor_.check_roster(config)
    assert check.status == "warn" and "none of booth.graduation_year 2027" in check.detail
    Roster(conn).upsert([replace(entry, graduation_year=2027)])
    conn.close()
    check = doctor_.check_roster(config)
    assert check.status == "ok" and check.detail == "1 graduate(s) of 2027 in 1 class(es)"


def test_the_fees_check_warns_about_the_embedded_demo_payment_link(tmp_path):
    """The embedded payment QR is a demo link: monitors who scan it pay nobody the booth's office knows."""
    path = tmp_path / "booth.toml"
    path.write_text(f'[booth]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    doctor_ = Doctor(path, command=lambda argv: None)
    check = doctor_.check_fees(load_config(path))
    assert check.status == "warn" and "demo" in check.detail and "fees.payment_qr" in check.fix
    path.write_text(f'[booth]\ndata_dir = "{tmp_path / "data"}"\n[fees]\nprice_cny = 15\n'
                    'payment_qr = "https://qr.alipay.com/fkx19873xyz"\n', encoding="utf-8")
    check = doctor_.check_fees(load_config(path))
    assert check.status == "ok" and check.detail == "15.00 CNY a person, paid to https://qr.alipay.com/fkx19873xyz"
    assert "fees" in {check.name for check in doctor_.run()}
