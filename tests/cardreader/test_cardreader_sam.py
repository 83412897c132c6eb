"""SamReader against the emulator on a real pty: cards, debouncing, faults, unplugging, baud probing."""

from __future__ import annotations

import threading

import pytest

from appliance.cardreader.base import CardReader, IdentityCard, ReaderUnavailable
from appliance.cardreader.sam_protocol import (
    CardReadFailed,
    CardSelectFailed,
    FrameChecksumError,
    TruncatedFrame,
)
from appliance.cardreader.sam_reader import SamReader
from appliance.cardreader.text_block import TextBlockError, encode
from boothcore.cardkind import CardKind
from tests.cardreader.cardreader_cards import FOREIGN_2017, FOREIGN_2023, HMT_PERMIT, RESIDENT, RESIDENT_LONG_TERM
from tests.cardreader.cardreader_sam_emulator import SAM_ID, SamEmulator, fast_reader


def test_is_a_card_reader(sam: SamReader) -> None:
    assert isinstance(sam, CardReader)


@pytest.mark.parametrize("card", [RESIDENT, RESIDENT_LONG_TERM, HMT_PERMIT, FOREIGN_2023, FOREIGN_2017],
                         ids=lambda card: card.kind + ("_long_term" if card.long_term else ""))
def test_reads_every_card_kind(emulator: SamEmulator, sam: SamReader, card: IdentityCard) -> None:
    photo = bytes((i * 7) % 256 for i in range(1024))
    emulator.place(card, photo=photo)
    got = sam.wait_for_card(5)
    assert got is not None
    assert got == IdentityCard(**{**card.__dict__, "photo": photo})
    assert emulator.requests[-3:] == [(0x20, 0x01), (0x20, 0x02), (0x30, 0x01)]


