"""A small protocol-following central for the booth-side tests (the real ingest lives in central/).

It does what protocol.md asks of central, in memory plus one folder: reassembles chunks, checks
the whole-file sha256, writes each photo once (atomically), acks "stored"/"missing", acks events,
answers a re-sent stored photo with "stored" again. ``mangle`` lets a test drop or corrupt a
chunk on its way in, as a faulty network would.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from boothcore import protocol as p
from boothcore.durable import write_atomic
from central.certs import TlsFiles


class FakeCentral:
    def __init__(self, host: str, port: int, store: Path, tls: TlsFiles | None = None) -> None:
        self.store = store
        self.store.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.inits: dict[str, p.PhotoInit] = {}
        self.chunks: dict[str, dict[int, bytes]] = defaultdict(dict)
        self.stored: dict[str, str] = {}  # photo_id -> sha256
        self.writes: Counter[str] = Counter()
        self.events: dict[str, p.Event] = {}
        self.event_receipts: Counter[str] = Counter()
        self.statuses: list[p.Status] = []
        self.telemetry: list[p.Telemetry] = []
        self.acks_sent: list[tuple[str, p.Ack]] = []
        self.bad: list[str] = []
        self.mangle: Callable[[str, int, bytes], bytes | None] | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fake-central",
                                  protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(0.1, 0.5)
        if tls is not None:
            self.client.tls_set(ca_certs=str(tls.ca), certfile=str(tls.cert), keyfile=str(tls.key))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect_async(host, port, clean_start=False, properties=props)
        self.subscribed = threading.Event()

    def start(self) -> FakeCentral:
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError("fake central could not subscribe")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason, props) -> None:
        if not reason.is_failure:
            client.subscribe("booth/v1/#", qos=1)
            self.subscribed.set()

    def send_command(self, booth: str, command: dict) -> None:
        self.client.publish(p.command_topic(booth, command["command_id"]),
                            p.encode(p.Command.model_validate(command)), qos=1)

    def _ack(self, booth: str, ack: p.Ack) -> None:
        self.acks_sent.append((booth, ack))
        self.client.publish(p.ack_topic(booth), p.encode(ack), qos=1)

    def _on_message(self, client, userdata, message) -> None:
        try:
            where = p.parse_booth_topic(message.topic)
            with self.lock:
                self._handle(where, bytes(message.payload))
        except p.ProtocolError as error:
            self.bad.append(error.reason)

    def _handle(self, where: p.BoothTopic, payload: bytes) -> None:
        booth, kind, ident, index = where
        if kind == "status":
            self.statuses.append(p.decode("status", payload))
        elif kind == "telemetry":
            self.telemetry.append(p.decode("telemetry", payload))
        elif kind == "event":
            event = p.decode("event", payload)
            self.events[event.event_id] = event
            self.event_receipts[event.event_id] += 1
            self._ack(booth, p.Ack(kind="event", id=event.event_id, status="stored"))
        elif kind == "photo_init":
            init = p.decode("photo_init", payload)
            if init.photo_id in self.stored:
                self._ack(booth, p.Ack(kind="photo", id=init.photo_id, status="stored",
                                       sha256=self.stored[init.photo_id]))
            else:
                self.inits[init.photo_id] = init
        elif kind == "photo_chunk":
            assert ident is not None and index is not None
            data = p.decode("photo_chunk", payload)
            if self.mangle is not None:
                mangled = self.mangle(ident, index, data)
                if mangled is None:
                    return
                data = mangled
            if ident not in self.stored:
                self.chunks[ident][index] = data
        elif kind == "photo_fin":
            self._finish(booth, p.decode("photo_fin", payload))

    def _finish(self, booth: str, fin: p.PhotoFin) -> None:
        if fin.photo_id in self.stored:
            self._ack(booth, p.Ack(kind="photo", id=fin.photo_id, status="stored", sha256=self.stored[fin.photo_id]))
            return
        init = self.inits.get(fin.photo_id)
        if init is None:
            self._ack(booth, p.Ack(kind="photo", id=fin.photo_id, status="missing", resend="init"))
            return
        have = self.chunks[fin.photo_id]
        missing = [i for i in range(init.chunks) if i not in have]
        if missing:
            self._ack(booth, p.Ack(kind="photo", id=fin.photo_id, status="missing", missing=missing))
            return
        data = b"".join(have[i] for i in range(init.chunks))
        if len(data) != init.size or hashlib.sha256(data).hexdigest() != init.sha256:
            self.bad.append(f"sha256 mismatch for {fin.photo_id}")
            have.clear()
            self._ack(booth, p.Ack(kind="photo", id=fin.photo_id, status="missing",
                                   missing=list(range(init.chunks))))
            return
        write_atomic(self.store / f"{fin.photo_id}.jpg", data)
        self.writes[fin.photo_id] += 1
        self.stored[fin.photo_id] = init.sha256
        self.chunks.pop(fin.photo_id, None)
        self._ack(booth, p.Ack(kind="photo", id=fin.photo_id, status="stored", sha256=init.sha256))


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll until ``condition`` holds; a failure guard, not a speed check."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)
