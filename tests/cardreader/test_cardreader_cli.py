"""``booth read-card`` through the SAM emulator: output, masking, exit codes."""

from __future__ import annotations

import dataclasses
import json

import pytest

from appliance.cli import main
from tests.cardreader.cardreader_cards import FOREIGN_2017, HMT_PERMIT, RESIDENT, RESIDENT_LONG_TERM
from tests.cardreader.cardreader_sam_emulator import SamEmulator


def read_card(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["read-card", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_read_masks_personal_data(emulator: SamEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.place(RESIDENT)
    code, out, err = read_card(capsys, "--reader", f"sam:{emulator.path}@115200", "--timeout", "5")
    assert code == 0, err
    assert RESIDENT.id_number not in out and "张小明" not in out and "建国路" not in out
    assert "110105********" in out and "张**" in out
    assert "kind" in out and "resident" in out and "2030-03-01" in out and "北京市公安局朝阳分局" in out


def test_json_with_personal_data(emulator: SamEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.place(RESIDENT_LONG_TERM)
    code, out, _ = read_card(capsys, "--reader", f"sam:{emulator.path}", "--timeout", "5", "--json",
                             "--show-personal-data")
    assert code == 0
    fields = json.loads(out)
    assert fields["id_number"] == "11010519491231002X" and fields["name"] == "欧阳娜娜"
    assert fields["valid_to"] == "长期" and fields["gender"] == "女" and fields["nationality"] == "维吾尔"
    assert fields["birth_date"] == "1949-12-31" and fields["photo_bytes"] == 1024


@pytest.mark.parametrize("card", [HMT_PERMIT, FOREIGN_2017], ids=lambda c: str(c.kind))
def test_other_card_kinds_are_accepted(emulator: SamEmulator, capsys: pytest.CaptureFixture[str], card) -> None:
    emulator.place(card)
    code, out, err = read_card(capsys, "--reader", f"sam:{emulator.path}", "--timeout", "5", "--json")
    assert code == 0, err
    assert json.loads(out)["kind"] == card.kind


def test_bad_checksum_number_is_refused(emulator: SamEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    emulator.place(dataclasses.replace(RESIDENT, id_number=RESIDENT.id_number[:17] + "0"
                                       if RESIDENT.id_number[17] != "0" else RESIDENT.id_number[:17] + "1"))
    code, _, err = read_card(capsys, "--reader", f"sam:{emulator.path}", "--timeout", "5")
    assert code == 1
    assert err.strip() == "read-card: card refused: ID number checksum does not match (check character is wrong)"


def test_timeout(emulator: SamEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = read_card(capsys, "--reader", f"sam:{emulator.path}", "--timeout", "0.2")
    assert (code, out, err.strip()) == (1, "", "read-card: no card within 0.2 s")


def test_reader_error(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = read_card(capsys, "--reader", f"sam:{tmp_path}/ttyUSB7@115200", "--timeout", "1")
    assert code == 2
    assert err.startswith("read-card: reader error: card reader ") and "cannot open" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = read_card(capsys, "--reader", "usb:/dev/ttyUSB0")
    assert code == 2 and "unknown reader kind 'usb'" in err


def test_simulated_reader_from_config_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = read_card(capsys, "--timeout", "0.05")
    assert code == 1 and "no card within" in err
