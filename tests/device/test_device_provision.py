"""First-boot provisioning against a temporary root: a good file, each kind of bad file, a second run.

Real certificates from the fleet CA (``central.certs``, openssl), the real ``booth provision`` CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.cli import main as booth_main
from appliance.config import load_config
from appliance.device.provision import BOOTH_TOML, ERROR_FILE, SYSTEM_TOML, TLS_DIR, under
from central.certs import make_fleet

GOOD = """\
[booth]
id = "booth-07"
graduation_year = 2027

[operator]
pin = "864213"

[hours]
service = ["08:00-12:00"]

[fees]
payment_qr = "https://qr.alipay.com/fkx19873xyz"

[hardware]
camera = "picamera2"
card_reader = "sam:/dev/serial/by-id/usb-reader"
pin_factory = "lgpio"
screen = "fullscreen"

[uplink]
broker_url = "mqtts://office.example.edu:8883"
ca_file = "ca.crt"
cert_file = "booth-07.crt"
key_file = "booth-07.key"

[system]
timezone = "Asia/Shanghai"
ntp = ["ntp.aliyun.com", "ntp.tencent.com"]

[wifi]
ssid = "Campus-Booth"
psk = "correct horse battery"
country = "CN"
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return make_fleet(tmp_path_factory.mktemp("certs"), ["booth-07", "booth-08"])


@pytest.fixture
def boot(tmp_path, fleet) -> Path:
    """A boot partition as the technician leaves it: booth.toml and the booth's three TLS files."""
    folder = tmp_path / "boot"
    folder.mkdir()
    (folder / "booth.toml").write_text(GOOD, encoding="utf-8")
    shutil.copy(fleet["ca"].cert, folder / "ca.crt")
    shutil.copy(fleet["booth-07"].cert, folder / "booth-07.crt")
    shutil.copy(fleet["booth-07"].key, folder / "booth-07.key")
    return folder


def run(boot: Path, root: Path, capsys) -> tuple[int, dict]:
    code = booth_main(["provision", "--from", str(boot / "booth.toml"), "--root", str(root), "--json"])
    return code, json.loads(capsys.readouterr().out)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root: kind, mode, mtime and content (or link target)."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            state[str(path)] = ("link", os.readlink(path), info.st_mtime_ns)
        elif path.is_dir():
            state[str(path)] = ("dir", info.st_mode, info.st_mtime_ns)
        else:
            state[str(path)] = ("file", info.st_mode, info.st_mtime_ns, path.read_bytes())
    return state


def test_good_file_is_installed_with_0600_secrets_removed_from_boot_and_a_second_run_changes_nothing(
        tmp_path, boot, capsys):
    root = tmp_path / "root"
    code, report = run(boot, root, capsys)
    assert code == 0 and report["ok"] and report["booth"] == "booth-07"
    assert sorted(os.listdir(boot)) == []  # booth.toml, the certificate and the key are gone
    assert len(report["deleted"]) == 4
    for name in ("booth.toml", "system.toml", "tls/ca.crt", "tls/booth.crt", "tls/booth.key"):
        path = under(root, BOOTH_TOML.parent / name)
        assert path.stat().st_mode & 0o777 == 0o600, name
    assert under(root, TLS_DIR).stat().st_mode & 0o777 == 0o700

    config = load_config(under(root, BOOTH_TOML))  # what booth.service will read
    assert config.booth.id == "booth-07" and config.operator.accepts("864213")
    assert not config.operator.accepts("2468") and "864213" not in under(root, BOOTH_TOML).read_text()
    assert config.hardware.card_reader == "sam:/dev/serial/by-id/usb-reader"
    assert config.uplink.key_file == str(TLS_DIR / "booth.key") and str(config.data_dir) == "/var/lib/booth"
    assert config.quality.model_dir == "/opt/booth/models"  # where the image put them
    assert under(root, TLS_DIR / "booth.key").read_bytes().startswith(b"-----BEGIN")

    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Asia/Shanghai"
    assert "NTP=ntp.aliyun.com ntp.tencent.com" in (root / "etc/systemd/timesyncd.conf.d/booth.conf").read_text()
    wifi = root / "etc/NetworkManager/system-connections/booth-wifi.nmconnection"
    assert "ssid=Campus-Booth" in wifi.read_text() and wifi.stat().st_mode & 0o777 == 0o600
    assert "ieee80211_regdom=CN" in (root / "etc/modprobe.d/booth-wifi-country.conf").read_text()
    assert not under(root, ERROR_FILE).exists()

    before = snapshot(root)
    time.sleep(0.01)
    code, again = run(boot, root, capsys)
    assert code == 0 and again["installed"] == [] and again["changed"] == [] and again["deleted"] == []
    assert snapshot(root) == before


