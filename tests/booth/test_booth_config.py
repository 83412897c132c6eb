"""Configuration: the shipped file equals the embedded defaults; a bad value is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.cli import main
from appliance.config import BoothConfig, load_config
from boothcore.config import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "booth.toml"


def test_shipped_config_documents_exactly_the_defaults():
    assert load_config(SHIPPED) == BoothConfig()


def test_every_key_in_the_shipped_file_has_a_comment_above_it():
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            above = [text for text in lines[:index] if text.strip()][-1]
            assert above.startswith("#") or "=" in above, f"no comment above: {line}"


@pytest.mark.parametrize(("toml", "expected"), [
    ("[fees]\nprice_cny = 25\n", "config error: fees.price_cny = 25: must be at most fees.cap_cny (20)"),
    ("[booth]\nid = 'Booth 1'\n", "config error: booth.id = 'Booth 1': a booth id is 1 to 32 lowercase letters a-z, "
     "digits and hyphens, starting with a letter or digit (e.g. booth-01)"),
    ("[hours]\nservice = ['8-12']\n", "config error: hours.service = ['8-12']: '8-12' is not a window"),
    ("[capture]\nretake_limit = 0\n", "config error: capture.retake_limit = 0: Input should be greater than"),
    ("[hardware]\ncamera = 'usb'\n", "config error: hardware.camera = 'usb': Input should be 'simulated' or"),
    ("[capture]\ncountdwn_s = 3\n", "config error: capture.countdwn_s: unknown key: did you mean capture.countdown_s?"),
    ("[booth]\nmy_key = 3\n", "config error: booth.my_key: unknown key ([booth] takes id, data_dir, graduation_year,"),
    # a section's name is lower case: the line names the wrong one and the one meant
    ("[Booth]\nid = 'booth-02'\n", "config error: [Booth]: unknown section: did you mean [booth]? (the sections: "
     "[booth], [hours], [fees], [operator], [capture], [output], [hardware], [quality], [uplink])"),
    ("[Quality.severity]\nface_count = 'reject'\n",
     "config error: [Quality]: unknown section: did you mean [quality]?"),
    ("[quality.Severity]\nface_count = 'reject'\n", "config error: quality.Severity: unknown key: did you mean "
     "quality.severity?"),
    # a number or true/false in quotes is refused (pydantic's lax mode took "2027" as 2027 silently)
    ("[booth]\ngraduation_year = '2027'\n",
     "config error: booth.graduation_year = '2027': must be a whole number, written without quotes"),
    ("[fees]\nprice_cny = \"15\"\n", "config error: fees.price_cny = '15': must be a number, written without quotes"),
    ("[hardware]\nsound = 'false'\n", "config error: hardware.sound = 'false': must be true or false, written without"),
    ("[quality]\nmax_roll_deg = '8'\n", "config error: quality.max_roll_deg = '8': must be a number, written without"),
    ("[uplink]\nkeepalive_s = '30'\n", "config error: uplink.keepalive_s = '30': must be a whole number, written"),
    ("[output]\nmin_quality = '70'\n", "config error: output.min_quality = '70': must be a whole number, written"),
    ("[hours]\nservice = '08:00-12:00'\n", "config error: hours.service = '08:00-12:00': Input should be a valid "
     'list: write it in brackets, e.g. ["08:00-12:00"]'),
    ("[quality]\nbackground_rgb = '100,197,255'\n", "config error: quality.background_rgb = '100,197,255': Input "
     "should be a valid tuple: write its numbers in brackets, as the documented config file shows"),
    # "" is not the default folder but the working directory: the roster and photos went there
    ("[booth]\ndata_dir = ''\n", "config error: booth.data_dir = '': must name a folder: leave the key out for "
     "the default (/var/lib/booth)"),
    ("[output]\nmin_bytes = 50000\n", "config error: output.min_bytes = 50000: must be below output.max_bytes (40000)"),
    ("[booth\n", "is not valid TOML"),
    ("[booth]\nid = 7\n", "config error: booth.id = 7: Input should be a valid string: write it in quotes"),
    # the PIN is never shown: the line goes to the log and the "not provisioned" screen
    ("[operator]\npin = 123456\n", "config error: operator.pin (value not shown): Input should be a valid string"),
    ("[operator]\npin = '123456789'\n", "config error: operator.pin (value not shown): must be 4 to 8 digits"),
    ("[operator]\npin = '１２３４'\n", "config error: operator.pin (value not shown): must be 4 to 8 digits"),
])
def test_bad_value_names_key_value_and_what_is_allowed(tmp_path, toml, expected):
    path = tmp_path / "booth.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message and "\n" not in message


def test_a_byte_order_mark_is_not_a_toml_error(tmp_path):
    path = tmp_path / "booth.toml"
    path.write_text("[booth]\nid = 'booth-07'\n", encoding="utf-8-sig")  # Windows Notepad's "UTF-8 with BOM"
    assert load_config(path).booth.id == "booth-07"


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_cli_stops_with_the_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "booth.toml"
    path.write_text("[fees]\nprice_cny = 30\n", encoding="utf-8")
    roster = tmp_path / "x.csv"
    roster.write_text("id_number\n", encoding="utf-8")
    assert main(["roster", "import", "--config", str(path), str(roster)]) == 2
    assert capsys.readouterr().err.strip() == (
        "config error: fees.price_cny = 30: must be at most fees.cap_cny (20)")
