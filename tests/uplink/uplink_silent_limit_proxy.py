"""A TCP proxy in front of a real mosquitto that removes the Maximum Packet Size from CONNACK.

It makes a broker that enforces a packet limit without announcing it (an MQTT 3.1.1-era broker,
or one behind a gateway), which mosquitto itself never is. Everything else passes unchanged,
including mosquitto's DISCONNECT "Packet too large" (0x95) when the limit is hit, unless
``disconnects_passed`` is given: after that many, the proxy closes the booth's socket instead of
passing a DISCONNECT, as when the socket closes before the booth reads the broker's last packet.
"""

from __future__ import annotations

import contextlib
import socket
import threading

MAXIMUM_PACKET_SIZE = 0x27
DISCONNECT = 14  # MQTT control packet type (OASIS MQTT 5.0, 2.1.2)
# MQTT 5 CONNACK property ids -> value length (None: 2-byte length prefix + bytes; "pair": two such).
_FIXED = {0x11: 4, 0x21: 2, 0x22: 2, 0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1, 0x13: 2}
_PREFIXED = {0x12, 0x1A, 0x1C, 0x1F, 0x15, 0x16}
_USER_PROPERTY = 0x26


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _whole_packet(data: bytes) -> bytes | None:
    """The first MQTT packet of ``data`` when it is whole, else None."""
    if len(data) < 2:
        return None
    try:
        length, body_at = _read_varint(data, 1)
    except IndexError:
        return None
    return data[:body_at + length] if len(data) >= body_at + length else None


def strip_maximum_packet_size(connack: bytes) -> bytes:
    """The CONNACK packet ``connack`` (whole) without its Maximum Packet Size property."""
    _, body_at = _read_varint(connack, 1)
    flags_reason = connack[body_at:body_at + 2]
    props_len, at = _read_varint(connack, body_at + 2)
    end = at + props_len
    kept = bytearray()
    while at < end:
        ident, start = connack[at], at
        at += 1
        if ident in _FIXED:
            at += _FIXED[ident]
        elif ident in _PREFIXED:
            at += 2 + int.from_bytes(connack[at:at + 2], "big")
        elif ident == _USER_PROPERTY:
            for _ in range(2):
                at += 2 + int.from_bytes(connack[at:at + 2], "big")
        else:
            raise ValueError(f"CONNACK property 0x{ident:02x} not known to the proxy")
        if ident != MAXIMUM_PACKET_SIZE:
            kept += connack[start:at]
    body = flags_reason + _varint(len(kept)) + bytes(kept) + connack[end:]
    return connack[:1] + _varint(len(body)) + body


class SilentLimitProxy:
    """``with SilentLimitProxy(broker_port) as proxy:`` then connect to ``proxy.port``."""

    def __init__(self, broker_port: int, host: str = "127.0.0.1", disconnects_passed: int | None = None) -> None:
        self.host, self.broker_port = host, broker_port
        self.disconnects_left = disconnects_passed
        self._server = socket.create_server((host, 0))
        self.port = self._server.getsockname()[1]
        self.stripped = 0  # CONNACKs rewritten
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> SilentLimitProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            broker = socket.create_connection((self.host, self.broker_port))
            self._sockets += [client, broker]
            threading.Thread(target=self._pipe, args=(client, broker, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(broker, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, from_broker: bool) -> None:
        pending = b""  # the broker's bytes not yet forwarded, cut into whole packets
        connack = from_broker
        try:
            while data := source.recv(65536):
                if not from_broker:
                    target.sendall(data)
                    continue
                pending += data
                while (packet := _whole_packet(pending)) is not None:
                    pending = pending[len(packet):]
                    if connack:
                        packet, connack = strip_maximum_packet_size(packet), False
                        self.stripped += 1
                    elif packet[0] >> 4 == DISCONNECT and self.disconnects_left is not None:
                        if self.disconnects_left == 0:
                            return  # the finally below closes both sockets unannounced
                        self.disconnects_left -= 1
                    target.sendall(packet)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