def test_every_boot_rewrites_the_system_settings_the_ram_overlay_lost(tmp_path, boot, capsys):
    root = tmp_path / "root"
    assert run(boot, root, capsys)[0] == 0
    shutil.rmtree(root / "etc")  # a reboot: the overlay of the read-only root starts empty
    code, report = run(boot, root, capsys)
    assert code == 0 and "/etc/localtime" in report["changed"] and "/etc/timezone" in report["changed"]
    assert (root / "etc/NetworkManager/system-connections/booth-wifi.nmconnection").exists()


def _broken_toml(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace('id = "booth-07"', 'id = "booth-07'), encoding="utf-8")


def _missing_key(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace('cert_file = "booth-07.crt"\n', ""), encoding="utf-8")


def _bad_booth_id(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace('id = "booth-07"', 'id = "Booth 7"'), encoding="utf-8")


def _unreadable_certificate(boot: Path, fleet) -> None:
    (boot / "booth-07.crt").write_text("not a certificate\n", encoding="utf-8")


def _key_copied_as_the_certificate(boot: Path, fleet) -> None:  # a technician's slip: the .key twice
    shutil.copy(fleet["booth-07"].key, boot / "booth-07.crt")


def _certificate_copied_as_the_key(boot: Path, fleet) -> None:
    shutil.copy(fleet["booth-07"].cert, boot / "booth-07.key")


def _certificate_of_another_ca(boot: Path, fleet) -> None:  # the CA of a test fleet left on the card
    shutil.copy(fleet["booth-07"].cert, boot / "ca.crt")


def _missing_certificate(boot: Path, fleet) -> None:
    (boot / "booth-07.crt").unlink()


def _key_of_another_certificate(boot: Path, fleet) -> None:
    shutil.copy(fleet["booth-08"].key, boot / "booth-07.key")


def _certificate_of_another_booth(boot: Path, fleet) -> None:
    shutil.copy(fleet["booth-08"].cert, boot / "booth-07.crt")
    shutil.copy(fleet["booth-08"].key, boot / "booth-07.key")


def _no_graduation_year(boot: Path, fleet) -> None:  # the embedded 2027 would refuse another year's class
    (boot / "booth.toml").write_text(GOOD.replace("graduation_year = 2027", ""), encoding="utf-8")


def _no_payment_link(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace('payment_qr = "https://qr.alipay.com/fkx19873xyz"', ""),
                                     encoding="utf-8")


def _demo_payment_link(boot: Path, fleet) -> None:  # copied from the repository's config/booth.toml
    (boot / "booth.toml").write_text(GOOD.replace("fkx19873xyz", "booth-fee-demo"), encoding="utf-8")


def _no_operator_pin(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace('pin = "864213"', ""), encoding="utf-8")


def _bad_pin_hash(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace('pin = "864213"', 'pin_hash = "md5$abc"'), encoding="utf-8")


def _pin_as_a_number(boot: Path, fleet) -> None:  # TOML without quotes: an integer
    (boot / "booth.toml").write_text(GOOD.replace('pin = "864213"', "pin = 864213"), encoding="utf-8")


def _plain_mqtt(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace("mqtts://office.example.edu:8883", "mqtt://office.example.edu"),
                                     encoding="utf-8")


def _bad_time_zone(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace("Asia/Shanghai", "China/Beijing"), encoding="utf-8")


def _short_wifi_passphrase(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace("correct horse battery", "short"), encoding="utf-8")


def _system_section_capitalised(boot: Path, fleet) -> None:  # read "system.timezone: missing"
    (boot / "booth.toml").write_text(GOOD.replace("[system]", "[System]"), encoding="utf-8")


def _year_in_quotes(boot: Path, fleet) -> None:  # was installed: pydantic's lax mode took the text
    (boot / "booth.toml").write_text(GOOD.replace("graduation_year = 2027", 'graduation_year = "2027"'),
                                     encoding="utf-8")


def _no_hardware(boot: Path, fleet) -> None:
    """Trial: a file without [hardware] was installed, and the booth ran the simulated camera and reader."""
    hardware = GOOD[GOOD.index("[hardware]"):GOOD.index("[uplink]")]
    (boot / "booth.toml").write_text(GOOD.replace(hardware, ""), encoding="utf-8")


def _wifi_key_capitalised(boot: Path, fleet) -> None:
    (boot / "booth.toml").write_text(GOOD.replace("country =", "Country ="), encoding="utf-8")


