"""Keyboard-wedge reader: key decoding, operator confirmation flag, device errors, and a real uinput device."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from appliance.cardreader.base import CardReader, ReaderUnavailable
from appliance.cardreader.spec import open_reader
from appliance.cardreader.wedge_reader import DIGITS, KEY_ENTER, KEY_LEFTSHIFT, LETTERS, WedgeDecoder, WedgeReader
from boothcore.cardkind import CardKind

CODES = ({digit: code for code, digit in DIGITS.items() if code < 12}
         | {letter: code for code, letter in LETTERS.items()})


def type_line(decoder: WedgeDecoder, text: str) -> str | None:
    result = None
    for char in text:
        if char == "\n":
            result = decoder.key(KEY_ENTER, 1) or result
            decoder.key(KEY_ENTER, 0)
            continue
        decoder.key(CODES[char], 1)
        decoder.key(CODES[char], 2)  # auto-repeat is not a second key press
        decoder.key(CODES[char], 0)
    return result


def test_decoder_types_a_number() -> None:
    assert type_line(WedgeDecoder(), "11010519491231002X\n") == "11010519491231002X"


def test_decoder_types_a_2017_foreigners_card_number() -> None:
    """Its number starts with the 3-letter country code; a reader typing only digits lost it."""
    assert type_line(WedgeDecoder(), "KOR110002031512\n") == "KOR110002031512"


def test_decoder_ignores_other_keys_and_empty_lines() -> None:
    decoder = WedgeDecoder()
    assert decoder.key(KEY_ENTER, 1) is None
    decoder.key(KEY_LEFTSHIFT, 1)
    assert type_line(decoder, "360426199101010071\n") == "360426199101010071"


def test_decoder_drops_runaway_input() -> None:
    decoder = WedgeDecoder()
    assert type_line(decoder, "1" * 40 + "\n") is None
    assert type_line(decoder, "123\n") == "123"


def test_missing_device_is_unavailable(tmp_path: Path) -> None:
    reader = open_reader(f"wedge:{tmp_path}/event9")
    assert isinstance(reader, WedgeReader) and isinstance(reader, CardReader)
    with pytest.raises(ReaderUnavailable) as info:
        reader.wait_for_card(0.5)
    assert "cannot open" in info.value.en and "event9" in info.value.en


@pytest.mark.skipif(not os.path.exists("/dev/uinput"),
                    reason="the kernel has no uinput device here (modprobe uinput): the decoder tests above "
                           "still cover the key handling")
def test_real_input_device_is_grabbed_and_read() -> None:
    from evdev import UInput, ecodes

    with UInput({ecodes.EV_KEY: [*CODES.values(), KEY_ENTER]}, name="booth-test-wedge") as keyboard:
        time.sleep(0.3)  # udev creates the event node
        reader = WedgeReader(keyboard.device.path)
        got: list[object] = []
        waiter = threading.Thread(target=lambda: got.append(reader.wait_for_card(10)))
        waiter.start()
        time.sleep(0.3)
        for char in "11010519491231002X":
            keyboard.write(ecodes.EV_KEY, CODES[char], 1)
            keyboard.write(ecodes.EV_KEY, CODES[char], 0)
        keyboard.write(ecodes.EV_KEY, KEY_ENTER, 1)
        keyboard.write(ecodes.EV_KEY, KEY_ENTER, 0)
        keyboard.syn()
        waiter.join(10)
        reader.close()
    card = got[0]
    assert card is not None and card.kind is CardKind.TYPED_NUMBER  # type: ignore[union-attr]
    assert card.id_number == "11010519491231002X" and card.needs_operator_confirmation  # type: ignore[union-attr]
