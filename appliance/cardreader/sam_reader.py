"""A GA/T 467 SAM reader on a serial port (USB-serial on the Pi), through pyserial.

``wait_for_card`` polls *find card* and reads a card once per placement: a card left on the
reader is one swipe; it counts as removed only after ``removal_s`` of continuous absence, so a
flickering field does not turn one swipe into many. A select or read that fails is retried on
the next polls and reported once per placement. When the port disappears (unplugged) the next
call raises ``ReaderUnavailable`` at once; later calls keep trying to reopen it until their
timeout and resume polling as soon as it is back.
"""

from __future__ import annotations

import logging
import threading
import time

import serial

from appliance.cardreader import text_block
from appliance.cardreader.base import IdentityCard, ReaderError, ReaderRecovery, ReaderUnavailable
from appliance.cardreader.sam_protocol import (
    SAM_BAUD_RATES,
    SW3_CARD_FOUND,
    SW3_FIND_FAILED,
    Command,
    FrameDecoder,
    ProtocolError,
    Response,
    TruncatedFrame,
    build_request,
    parse_read_data,
    status_error,
)
from boothcore.privacy import mask_id

log = logging.getLogger(__name__)

# Reply sizes, for the wire time added to a command's timeout (slow baud rates need it).
_REPLY_BYTES = {Command.READ_TEXT_PHOTO: 1295, Command.READ_TEXT_PHOTO_FINGERPRINT: 2321}


