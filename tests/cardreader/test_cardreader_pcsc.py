"""PcscReader against a real pcscd with vpcd and a virtual card (insert, read, remove)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from smartcard import scard

from appliance.cardreader.base import CardNotRegistered, CardNotSupported, CardReader, ReaderUnavailable
from appliance.cardreader.pcsc_reader import PcscReader
from appliance.cardreader.spec import open_reader
from boothcore.cardkind import CardKind
from tests.cardreader.cardreader_cards import FOREIGN_2023, HMT_PERMIT, RESIDENT
from tests.cardreader.cardreader_vpcd_card import VirtualCard
from tests.cardreader.pcscd import Pcscd

CAMPUS_UID = "04A1B2C3D4E5F6"


@pytest.fixture
def reader(pcscd: Pcscd) -> Iterator[PcscReader]:
    roster = {CAMPUS_UID: RESIDENT.id_number}
    pcsc = open_reader("pcsc:virtual pcd 00 00", uid_lookup=roster.get)
    assert isinstance(pcsc, PcscReader)
    yield pcsc
    pcsc.close()


def wait_until_empty(reader_name: str = "Virtual PCD 00 00") -> None:
    """Block until pcscd has seen the virtual card go, so the next test starts from an empty reader."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        state = scard.SCARD_STATE_UNAWARE
        for _ in range(100):
            hresult, states = scard.SCardGetStatusChange(context, 200, [(reader_name, state)])
            state = states[0][1] & ~scard.SCARD_STATE_CHANGED if hresult == scard.SCARD_S_SUCCESS else state
            if state & scard.SCARD_STATE_EMPTY:
                return
        raise AssertionError("pcscd still sees a card after the virtual card left")
    finally:
        scard.SCardReleaseContext(context)


@pytest.fixture
def card_slot(pcscd: Pcscd) -> Iterator[list[VirtualCard]]:
    inserted: list[VirtualCard] = []
    yield inserted
    for card in inserted:
        card.remove()
    wait_until_empty()


def insert(slot: list[VirtualCard], card: VirtualCard) -> VirtualCard:
    card.insert()
    slot.append(card)
    return card


def test_is_a_card_reader(reader: PcscReader) -> None:
    assert isinstance(reader, CardReader)


def test_no_card_times_out(reader: PcscReader) -> None:
    assert reader.wait_for_card(0.3) is None
    assert reader.reader == "Virtual PCD 00 00"


@pytest.mark.parametrize("identity", [RESIDENT, HMT_PERMIT, FOREIGN_2023], ids=lambda c: str(c.kind))
def test_vendor_profile_reads_text_and_photo(pcscd: Pcscd, reader: PcscReader, card_slot: list[VirtualCard],
                                             identity) -> None:
    virtual = insert(card_slot, VirtualCard(pcscd.port, "vendor", card=identity))
    card = reader.wait_for_card(10)
    assert card is not None
    assert card.kind == identity.kind and card.id_number == identity.id_number and card.name == identity.name
    assert card.birth_date == identity.birth_date and card.valid_to == identity.valid_to
    assert card.photo == virtual.photo
    assert [apdu[:3] for apdu in virtual.apdus] == [b"\xff\xb0\x00", b"\xff\xb0\x01", b"\xff\xb0\x02",
                                                    b"\xff\xb0\x03", b"\xff\xb0\x04"]


def test_insert_read_remove_insert(pcscd: Pcscd, reader: PcscReader, card_slot: list[VirtualCard]) -> None:
    virtual = insert(card_slot, VirtualCard(pcscd.port, "vendor", card=RESIDENT))
    assert reader.wait_for_card(10) is not None
    assert reader.wait_for_card(0.5) is None  # left on the reader: one swipe
    virtual.remove()
    wait_until_empty()
    assert reader.wait_for_card(0.3) is None
    insert(card_slot, VirtualCard(pcscd.port, "vendor", card=HMT_PERMIT))
    card = reader.wait_for_card(10)
    assert card is not None and card.kind is CardKind.HMT_PERMIT


def test_insertion_while_waiting_in_another_thread(pcscd: Pcscd, reader: PcscReader,
                                                   card_slot: list[VirtualCard]) -> None:
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(reader.wait_for_card(20)))
    waiter.start()
    insert(card_slot, VirtualCard(pcscd.port, "vendor", card=FOREIGN_2023))
    waiter.join(20)
    assert len(got) == 1 and getattr(got[0], "id_number", None) == FOREIGN_2023.id_number


def test_campus_card_by_uid(pcscd: Pcscd, reader: PcscReader, card_slot: list[VirtualCard]) -> None:
    insert(card_slot, VirtualCard(pcscd.port, "campus", uid=bytes.fromhex(CAMPUS_UID)))
    card = reader.wait_for_card(10)
    assert card is not None
    assert (card.kind, card.id_number, card.name) == (CardKind.CAMPUS_UID, RESIDENT.id_number, None)


def test_unregistered_campus_card(pcscd: Pcscd, reader: PcscReader, card_slot: list[VirtualCard]) -> None:
    insert(card_slot, VirtualCard(pcscd.port, "campus", uid=bytes.fromhex("0411223344")))
    with pytest.raises(CardNotRegistered) as info:
        reader.wait_for_card(10)
    assert "not registered" in info.value.en and "校园卡未登记" in info.value.zh
    assert "11223344" not in info.value.en


def test_id_card_on_plain_nfc_reader_is_refused(pcscd: Pcscd, reader: PcscReader,
                                                card_slot: list[VirtualCard]) -> None:
    insert(card_slot, VirtualCard(pcscd.port, "id_plain"))
    with pytest.raises(CardNotSupported) as info:
        reader.wait_for_card(10)
    assert "no security module" in info.value.en


def test_unknown_reader_name(pcscd: Pcscd) -> None:
    reader = PcscReader("ACS ACR122U")
    with pytest.raises(ReaderUnavailable) as info:
        reader.wait_for_card(1)
    assert "no reader named 'ACS ACR122U'" in info.value.en and "Virtual PCD 00 00" in info.value.en


def test_cli_reads_a_card_through_pcscd(pcscd: Pcscd, card_slot: list[VirtualCard]) -> None:
    insert(card_slot, VirtualCard(pcscd.port, "vendor", card=RESIDENT))
    result = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "read-card", "--reader", "pcsc:Virtual PCD 00 00", "--timeout", "10"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert RESIDENT.id_number not in result.stdout
    assert RESIDENT.id_number[:6] in result.stdout and "张**" in result.stdout


def test_cli_without_pcscd_is_a_reader_error() -> None:
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": "/nonexistent/pcscd.comm"}
    result = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "read-card", "--reader", "pcsc", "--timeout", "1"],
        capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "pcscd) is not running" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
