"""Fuzzing the SAM frame parser and the text block decoder: only typed errors, always progress.

Together these tests feed well over 10,000 generated inputs: raw noise, valid frames mutated
(bit flips, cuts, inserted noise, forged lengths), and arbitrary read payloads and text blocks.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.cardreader import text_block
from appliance.cardreader.base import ReaderError
from appliance.cardreader.sam_protocol import (
    PREAMBLE,
    FrameDecoder,
    Response,
    build_read_data,
    build_response,
    parse_read_data,
    parse_response,
    status_error,
)
from tests.cardreader.cardreader_cards import ALL

FUZZ = settings(max_examples=10_000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SOME = settings(max_examples=2_000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VALID_FRAMES = [build_response(0x90), build_response(0x80), build_response(0x9F, bytes(4)),
                build_response(0x90, bytes(8)), build_response(0x41),
                build_response(0x90, build_read_data(text_block.encode(ALL[0]), bytes(1024)))]


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    """Concatenated frames with noise, cuts, bit flips and forged length fields."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        frame = bytearray(draw(st.sampled_from(VALID_FRAMES)))
        action = draw(st.sampled_from(["keep", "flip", "cut", "length", "noise"]))
        if action == "flip":
            index = draw(st.integers(0, len(frame) - 1))
            frame[index] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del frame[draw(st.integers(0, len(frame) - 1)):]
        elif action == "length":
            frame[5:7] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
        elif action == "noise":
            frame[draw(st.integers(0, len(frame))):0] = draw(st.binary(max_size=12))
        parts.append(bytes(frame))
        parts.append(draw(st.one_of(st.just(b""), st.binary(max_size=8), st.just(PREAMBLE))))
    return b"".join(parts)


def drain(decoder: FrameDecoder, budget: int) -> list[Response]:
    frames = []
    for _ in range(budget):
        try:
            frame = decoder.next_frame()
        except ReaderError:
            continue  # a typed error always consumes input, so the budget bounds the loop
        if frame is None:
            return frames
        frames.append(frame)
    pytest.fail("the frame decoder made no progress (it would hang)")


@FUZZ
@given(stream=st.one_of(mutated_streams(), st.binary(max_size=600)),
       cuts=st.lists(st.integers(1, 64), max_size=8))
def test_stream_decoder_only_typed_errors(stream: bytes, cuts: list[int]) -> None:
    decoder = FrameDecoder()
    offset = 0
    frames: list[Response] = []
    for size in [*cuts, len(stream)]:
        decoder.feed(stream[offset:offset + size])
        offset += size
        frames += drain(decoder, len(stream) + 2)
    assert decoder.pending + decoder.skipped <= len(stream)
    for frame in frames:
        with contextlib.suppress(ReaderError):
            frame.raise_for_status()


@SOME
@given(frame=st.one_of(mutated_streams(), st.binary(max_size=300), st.builds(lambda b: PREAMBLE + b, st.binary())))
def test_single_frame_parser_only_typed_errors(frame: bytes) -> None:
    try:
        response = parse_response(frame)
    except ReaderError:
        return
    assert response == parse_response(build_response(response.sw3, response.data, response.sw1, response.sw2))


@SOME
@given(data=st.binary(max_size=1400), fingerprint=st.booleans())
def test_read_payload_and_text_block_only_typed_errors(data: bytes, fingerprint: bool) -> None:
    try:
        record = parse_read_data(data, fingerprint)
        text_block.decode(record.text, record.photo)
    except ReaderError:
        pass


@SOME
@given(block=st.one_of(st.binary(min_size=256, max_size=256),
                       st.builds(lambda card, i, v: _poke(text_block.encode(card), i, v),
                                 st.sampled_from(ALL), st.integers(0, 255), st.integers(0, 255))))
def test_text_block_decoder_only_typed_errors(block: bytes) -> None:
    try:
        card = text_block.decode(block)
    except ReaderError:
        return
    assert card.id_number


def _poke(block: bytes, index: int, value: int) -> bytes:
    changed = bytearray(block)
    changed[index] = value
    return bytes(changed)


@given(sw3=st.integers(0, 255))
@settings(max_examples=256, database=None)
def test_every_status_byte_has_a_typed_error(sw3: int) -> None:
    error = status_error(sw3)
    assert isinstance(error, ReaderError) and error.en and error.zh and error.code.startswith("sam_")
    assert f"0x{sw3:02X}" in error.en


@pytest.mark.parametrize("field", ["issue_count", "nationality"])
def test_a_digit_that_int_cannot_read_is_a_typed_error(field):
    """'²' is a digit to str.isdigit() but not to int(): found by the fuzz test above."""
    from tests.cardreader.cardreader_cards import HMT_PERMIT

    layout = {f.name: f for f in text_block.LAYOUTS[HMT_PERMIT.kind]}[field]
    block = _poke(_poke(text_block.encode(HMT_PERMIT), layout.offset, 0xB2), layout.offset + 1, 0)
    with pytest.raises(text_block.TextBlockError):
        text_block.decode(block)