class SamReader:
    """``CardReader`` for SAM readers. ``port`` is a device path or any pyserial URL."""

    def __init__(self, port: str, baudrate: int | None = None, *, poll_interval: float = 0.1,
                 reply_timeout: float = 1.0, probe_timeout: float = 0.3, removal_s: float = 0.3,
                 attempts: int = 3, retries: int = 2, reopen_interval: float = 0.5,
                 with_fingerprint: bool = False) -> None:
        self.port = port
        self.fixed_baudrate = baudrate
        self.baudrate: int | None = None  # the rate in use once open
        self.poll_interval = poll_interval
        self.reply_timeout = reply_timeout
        self.probe_timeout = probe_timeout
        self.removal_s = removal_s
        self.attempts = attempts
        self.retries = retries
        self.with_fingerprint = with_fingerprint
        self._serial: serial.Serial | None = None
        self._decoder = FrameDecoder()
        self._lock = threading.RLock()
        self._closed = False
        self._recovery = ReaderRecovery(reopen_interval)
        # Placement state (debouncing): done = this placement was read or reported.
        self._placement_done = False
        self._failures = 0
        self._absent_since: float | None = None
        self.bytes_sent = 0
        self.bytes_received = 0

    # --- port ---------------------------------------------------------------------------------

    def _unavailable(self, en: str, zh: str) -> ReaderUnavailable:
        return ReaderUnavailable(f"card reader {self.port}: {en}", f"读卡器{self.port}:{zh}")

    def open(self) -> None:
        """Open the port and find the baud rate the SAM answers at (idempotent)."""
        with self._lock:
            if self._serial is not None:
                return
            rates = (self.fixed_baudrate,) if self.fixed_baudrate else SAM_BAUD_RATES
            try:
                port = serial.serial_for_url(self.port, baudrate=rates[0], timeout=0.02, write_timeout=1.0)
            except (serial.SerialException, OSError, ValueError) as error:
                raise self._unavailable(f"cannot open ({error})", "无法打开,请检查连接") from None
            self._serial = port
            for rate in rates:
                try:
                    port.baudrate = rate
                    port.reset_input_buffer()
                    self._decoder.clear()
                    self.baudrate = rate
                    reply = self._exchange(Command.SAM_STATUS, self.probe_timeout if len(rates) > 1
                                           else self.reply_timeout)
                except ProtocolError:
                    continue
                except ReaderUnavailable:
                    raise
                if reply.ok:
                    log.info("card reader %s: SAM answers at %d baud", self.port, rate)
                    self._reset_placement()
                    return
                self._drop_port()
                raise status_error(reply.sw3)
            self._drop_port()
            raise self._unavailable(
                f"no SAM answers at {', '.join(map(str, rates))} baud",
                f"读卡模块在{'/'.join(map(str, rates))}波特率下均无应答")

    def _drop_port(self) -> None:
        port, self._serial, self.baudrate = self._serial, None, None
        self._decoder.clear()
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                log.debug("closing %s failed", self.port, exc_info=True)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            self._drop_port()

    # --- one command --------------------------------------------------------------------------

    def _exchange(self, command: Command, timeout: float) -> Response:
        """Send one request and return the first reply frame (ProtocolError if none in time)."""
        port = self._serial
        if port is None:
            raise self._unavailable("not open", "未打开")
        request = build_request(command)
        try:
            port.write(request)
            self.bytes_sent += len(request)
            deadline = time.monotonic() + timeout + _REPLY_BYTES.get(command, 16) * 10 / (self.baudrate or 9600)
            while True:
                response = self._decoder.next_frame()
                if response is not None:
                    return response
                if time.monotonic() >= deadline:
                    pending = self._decoder.pending
                    self._decoder.clear()
                    if pending:
                        raise TruncatedFrame(
                            f"card reader link: reply to {command.name} cut short after {pending} bytes",
                            "读卡器通讯错误:应答数据不完整")
                    raise ProtocolError(f"card reader link: no reply to {command.name} within {timeout:g} s",
                                        "读卡器通讯错误:无应答")
                chunk = port.read(max(1, port.in_waiting))
                self.bytes_received += len(chunk)
                self._decoder.feed(chunk)
        except (serial.SerialException, OSError) as error:
            self._drop_port()
            self._reset_placement()
            raise self._unavailable(f"disconnected ({error})", "已断开,请检查USB连接") from None

    def transact(self, command: Command) -> Response:
        """One command with retries on line errors; the reply may carry a failing status."""
        with self._lock:
            self.open()
            for attempt in range(self.retries + 1):
                try:
                    return self._exchange(command, self.reply_timeout)
                except ProtocolError as error:
                    log.warning("card reader %s: %s (attempt %d)", self.port, error.en, attempt + 1)
                    if attempt == self.retries:
                        raise
                    time.sleep(0.05)
                    if self._serial is not None:
                        self._serial.reset_input_buffer()
                    self._decoder.clear()
            raise AssertionError("unreachable")

    def sam_id(self) -> bytes:
        """The SAM's 16-byte identity (printed by technicians when a reader is swapped)."""
        return self.transact(Command.SAM_ID).raise_for_status().data

    def reset(self) -> None:
        self.transact(Command.RESET).raise_for_status()

    def read_card(self) -> IdentityCard:
        """Select and read the card on the reader now (after a successful find)."""
        self.transact(Command.SELECT_CARD).raise_for_status()
        command = Command.READ_TEXT_PHOTO_FINGERPRINT if self.with_fingerprint else Command.READ_TEXT_PHOTO
        reply = self.transact(command).raise_for_status()
        record = parse_read_data(reply.data, self.with_fingerprint)
        return text_block.decode(record.text, record.photo)

    # --- polling ------------------------------------------------------------------------------

    def _reset_placement(self) -> None:
        self._placement_done = False
        self._failures = 0
        self._absent_since = None

    def _poll_once(self) -> IdentityCard | None:
        reply = self.transact(Command.FIND_CARD)
        now = time.monotonic()
        if reply.sw3 == SW3_FIND_FAILED:
            if self._absent_since is None:
                self._absent_since = now
            elif now - self._absent_since >= self.removal_s and (self._placement_done or self._failures):
                log.debug("card reader %s: card removed", self.port)
                self._reset_placement()
            return None
        if reply.sw3 != SW3_CARD_FOUND:
            raise status_error(reply.sw3)
        self._absent_since = None
        if self._placement_done:
            return None
        try:
            card = self.read_card()
        except ReaderUnavailable:
            raise
        except ReaderError:
            self._failures += 1
            if self._failures >= self.attempts:
                self._placement_done = True
                raise
            return None
        self._placement_done = True
        log.info("card reader %s: read %s card %s", self.port, card.kind, mask_id(card.id_number))
        return card

    def wait_for_card(self, timeout: float) -> IdentityCard | None:
        deadline = time.monotonic() + max(timeout, 0.0)

        def poll_until_deadline() -> IdentityCard | None:
            while not self._closed:
                card = self._poll_once()
                remaining = deadline - time.monotonic()
                if card is not None or remaining <= 0:
                    return card
                time.sleep(min(self.poll_interval, remaining))
            return None

        return self._recovery.attempt(deadline, poll_until_deadline, lambda: self._closed)