def test_j_permit_fields(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.place(HMT_PERMIT)
    card = sam.wait_for_card(5)
    assert card is not None and card.kind is CardKind.HMT_PERMIT
    assert (card.pass_number, card.issue_count, card.id_number[:2]) == ("H12345678", 1, "81")


def test_y_card_fields(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.place(FOREIGN_2023)
    card = sam.wait_for_card(5)
    assert card is not None and card.kind is CardKind.FOREIGN_2023
    assert card.id_number.startswith("9") and card.name == "马克"
    assert card.name_en == "MARK ALEXANDER WILLIAMSON-SMITHERS JUNIOR"
    assert card.nationality == "USA"


def test_long_term_validity(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.place(RESIDENT_LONG_TERM)
    card = sam.wait_for_card(5)
    assert card is not None and card.long_term and card.valid_to is None


def test_no_card_times_out(emulator: SamEmulator, sam: SamReader) -> None:
    assert sam.wait_for_card(0.2) is None
    assert (0x20, 0x01) in emulator.requests
    assert (0x20, 0x02) not in emulator.requests


def test_card_left_on_reader_is_one_swipe(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.place(RESIDENT)
    assert sam.wait_for_card(5) is not None
    assert sam.wait_for_card(0.3) is None
    assert emulator.requests.count((0x30, 0x01)) == 1
    emulator.remove()
    assert sam.wait_for_card(0.2) is None  # long enough to see the card gone
    emulator.place(RESIDENT)
    again = sam.wait_for_card(5)
    assert again is not None and again.id_number == RESIDENT.id_number


def test_card_swap_is_a_new_swipe(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.place(RESIDENT)
    assert sam.wait_for_card(5) is not None
    emulator.remove()
    assert sam.wait_for_card(0.2) is None
    emulator.place(HMT_PERMIT)
    card = sam.wait_for_card(5)
    assert card is not None and card.kind is CardKind.HMT_PERMIT


def test_select_failure_is_reported_once_per_placement(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.faults.select_fails = True
    emulator.place(RESIDENT)
    with pytest.raises(CardSelectFailed) as info:
        sam.wait_for_card(5)
    assert info.value.code == "sam_select_failed"
    assert "0x81" in info.value.en and "选取证件失败" in info.value.zh
    assert emulator.requests.count((0x20, 0x02)) == sam.attempts
    assert sam.wait_for_card(0.2) is None  # still the same placement: no second error
    emulator.faults.select_fails = False
    emulator.remove()
    assert sam.wait_for_card(0.2) is None
    emulator.place(RESIDENT)
    assert sam.wait_for_card(5) is not None


def test_read_failure(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.faults.read_fails = True
    emulator.place(RESIDENT)
    with pytest.raises(CardReadFailed) as info:
        sam.wait_for_card(5)
    assert info.value.code == "sam_read_failed" and "读证件操作失败" in info.value.zh


def test_a_transient_select_failure_is_retried(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.faults.select_fails = True
    emulator.place(RESIDENT)
    sam.attempts = 100
    assert sam.wait_for_card(0.1) is None
    emulator.faults.select_fails = False
    assert sam.wait_for_card(5) is not None


def test_corrupt_card_data(emulator: SamEmulator, sam: SamReader) -> None:
    text = bytearray(encode(RESIDENT))
    text[36:52] = "20041399".encode("utf-16-le")  # 13th month
    emulator.place(RESIDENT, text=bytes(text))
    with pytest.raises(TextBlockError) as info:
        sam.wait_for_card(5)
    assert "birth_date 20041399" in info.value.en


def test_one_bad_checksum_is_retried(emulator: SamEmulator, sam: SamReader) -> None:
    sam.open()
    emulator.faults.corrupt_replies = 1
    emulator.place(RESIDENT)
    assert sam.wait_for_card(5) is not None


def test_bad_checksum_on_every_reply(emulator: SamEmulator, sam: SamReader) -> None:
    sam.open()
    emulator.faults.corrupt_replies = -1
    with pytest.raises(FrameChecksumError) as info:
        sam.wait_for_card(5)
    assert "checksum" in info.value.en and info.value.zh.startswith("读卡器通讯错误")
    emulator.faults.corrupt_replies = 0
    emulator.place(RESIDENT)
    assert sam.wait_for_card(5) is not None  # no crash, the same reader goes on


def test_truncated_frame(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.faults.truncate_read = True
    emulator.place(RESIDENT)
    sam.attempts = 1  # each attempt already retries the command; one placement attempt is enough here
    with pytest.raises(TruncatedFrame) as info:
        sam.wait_for_card(10)
    assert "cut short" in info.value.en


def test_noise_between_frames(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.faults.noise_between_frames = True
    emulator.place(RESIDENT)
    card = sam.wait_for_card(5)
    assert card is not None and card.id_number == RESIDENT.id_number


def test_unplugged_mid_read_then_back(emulator: SamEmulator, sam: SamReader) -> None:
    emulator.place(RESIDENT)
    emulator.faults.unplug_during_read = True
    with pytest.raises(ReaderUnavailable) as info:
        sam.wait_for_card(5)
    assert "disconnected" in info.value.en and "已断开" in info.value.zh
    # Still unplugged: the next wait keeps trying until its timeout, then says so again.
    with pytest.raises(ReaderUnavailable) as info:
        sam.wait_for_card(0.2)
    assert "cannot open" in info.value.en
    plugged = threading.Timer(0.2, emulator.plug)
    plugged.start()
    card = sam.wait_for_card(10)  # re-opened while waiting; the card is still there
    plugged.join()
    assert card is not None and card.id_number == RESIDENT.id_number


def test_missing_port_is_unavailable(tmp_path) -> None:
    reader = fast_reader(tmp_path / "ttyUSB9")
    with pytest.raises(ReaderUnavailable) as info:
        reader.wait_for_card(1)
    assert "ttyUSB9" in info.value.en and info.value.code == "reader_unavailable"


def test_baud_rate_probing(tmp_path) -> None:
    emu = SamEmulator(tmp_path, baudrate=38400)
    reader = fast_reader(emu.path, None)
    try:
        emu.place(RESIDENT)
        assert reader.wait_for_card(10) is not None
        assert reader.baudrate == 38400
    finally:
        reader.close()
        emu.unplug()


def test_wrong_fixed_baud_rate_is_a_clear_error(tmp_path) -> None:
    emu = SamEmulator(tmp_path, baudrate=9600)
    reader = fast_reader(emu.path, 115200)
    try:
        with pytest.raises(ReaderUnavailable) as info:
            reader.wait_for_card(1)
        assert "no SAM answers at 115200 baud" in info.value.en
    finally:
        reader.close()
        emu.unplug()


def test_sam_id_and_reset(sam: SamReader) -> None:
    assert sam.sam_id() == SAM_ID
    sam.reset()


def test_fingerprint_read(emulator: SamEmulator) -> None:
    reader = fast_reader(emulator.path)
    reader.with_fingerprint = True
    emulator.place(RESIDENT)
    try:
        assert reader.wait_for_card(5) is not None
        assert (0x30, 0x10) in emulator.requests
    finally:
        reader.close()


def test_close_from_another_thread_ends_the_wait(sam: SamReader) -> None:
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(sam.wait_for_card(30)))
    waiter.start()
    threading.Timer(0.1, sam.close).start()
    waiter.join(10)
    assert got == [None]