BAD = {
    "broken TOML": (_broken_toml, "is not valid TOML"),
    "missing key": (_missing_key, "uplink.cert_file: missing"),
    "bad booth id": (_bad_booth_id, "booth.id = 'Booth 7'"),
    "unreadable certificate": (_unreadable_certificate, "not a PEM certificate"),
    "missing certificate": (_missing_certificate, "cannot read it"),
    "key copied as the certificate": (_key_copied_as_the_certificate, "not a PEM certificate"),
    "certificate copied as the key": (_certificate_copied_as_the_key, "not a usable PEM private key"),
    "certificate of another CA": (_certificate_of_another_ca, "was not issued by the CA"),
    "key that does not match the certificate": (_key_of_another_certificate, "does not match the certificate"),
    "certificate of another booth": (_certificate_of_another_booth, "is for 'booth-08', not for booth 'booth-07'"),
    "no graduation year": (_no_graduation_year, "booth.graduation_year: missing"),
    "no payment link": (_no_payment_link, "fees.payment_qr: missing"),
    "demo payment link": (_demo_payment_link, "fees.payment_qr = 'https://qr.alipay.com/booth-fee-demo': the demo"),
    "no operator PIN": (_no_operator_pin, "operator.pin_hash: missing"),
    "bad PIN hash": (_bad_pin_hash, "operator.pin_hash (value not shown): must look like scrypt$"),
    "PIN without quotes": (_pin_as_a_number, "operator.pin (value not shown): Input should be a valid string: "
                           "write it in quotes"),
    "plain mqtt": (_plain_mqtt, "use mqtts://"),
    "bad time zone": (_bad_time_zone, "system.timezone: 'China/Beijing' is not an IANA time zone"),
    "short Wi-Fi passphrase": (_short_wifi_passphrase, "wifi.psk: must be 8-63"),
    "[System] for [system]": (_system_section_capitalised, "[System]: unknown section: did you mean [system]? "
                              "(the sections: [booth], [hours],"),
    "year in quotes": (_year_in_quotes, "booth.graduation_year = '2027': must be a whole number, written without "
                       "quotes"),
    "no [hardware]": (_no_hardware, "hardware.camera: missing"),
    "Wi-Fi key capitalised": (_wifi_key_capitalised, "wifi.Country: unknown key: did you mean wifi.country?"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_file_changes_nothing_and_says_why(tmp_path, boot, fleet, capsys, kind):
    spoil, reason = BAD[kind]
    spoil(boot, fleet)
    left = sorted(os.listdir(boot))
    root = tmp_path / "root"
    code, report = run(boot, root, capsys)
    assert code == 2 and report["ok"] is False and reason in report["error"], report
    assert "\n" not in report["error"], report  # one line: the log and the "not provisioned" screen
    assert "short" not in report["error"]  # a passphrase is never repeated
    assert "864213" not in report["error"] and "md5$abc" not in report["error"]  # nor the PIN (the screen shows it)
    assert sorted(os.listdir(boot)) == left  # the technician's file stays to be fixed
    assert not under(root, BOOTH_TOML).exists() and not (root / "etc").exists()
    assert reason in under(root, ERROR_FILE).read_text()  # what the "not provisioned" screen shows


def test_a_file_a_windows_editor_saved_with_a_byte_order_mark_is_installed(tmp_path, boot, capsys):
    (boot / "booth.toml").write_text(GOOD, encoding="utf-8-sig")
    code, report = run(boot, tmp_path / "root", capsys)
    assert code == 0 and report["booth"] == "booth-07"


def test_a_bad_file_on_a_provisioned_booth_keeps_the_working_configuration(tmp_path, boot, fleet, capsys):
    root = tmp_path / "root"
    assert run(boot, root, capsys)[0] == 0
    installed = snapshot(under(root, SYSTEM_TOML.parent.parent))
    (boot / "booth.toml").write_text(GOOD.replace('id = "booth-07"', 'id = "booth-08"'), encoding="utf-8")
    shutil.copy(fleet["ca"].cert, boot / "ca.crt")
    shutil.copy(fleet["booth-07"].cert, boot / "booth-07.crt")
    shutil.copy(fleet["booth-07"].key, boot / "booth-07.key")
    code, report = run(boot, root, capsys)
    assert code == 2 and "is for 'booth-07', not for booth 'booth-08'" in report["error"]
    after = snapshot(under(root, SYSTEM_TOML.parent.parent))
    after.pop(str(under(root, ERROR_FILE)))
    assert after == installed
    assert load_config(under(root, BOOTH_TOML)).booth.id == "booth-07"
    shutil.rmtree(root / "etc")  # a reboot with the bad file still there: the booth keeps its network and clock
    assert run(boot, root, capsys)[0] == 2
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Asia/Shanghai"
    assert (root / "etc/NetworkManager/system-connections/booth-wifi.nmconnection").exists()


def test_without_a_file_an_unprovisioned_booth_says_so(tmp_path, capsys):
    root = tmp_path / "root"
    code, report = run(tmp_path / "empty-boot", root, capsys)
    assert code == 2 and "not provisioned" in report["error"]
    assert "not provisioned" in under(root, ERROR_FILE).read_text()


def test_not_provisioned_screen_shows_the_reason(tmp_path, boot, capsys):
    (boot / "booth.toml").write_text("[booth\n", encoding="utf-8")
    root = tmp_path / "root"
    assert run(boot, root, capsys)[0] == 2
    booth = Path(sys.executable).with_name("booth")
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    process = subprocess.Popen([str(booth), "provision", "--screen", "headless", "--root", str(root)],
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stderr.readline()
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "screen=error tone=bad" in line and "This booth is not provisioned" in line and "not valid TOML" in line
