"""A SAM reader emulator on a pseudo-terminal: the booth's SamReader opens its slave like a USB tty.

The emulator answers the GA/T 467 frames from the card lying on it, honours the baud rate the
reader set on the line (a mismatched rate gets noise, as a real line does), can pace its replies
at real serial speed, and injects the faults the tests need: select/read failures, corrupt
checksums, truncated replies, noise between frames, and being unplugged in the middle of a reply.
It is a test double of the *hardware*, not of our code: it shares only the frame builders.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import termios
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path

from appliance.cardreader import text_block
from appliance.cardreader.base import IdentityCard
from appliance.cardreader.sam_protocol import (
    PREAMBLE,
    SW3_CARD_FOUND,
    SW3_FIND_FAILED,
    SW3_OK,
    SW3_READ_FAILED,
    SW3_SELECT_FAILED,
    build_read_data,
    build_response,
    checksum,
)
from appliance.cardreader.sam_reader import SamReader

NOISE = bytes([0x00, 0xFF, 0x55, 0xAA, 0x13, 0xF0])
SAM_ID = bytes(range(0x30, 0x40))


@dataclass
class Faults:
    select_fails: bool = False
    read_fails: bool = False
    corrupt_replies: int = 0  # this many replies get a wrong checksum (-1: all)
    truncate_read: bool = False  # the read reply stops half-way
    noise_between_frames: bool = False
    unplug_during_read: bool = False
    log: list[str] = field(default_factory=list)


class SamEmulator:
    def __init__(self, folder: Path, *, baudrate: int = 115200, real_timing: bool = False,
                 processing_s: float = 0.0) -> None:
        self.path = folder / "ttyUSB0"
        self.baudrate = baudrate
        self.real_timing = real_timing
        self.processing_s = processing_s
        self.faults = Faults()
        self.requests: list[tuple[int, int]] = []
        self._card: IdentityCard | None = None
        self._text: bytes | None = None
        self._photo = bytes(range(256)) * 4
        self._lock = threading.Lock()
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self.reply_started: float | None = None  # monotonic time the last read reply began
        self.reply_finished: float | None = None
        self.plug()

    # --- the card -----------------------------------------------------------------------------

    def place(self, card: IdentityCard, *, text: bytes | None = None, photo: bytes | None = None) -> None:
        """Put a card on the reader; ``text`` overrides the encoded text block (corrupt cards)."""
        with self._lock:
            self._card, self._text = card, text if text is not None else text_block.encode(card)
            if photo is not None:
                self._photo = photo

    def remove(self) -> None:
        with self._lock:
            self._card, self._text = None, None

    # --- the cable ----------------------------------------------------------------------------

    def plug(self) -> None:
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.path.unlink(missing_ok=True)
        self.path.symlink_to(os.ttyname(self._slave))
        self._thread = threading.Thread(target=self._serve, args=(self._master,), daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """The USB cable is pulled: the tty vanishes and open handles fail with EIO."""
        self.path.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    close = unplug

    # --- serving ------------------------------------------------------------------------------

    def _line_baudrate(self, master: int) -> int | None:
        speed = termios.tcgetattr(master)[5]
        return next((rate for rate in (9600, 19200, 38400, 57600, 115200)
                     if getattr(termios, f"B{rate}") == speed), None)

    def _serve(self, master: int) -> None:
        buffer = bytearray()
        while True:
            try:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except (OSError, ValueError):
                return
            if not data:
                return
            buffer += data
            while (request := self._take_request(buffer)) is not None:
                try:
                    self._answer(master, request)
                except OSError:
                    return

    @staticmethod
    def _take_request(buffer: bytearray) -> tuple[int, int] | None:
        start = buffer.find(PREAMBLE)
        if start < 0 or len(buffer) < start + 7:
            return None
        del buffer[:start]
        length = int.from_bytes(buffer[5:7], "big")
        if len(buffer) < 7 + length:
            return None
        frame = bytes(buffer[:7 + length])
        del buffer[:7 + length]
        if length != 3 or checksum(frame[5:-1]) != frame[-1]:
            return (-1, -1)
        return frame[7], frame[8]

    def _reply_for(self, request: tuple[int, int]) -> bytes:
        with self._lock:
            card = self._card
            text = self._text
            photo = self._photo
        if request == (-1, -1):
            return build_response(0x10)
        if request in ((0x10, 0xFF), (0x11, 0xFF)):
            return build_response(SW3_OK)
        if request == (0x12, 0xFF):
            return build_response(SW3_OK, SAM_ID)
        if request == (0x20, 0x01):
            return build_response(SW3_CARD_FOUND, bytes(4)) if card else build_response(SW3_FIND_FAILED)
        if request == (0x20, 0x02):
            ok = card is not None and not self.faults.select_fails
            return build_response(SW3_OK, bytes(8)) if ok else build_response(SW3_SELECT_FAILED)
        if request in ((0x30, 0x01), (0x30, 0x10)):
            if card is None or text is None or self.faults.read_fails:
                return build_response(SW3_READ_FAILED)
            fingerprint = bytes(512) if request[1] == 0x10 else None
            return build_response(SW3_OK, build_read_data(text, photo, fingerprint))
        return build_response(0x21)

    def _answer(self, master: int, request: tuple[int, int]) -> None:
        self.requests.append(request)
        rate = self._line_baudrate(master)
        if rate != self.baudrate:
            self._write(master, NOISE * 4)  # a wrong baud rate reads as noise
            return
        reply = self._reply_for(request)
        is_read = request[0] == 0x30
        if self.faults.corrupt_replies:
            self.faults.corrupt_replies -= 1 if self.faults.corrupt_replies > 0 else 0
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        if self.faults.noise_between_frames:
            reply = NOISE + reply + NOISE[:3]
        if is_read and self.processing_s:
            time.sleep(self.processing_s)
        if is_read:
            self.reply_started = time.monotonic()
        if is_read and self.faults.unplug_during_read:
            self._write(master, reply[: len(reply) // 2])
            self.faults.unplug_during_read = False
            self.unplug()
            raise OSError("unplugged")
        if is_read and self.faults.truncate_read:
            reply = reply[: len(reply) // 2]
        self._write(master, reply)
        if is_read:
            self.reply_finished = time.monotonic()

    def _write(self, master: int, data: bytes) -> None:
        if not self.real_timing:
            os.write(master, data)
            return
        start = time.monotonic()
        byte_time = 10 / self.baudrate  # 8N1: start bit, 8 data bits, stop bit
        for offset in range(0, len(data), 32):
            chunk = data[offset:offset + 32]
            delay = start + (offset + len(chunk)) * byte_time - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # the chunk is on the far end once its last bit has been sent
            os.write(master, chunk)


def fast_reader(port: Path | str, baudrate: int | None = 115200) -> SamReader:
    """Short timeouts: the emulator answers at once, so the tests need not wait long."""
    return SamReader(str(port), baudrate, poll_interval=0.01, reply_timeout=0.3, probe_timeout=0.15,
                     removal_s=0.05, reopen_interval=0.05)
