"""A virtual contactless card for vpcd (vsmartcard): connecting is inserting it, closing is removing.

vpcd speaks 2-byte big-endian length-prefixed messages: a 1-byte payload is a control message
(00 power off, 01 power on, 02 reset, 04 ATR request, answered with the ATR), anything longer is a
command APDU to answer. Three behaviours cover the PC/SC profiles the booth knows:

* ``vendor``:  a vendor CCID reader with a SAM inside, ``FF B0 00 00 00`` returns the length words
  and the 256-byte text block, ``FF B0 0n 00 00`` the photo in 256-byte chunks;
* ``campus``:  a campus card: ``FF CA 00 00 00`` returns its UID, no ``FF B0``;
* ``id_plain``: a resident ID card on a plain NFC reader: a PUPI of zeros, no ``FF B0``.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

from appliance.cardreader import text_block
from appliance.cardreader.base import IdentityCard

ATR = bytes.fromhex("3B80800101")
SW_OK = b"\x90\x00"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_WRONG_P1P2 = b"\x6a\x86"


class VirtualCard:
    def __init__(self, port: int, behaviour: str = "vendor", *, card: IdentityCard | None = None,
                 uid: bytes = b"\x04\xa1\xb2\xc3\xd4\xe5\xf6", photo: bytes | None = None) -> None:
        self.port = port
        self.behaviour = behaviour
        self.card = card
        self.uid = uid
        self.photo = photo if photo is not None else bytes((i * 13) % 256 for i in range(1024))
        self.apdus: list[bytes] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def insert(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._serve, args=(self._sock,), daemon=True)
        self._thread.start()

    def remove(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(5)

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                header = self._recv(sock, 2)
                if header is None:
                    return
                message = self._recv(sock, struct.unpack(">H", header)[0])
                if message is None:
                    return
                if len(message) == 1:
                    if message[0] == 0x04:
                        sock.sendall(struct.pack(">H", len(ATR)) + ATR)
                    continue
                reply = self.answer(message)
                sock.sendall(struct.pack(">H", len(reply)) + reply)

    @staticmethod
    def _recv(sock: socket.socket, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def answer(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        cla_ins, p1 = apdu[:2], apdu[2] if len(apdu) > 2 else 0
        if cla_ins == b"\xff\xca":
            return (bytes(4) if self.behaviour == "id_plain" else self.uid) + SW_OK
        if cla_ins == b"\xff\xb0" and self.behaviour == "vendor" and self.card is not None:
            if p1 == 0:
                text = text_block.encode(self.card)
                return len(text).to_bytes(2, "big") + len(self.photo).to_bytes(2, "big") + text + SW_OK
            chunk = self.photo[(p1 - 1) * 256:p1 * 256]
            return chunk + SW_OK if chunk else SW_WRONG_P1P2
        return SW_INS_NOT_SUPPORTED
