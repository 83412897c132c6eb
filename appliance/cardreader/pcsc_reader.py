"""PC/SC readers through pyscard (pcscd): vendor ID card readers and campus cards by UID.

Two profiles, chosen per card: a vendor CCID reader with a SAM inside answers ``FF B0 00 00 00``
with the length words and the 256-byte text block (the photo follows in chunks ``FF B0 0n``); any
other card is identified by its UID (``FF CA 00 00 00``) mapped through ``uid_lookup`` (the
roster). A resident ID card on a plain NFC reader has a PUPI of zeros: it is refused with a clear
message rather than mistaken for a campus card.

Insertions are watched with ``SCardGetStatusChange`` in the caller's thread rather than pyscard's
``CardMonitor``: that monitor is a process-wide singleton thread that stops for good when pcscd
goes away, while the booth must survive pcscd restarts and replugged readers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from smartcard import scard

from appliance.cardreader import text_block
from appliance.cardreader.base import (
    CardNotRegistered,
    CardNotSupported,
    CardReadError,
    IdentityCard,
    ReaderRecovery,
    ReaderUnavailable,
)
from boothcore.cardkind import CardKind
from boothcore.privacy import mask_id

log = logging.getLogger(__name__)

READ_TEXT = [0xFF, 0xB0, 0x00, 0x00, 0x00]
GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
PHOTO_CHUNKS = 5
_CARD_GONE = {scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_RESET_CARD}


def _message(hresult: int) -> str:
    try:
        return scard.SCardGetErrorMessage(hresult).strip()
    except Exception:  # pyscard returns text for every code; this is only a guard for odd values
        return f"0x{hresult & 0xFFFFFFFF:08X}"


class PcscReader:
    """``CardReader`` over PC/SC. ``reader_name``: a case-insensitive part of the reader's name."""

    def __init__(self, reader_name: str | None = None, *, uid_lookup: Callable[[str], str | None] | None = None,
                 reopen_interval: float = 0.5, slice_s: float = 0.25) -> None:
        self.reader_name = reader_name
        self.uid_lookup = uid_lookup
        self.slice_s = slice_s  # longest single block in pcscd, so close() is noticed soon
        self.reader: str | None = None  # the full name of the reader in use
        self._context: int | None = None
        self._state = scard.SCARD_STATE_UNAWARE
        self._closed = False
        self._recovery = ReaderRecovery(reopen_interval)

    # --- context and reader -------------------------------------------------------------------

    def _unavailable(self, en: str, zh: str) -> ReaderUnavailable:
        return ReaderUnavailable(f"PC/SC card reader: {en}", f"PC/SC读卡器:{zh}")

    def _check_gone(self, hresult: int) -> None:
        if hresult in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED):
            self._release()
            raise self._unavailable(f"the PC/SC service (pcscd) is not running ({_message(hresult)})",
                                    "PC/SC服务(pcscd)未运行")
        if hresult in (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE,
                       scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_E_INVALID_HANDLE):
            self._release()
            raise self._unavailable(f"reader {self.reader or self.reader_name or ''} is gone "
                                    f"({_message(hresult)})", "读卡器已断开,请检查USB连接")

    def open(self) -> None:
        """Connect to pcscd and pick the reader (idempotent)."""
        if self._context is not None:
            return
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise self._unavailable(f"the PC/SC service (pcscd) is not running ({_message(hresult)})",
                                    "PC/SC服务(pcscd)未运行")
        self._context = context
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE or (hresult == scard.SCARD_S_SUCCESS and not readers):
            self._release()
            raise self._unavailable("no reader is attached", "未连接读卡器")
        self._check_gone(hresult)
        if hresult != scard.SCARD_S_SUCCESS:
            self._release()
            raise self._unavailable(f"cannot list readers ({_message(hresult)})", "无法列出读卡器")
        wanted = (self.reader_name or "").lower()
        matching = [name for name in readers if wanted in name.lower()]
        if not matching:
            self._release()
            raise self._unavailable(f"no reader named '{self.reader_name}' (attached: {', '.join(readers)})",
                                    f"未找到名为'{self.reader_name}'的读卡器")
        self.reader = matching[0]
        self._state = scard.SCARD_STATE_UNAWARE
        log.info("PC/SC card reader: using '%s'", self.reader)

    def _release(self) -> None:
        context, self._context = self._context, None
        self.reader = None
        if context is not None:
            scard.SCardReleaseContext(context)

    def close(self) -> None:
        self._closed = True
        context = self._context
        if context is not None:
            scard.SCardCancel(context)

    # --- events -------------------------------------------------------------------------------

    def _next_insertion(self, deadline: float) -> bool:
        """Block until a card is inserted (True) or the deadline passes (False)."""
        assert self._context is not None and self.reader is not None
        while not self._closed:
            wait_ms = int(max(0.0, min(self.slice_s, deadline - time.monotonic())) * 1000)
            hresult, states = scard.SCardGetStatusChange(self._context, wait_ms, [(self.reader, self._state)])
            if hresult in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
                if time.monotonic() >= deadline:
                    return False
                continue
            self._check_gone(hresult)
            if hresult != scard.SCARD_S_SUCCESS:
                raise self._unavailable(f"waiting for a card failed ({_message(hresult)})", "等待证件失败")
            _, event_state, _ = states[0]
            if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                self._check_gone(scard.SCARD_E_READER_UNAVAILABLE)
            was_present = bool(self._state & scard.SCARD_STATE_PRESENT)
            self._state = event_state & ~scard.SCARD_STATE_CHANGED
            if event_state & scard.SCARD_STATE_PRESENT and not was_present:
                if event_state & scard.SCARD_STATE_MUTE:
                    raise CardReadError("PC/SC card reader: the card does not answer; place it again",
                                        "证件无应答,请重新放置")
                return True
            if time.monotonic() >= deadline:
                return False
        return False

    # --- reading ------------------------------------------------------------------------------

    def _transmit(self, card: int, protocol: int, apdu: list[int]) -> tuple[bytes, int]:
        hresult, response = scard.SCardTransmit(card, protocol, apdu)
        if hresult in _CARD_GONE:
            raise CardReadError("PC/SC card reader: the card was taken away while being read; place it again",
                                "读卡时证件被移开,请重新放置")
        self._check_gone(hresult)
        if hresult != scard.SCARD_S_SUCCESS or len(response) < 2:
            raise CardReadError(f"PC/SC card reader: the card did not answer ({_message(hresult)})",
                                "证件无应答,请重新放置")
        data = bytes(response[:-2])
        return data, (response[-2] << 8) | response[-1]

    def _read_vendor(self, card: int, protocol: int, data: bytes) -> IdentityCard:
        if len(data) < 4:
            raise text_block.TextBlockError("PC/SC card reader: the text block reply is too short",
                                            "证件信息不完整")
        text_size = int.from_bytes(data[:2], "big")
        photo_size = int.from_bytes(data[2:4], "big")
        text = data[4:4 + text_size]
        photo = b""
        for chunk_index in range(1, PHOTO_CHUNKS + 1):
            if len(photo) >= photo_size:
                break
            chunk, status = self._transmit(card, protocol, [0xFF, 0xB0, chunk_index, 0x00, 0x00])
            if status != 0x9000:
                break
            photo += chunk
        return text_block.decode(text, photo[:photo_size] if len(photo) >= photo_size else None)

    def _read_uid(self, card: int, protocol: int) -> IdentityCard:
        uid, status = self._transmit(card, protocol, GET_UID)
        if status != 0x9000 or not uid:
            raise CardNotSupported("PC/SC card reader: this card has no readable UID",
                                   "无法读取此卡的卡号")
        if not any(uid):
            raise CardNotSupported(
                "PC/SC card reader: this is a resident ID card, but this reader has no security module "
                "to read it; use the booth's ID card reader", "此读卡器无法读取身份证,请使用身份证阅读器")
        uid_hex = uid.hex().upper()
        id_number = self.uid_lookup(uid_hex) if self.uid_lookup is not None else None
        if not id_number:
            raise CardNotRegistered(f"PC/SC card reader: campus card {uid_hex[:4]}… is not registered",
                                    "校园卡未登记,请使用身份证")
        return IdentityCard(kind=CardKind.CAMPUS_UID, id_number=id_number)

    def read_card(self) -> IdentityCard:
        """Connect to the card on the reader now and identify it by the first profile that works."""
        assert self._context is not None and self.reader is not None
        hresult, card, protocol = scard.SCardConnect(
            self._context, self.reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hresult in _CARD_GONE or hresult == scard.SCARD_W_UNRESPONSIVE_CARD:
            raise CardReadError("PC/SC card reader: the card was taken away or does not answer; place it again",
                                "证件无应答,请重新放置")
        self._check_gone(hresult)
        if hresult != scard.SCARD_S_SUCCESS:
            raise CardReadError(f"PC/SC card reader: cannot connect to the card ({_message(hresult)})",
                                "无法连接证件,请重新放置")
        try:
            data, status = self._transmit(card, protocol, READ_TEXT)
            vendor = status == 0x9000  # the reader has a SAM and decoded the card for us
            result = self._read_vendor(card, protocol, data) if vendor else self._read_uid(card, protocol)
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        log.info("PC/SC card reader: read %s card %s", result.kind, mask_id(result.id_number))
        return result

    def wait_for_card(self, timeout: float) -> IdentityCard | None:
        deadline = time.monotonic() + max(timeout, 0.0)

        def inserted() -> bool:
            self.open()
            return self._next_insertion(deadline)

        if not self._recovery.attempt(deadline, inserted, lambda: self._closed):
            return None
        return self.read_card()
