"""The simulated reader: one placement is one swipe, thread-safe, faults injectable."""

from __future__ import annotations

import threading

import pytest

from appliance.cardreader.base import CardReader, IdentityCard, ReaderUnavailable
from appliance.cardreader.simulated import SimulatedCardReader
from boothcore.cardkind import CardKind

CARD = IdentityCard(kind=CardKind.RESIDENT, id_number="11010519491231002X", name="张三")
OTHER = IdentityCard(kind=CardKind.RESIDENT, id_number="360426199101010071", name="李四")


def test_is_a_card_reader() -> None:
    assert isinstance(SimulatedCardReader(), CardReader)


def test_no_card_times_out() -> None:
    assert SimulatedCardReader().wait_for_card(0.01) is None


def test_one_placement_is_one_swipe() -> None:
    reader = SimulatedCardReader()
    reader.present(CARD)
    assert reader.wait_for_card(0) is CARD
    assert reader.card_on_reader is CARD
    assert reader.wait_for_card(0.01) is None  # left on the reader: not a second swipe
    reader.remove()
    assert reader.card_on_reader is None
    reader.present(CARD)
    assert reader.wait_for_card(0) is CARD


def test_placements_keep_their_order() -> None:
    reader = SimulatedCardReader()
    reader.present(CARD)
    reader.present(OTHER)
    assert [reader.wait_for_card(0), reader.wait_for_card(0)] == [CARD, OTHER]


def test_present_from_another_thread_wakes_the_waiter() -> None:
    reader = SimulatedCardReader()
    got: list[IdentityCard | None] = []
    waiter = threading.Thread(target=lambda: got.append(reader.wait_for_card(30)))
    waiter.start()
    reader.present(OTHER)
    waiter.join(30)
    assert got == [OTHER]


def test_injected_fault_is_raised_once() -> None:
    reader = SimulatedCardReader()
    reader.fail(ReaderUnavailable("unplugged", "读卡器已断开"))
    with pytest.raises(ReaderUnavailable) as info:
        reader.wait_for_card(0)
    assert info.value.zh == "读卡器已断开"
    assert reader.wait_for_card(0) is None


def test_close_wakes_waiters_and_drops_pending() -> None:
    reader = SimulatedCardReader()
    got: list[IdentityCard | None] = []
    waiter = threading.Thread(target=lambda: got.append(reader.wait_for_card(30)))
    waiter.start()
    reader.close()
    waiter.join(30)
    assert got == [None]
    reader.present(CARD)
    assert reader.wait_for_card(1) is None


def test_present_rejects_non_cards() -> None:
    with pytest.raises(TypeError):
        SimulatedCardReader().present("11010519491231002X")  # type: ignore[arg-type]
