"""The booth's MQTT uplink: status, telemetry, events and chunked photo upload from the outbox.

Threads: paho's network loop (``loop_start``) runs the callbacks, which only put what happened on
a queue (paho's ``wait_for_publish`` inside a callback can deadlock); one sender thread does all the
work: reading the outbox, publishing, handling acks and commands. The booth flow calls
``photo_saved``/``event`` from its own thread; they write the outbox synchronously (durable when
they return) and wake the sender. Incoming messages are acknowledged to the broker (manual ack)
only after they were handled, so a kill never loses an ack or a command.

Group commit: the sender handles everything queued before it writes; the "stored" acks among it
retire their outbox rows in one transaction (``Outbox.mark_photos_acked``), and the broker
PUBACKs of those messages follow that commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance import __version__
from appliance.uplink.outbox import Outbox, OutboxError, PendingPhoto
from appliance.uplink.settings import UplinkSettings
from boothcore import protocol as p
from boothcore.link import STABLE_S, LinkWatch, TakeoverWatch
from boothcore.mqtt import Will, make_client
from boothcore.text import Text

log = logging.getLogger(__name__)

EVENT_WINDOW = 32  # events in flight at once (they are small)
MAX_REJECTS = 3  # a photo central rejects is sent whole again this many times, then parked
STATUS_MIN_INTERVAL_S = 2.0  # queue-depth changes refresh the retained status at most this often
DISK_FULL_MESSAGE = Text("存储空间将满:暂停拍照,已拍照片仍在上传。",
                         "Storage is almost full: no new photos. Photos already taken are still being sent.")
CPU_TEMP_FILE = Path("/sys/class/thermal/thermal_zone0/temp")
# A booth that notices another device with its id stays away uplink.takeover_backoff_s (times
# 50-100 % jitter), so the other one can work; each repeat doubles it up to this many times.
TAKEOVER_BACKOFF_MAX_FACTOR = 6
PACKET_TOO_LARGE = 0x95  # MQTT 5 DISCONNECT reason code (OASIS MQTT 5.0, 3.14.2.1)
# PUBLISH bytes besides the topic and the payload: fixed header (1 + up to 4 bytes of remaining
# length), topic length (2), packet id (2, QoS 1), property length (1, no properties).
PUBLISH_OVERHEAD = 1 + 4 + 2 + 2 + 1


@dataclass
class _Transfer:
    photo: PendingPhoto
    data: bytes
    deadline: float
    rejects: int = 0


@dataclass
class _Incoming:
    generation: int
    topic: str
    payload: bytes
    mid: int
    qos: int


@dataclass
class _Signals:
    """What the paho callbacks report; read and cleared by the sender thread."""

    generation: int = 0
    connected: bool = False
    attempt: int = 0
    events: queue.Queue[Any] = field(default_factory=queue.Queue)


def cpu_temp_c() -> float | None:
    try:
        return round(int(CPU_TEMP_FILE.read_text().strip()) / 1000.0, 1)
    except (OSError, ValueError):
        return None


def chunk_limit(max_packet: int | None, chunk_topic_len: int) -> int | None:
    """Largest chunk payload in a PUBLISH of at most ``max_packet`` bytes (None: no limit known)."""
    if max_packet is None:
        return None
    return max_packet - PUBLISH_OVERHEAD - chunk_topic_len


def fitted_init(init: p.PhotoInit, limit: int) -> p.PhotoInit:
    """``init`` with chunks of at most ``limit`` bytes (central accepts any chunk_size in range)."""
    if init.chunk_size <= limit:
        return init
    size = max(p.MIN_CHUNK_SIZE, limit)
    return init.model_copy(update={"chunk_size": size, "chunks": p.chunk_count(init.size, size)})


def reconnect_delay(attempt: int, min_s: float, max_s: float, jitter: Callable[[], float] = random.random) -> float:
    """Wait before reconnect ``attempt``: exponential from min to max, times a random 50-100 %.

    The jitter keeps a fleet that lost the broker together from coming back as one herd.
    """
    base = min(max_s, min_s * 2 ** min(attempt, 30))
    return base * (0.5 + 0.5 * jitter())


class Uplink:
    """One booth's connection to central. ``start()`` once, ``stop()`` at shutdown."""

    def __init__(self, settings: UplinkSettings, booth_id: str, db_path: str | Path, *,
                 on_command: Callable[[p.Command], str | None],
                 on_photo_acked: Callable[[str], None] | None = None,
                 version: str = __version__) -> None:
        p.status_topic(booth_id)  # ProtocolError for a malformed booth id
        self.settings = settings
        self.booth_id = booth_id
        self.version = version
        self._status_provider: Callable[[], dict[str, Any]] | None = None  # given to ``start``
        self.on_command = on_command
        self.outbox = Outbox(db_path, booth_id, chunk_size=settings.chunk_size, on_photo_acked=on_photo_acked)
        self.boot = 0
        self.install_id: str | None = None
        self._signals = _Signals()
        self._client: mqtt.Client | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started_at = time.monotonic()
        self._last_step = time.monotonic()  # the sender thread's last finished step (health for the watchdog)
        self._transfers: dict[str, _Transfer] = {}
        self._events_in_flight: dict[str, float] = {}
        self._next_telemetry = 0.0
        # "The outbox may hold rows not yet in flight": saves a query per sender step when it does not.
        self._more_photos = threading.Event()
        self._more_photos.set()
        self._more_events = threading.Event()
        self._more_events.set()
        self._status_dirty = True
        self._last_status = 0.0
        # This step's "stored" photo acks (committed together) and the PUBACKs that wait for them.
        self._stored_acks: list[p.Ack] = []
        self._pubacks: list[tuple[int, int, int]] = []
        self._link = LinkWatch(log, f"uplink: broker {settings.broker_url}")
        self._takeover = TakeoverWatch()
        self._takeover_backoff = settings.takeover_backoff_s
        self._takeover_reported = False
        # Bytes a chunk may have on this connection: uplink.chunk_size, lowered to the Maximum
        # Packet Size the broker announced in CONNACK, or halved after a "Packet too large" drop
        # from a broker that announced none.
        self._chunk_cap = settings.chunk_size
        self._max_packet: int | None = None
        self._size_error_logged = False

    # ------------------------------------------------------------------------ booth-facing API

    def start(self, status_provider: Callable[[], dict[str, Any]]) -> None:
        """Count the boot, check the outbox files, connect (in the background) and start sending.

        ``status_provider``: the booth's state and session for the status messages, read on the
        sender thread (``uplink_bridge.booth_status``). It is given here, not at construction, because
        the booth is built after its uplink (the booth's office and listeners are the uplink's).
        """
        self._status_provider = status_provider
        self.boot = self.outbox.next_boot()
        self.install_id = self.outbox.install_id()
        self._started_at = self._last_step = time.monotonic()
        for photo_id, state in self.outbox.check_files():
            self.event("error", {"code": f"photo_{state}", "message": f"photo {photo_id} cannot be sent: {state}"})
        if not self.settings.broker_url:
            log.warning("uplink: no broker_url configured; %d items wait in the outbox", self.backlog())
            return
        self._link.waiting()
        self._connect()
        self._thread = threading.Thread(target=self._run, name=f"uplink-{self.booth_id}", daemon=True)
        self._thread.start()
        log.info("uplink: booth %s boot %d connecting to %s", self.booth_id, self.boot, self.settings.broker_url)

    def stop(self, timeout: float = 5.0) -> None:
        """Publish a retained offline status, disconnect cleanly (no Will), stop the threads."""
        self._stopping.set()
        self._signals.events.put(("wake",))
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        client = self._client
        if client is not None:
            if self._signals.connected:
                with contextlib.suppress(Exception):
                    info = client.publish(p.status_topic(self.booth_id), p.encode(self._status(online=False,
                                          state="offline")), qos=p.QOS_STATUS, retain=True)
                    info.wait_for_publish(timeout=min(timeout, 2.0))
            client.disconnect()
            client.loop_stop()
            self._client = None
        self.outbox.close()

    def photo_saved(self, photo_id: str, path: str | Path, meta: dict[str, Any]) -> p.PhotoInit:
        """Queue a photo whose file is already durable (idempotent). Raises ProtocolError/OutboxError."""
        init = self.outbox.enqueue_photo(photo_id, path, meta)
        self._more_photos.set()
        self._wake()
        return init

    def event(self, kind: str, data: dict[str, Any]) -> str | None:
        """Queue an event durably; returns its event_id, or None (logged) if it could not be queued.

        An event that does not fit the protocol is replaced by an ``error`` event naming why, so
        central learns about it instead of it vanishing; over-long error messages are cut.
        """
        if kind == "error" and isinstance(data.get("message"), str):
            data = {**data, "message": data["message"][:500]}
        try:
            event_id = self.outbox.enqueue_event(kind, data)
        except p.ProtocolError as error:
            log.error("uplink: event not queued: %s", error.reason)
            if kind == "error":
                return None
            return self.event("error", {"code": "bad_event", "message": error.reason})
        except Exception as error:  # sqlite3.Error / OSError on a full disk, among others
            log.error("uplink: event %s not queued: %s", kind, error)
            return None
        self._more_events.set()
        self._wake()
        return event_id

    def publish_status(self) -> None:
        """Refresh the retained status now (call on every booth state change); never blocks."""
        self._status_dirty = True
        self._last_status = 0.0
        self._wake()

    def status_listener(self, previous: object, state: object) -> None:
        """A booth listener (``flow.booth.Listener``): every state the booth enters is published."""
        self.publish_status()

    def backlog(self) -> int:
        """Outbox rows central has not acknowledged yet (photos and events)."""
        return self.outbox.backlog()

    @property
    def connected(self) -> bool:
        return self._signals.connected

    def sender_healthy(self, stall_s: float) -> bool:
        """False when the sender thread died, was stopped, or finished no step in ``stall_s`` seconds.

        A step waits at most 1 s for work, so a live sender steps at least that often. With no
        broker configured there is no sender to watch: photos wait in the outbox, and that is healthy.
        """
        if not self.settings.broker_url:
            return True
        thread = self._thread
        return thread is not None and thread.is_alive() and time.monotonic() - self._last_step < stall_s

    def link_problem(self) -> Text | None:
        """The line for the screen's header when the office link is in trouble, or None.

        Another device using this booth id, or the link down for the Will Delay or longer (when
        central marks the booth lost), so a broker restart of a few seconds does not flash by.
        """
        if self._takeover.duplicate:
            return Text(f"两台设备使用同一编号 {self.booth_id},请联系办公室",
                        f"two devices use booth id {self.booth_id}: call the office")
        down_for, since = self._link.down_for(), self._link.down_since
        if not self.settings.broker_url or down_for is None or since is None or down_for < self.settings.will_delay_s:
            return None
        return Text(f"与办公室断开(自 {since:%H:%M})", f"office link down since {since:%H:%M}")

    def disk_ok(self) -> bool:
        """False when the data partition is below ``min_free_mb``: take no new photos."""
        return self.outbox.disk_ok(self.settings.min_free_mb)

    def capture_blocked(self) -> Text | None:
        """The message to show instead of taking a photo, or None when capture may go on."""
        return None if self.disk_ok() else DISK_FULL_MESSAGE

    # ------------------------------------------------------------------------ paho callbacks

    def _connect(self) -> None:
        """A new paho client connecting in the background (callbacks of any older one are ignored)."""
        self._client = client = self._make_client()
        client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s,
                             clean_start=False, properties=self._connect_properties())
        client.loop_start()

    def _make_client(self) -> mqtt.Client:
        will = Will(p.status_topic(self.booth_id), p.encode(p.will_status(self.booth_id, self.boot, self.install_id)),
                    qos=p.QOS_STATUS, retain=True, delay_s=self.settings.will_delay_s)
        client = make_client(self.booth_id, tls=self.settings.client_tls, will=will, manual_ack=True,
                             reconnect_s=(self._backoff(),) * 2)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s
        return props

    def _backoff(self) -> float:
        return reconnect_delay(self._signals.attempt, self.settings.reconnect_min_s, self.settings.reconnect_max_s)

    def _set_backoff(self, client: mqtt.Client) -> None:
        delay = self._backoff()
        client.reconnect_delay_set(min_delay=delay, max_delay=delay)  # type: ignore[arg-type]  # paho hints int; seconds as float work

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if client is not self._client:
            return  # a client replaced after "Packet too large"
        if reason.is_failure:
            self._signals.attempt += 1
            self._set_backoff(client)
            self._link.failed(f"refused: {reason}")
            self._signals.events.put(("refused", str(reason)))
            return
        self._link.connected()
        self._takeover.connected()
        self._max_packet = getattr(props, "MaximumPacketSize", None)
        self._signals.attempt = 0
        self._signals.generation += 1
        self._signals.connected = True
        self._signals.events.put(("connected", self._signals.generation))

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if client is not self._client:
            return
        self._signals.attempt += 1
        self._set_backoff(client)
        self._link.failed("cannot connect")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if client is not self._client:
            return
        self._signals.connected = False
        self._signals.attempt += 1
        code = getattr(reason, "value", 0)
        if self._stopping.is_set():
            return
        if code == PACKET_TOO_LARGE:
            # Our own packets explain the quick drops: they are no sign of another device.
            self._takeover.forget()
            self._set_backoff(client)
            self._signals.events.put(("too_large",))
        elif self._takeover.dropped(code):
            # Stay away long enough for the other device to work; the sender says why.
            delay = self._takeover_backoff * (0.5 + 0.5 * random.random())
            self._takeover_backoff = min(self.settings.takeover_backoff_s * TAKEOVER_BACKOFF_MAX_FACTOR,
                                         self._takeover_backoff * 2)
            client.reconnect_delay_set(min_delay=delay, max_delay=delay)  # type: ignore[arg-type]  # paho hints int; seconds as float work
            self._signals.events.put(("taken_over", delay, self._takeover.evidence()))
        else:
            self._set_backoff(client)
        self._link.failed(f"connection lost: {reason}")
        self._signals.events.put(("disconnected", str(reason)))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if client is not self._client:
            return
        self._signals.events.put(("message", _Incoming(self._signals.generation, message.topic,
                                                       bytes(message.payload), message.mid, message.qos)))

    def _wake(self) -> None:
        self._signals.events.put(("wake",))

    # ------------------------------------------------------------------------ sender thread

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
                self._last_step = time.monotonic()
            except Exception:  # the sender must survive anything; the outbox keeps the data
                log.exception("uplink: sender step failed")
                time.sleep(0.5)

    def _step(self) -> None:
        try:
            item = self._signals.events.get(timeout=self._wait_time())
        except queue.Empty:
            item = None
        try:
            while item is not None:
                self._handle(item)
                try:
                    item = self._signals.events.get_nowait()
                except queue.Empty:
                    item = None
        finally:
            # Even when one item failed, the acks handled before it are committed, then PUBACKed.
            self._commit_stored_acks()
            self._send_pubacks()
        if self._signals.connected and not self._stopping.is_set():
            self._pump()

    def _wait_time(self) -> float:
        now = time.monotonic()
        deadlines = [t.deadline for t in self._transfers.values()] + list(self._events_in_flight.values())
        deadlines.append(self._next_telemetry)
        if self._status_dirty:
            deadlines.append(self._last_status + STATUS_MIN_INTERVAL_S)
        return max(0.01, min(1.0, min(deadlines) - now))

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "connected":
            self._on_connected()
        elif kind == "disconnected":
            log.info("uplink: disconnected (%s); %d items wait in the outbox", item[1], self.backlog())
        elif kind == "refused":
            log.error("uplink: broker refused the connection: %s", item[1])
        elif kind == "taken_over":
            self._on_taken_over(item[1], item[2])
        elif kind == "too_large":
            self._on_packet_too_large()
        elif kind == "message":
            self._on_incoming(item[1])

    def _on_connected(self) -> None:
        client = self._client
        if client is None:
            return
        for topic in p.booth_subscriptions(self.booth_id):
            client.subscribe(topic, qos=p.QOS_CENTRAL)
        self._publish_status(force=True)
        self._fit_chunks()
        # Whatever was in flight may be lost: ask central where each transfer stands (fin) and
        # re-send unacked events right away. A transfer whose chunks no longer fit starts over.
        now = time.monotonic()
        for transfer in self._transfers.values():
            fitted = fitted_init(transfer.photo.init, self._chunk_cap)
            if fitted is not transfer.photo.init:
                transfer.photo = dataclasses.replace(transfer.photo, init=fitted)
                # Until every ingest worker has the new init, chunks of the new size may be refused
                # ("rejected" acks): those do not count towards parking the photo.
                transfer.rejects = 0
                self._send_chunks(transfer, range(fitted.chunks), with_init=True)
            else:
                transfer.deadline = now
        for event_id in self._events_in_flight:
            self._events_in_flight[event_id] = now
        log.info("uplink: connected (boot %d, backlog %d)", self.boot, self.backlog())

    def _fit_chunks(self) -> None:
        """Size chunks to the Maximum Packet Size the broker announced in this CONNACK."""
        # The longest chunk topic of this booth (photo ids have a fixed length, the index is largest last).
        topic = p.photo_chunk_topic(self.booth_id, uuid.uuid4().hex, p.MAX_CHUNKS - 1)
        limit = chunk_limit(self._max_packet, len(topic))
        if limit is None:
            return
        cap = min(self.settings.chunk_size, limit)
        if cap < p.MIN_CHUNK_SIZE:
            log.error("uplink: the broker's Maximum Packet Size is %d bytes, too small for the smallest photo "
                      "chunk (%d bytes): photos wait in the outbox; raise max_packet_size on the broker",
                      self._max_packet, p.MIN_CHUNK_SIZE)
        elif cap < self.settings.chunk_size and cap != self._chunk_cap:
            log.warning("uplink: the broker's Maximum Packet Size is %d bytes: photo chunks of %d bytes "
                        "instead of uplink.chunk_size = %d", self._max_packet, cap, self.settings.chunk_size)
        self._chunk_cap = cap

    def _on_packet_too_large(self) -> None:
        """The broker dropped us for a packet over its limit although it announced none (or ours was off).

        Halve the chunks, and replace the paho client: the old one would send its unacknowledged
        oversized chunks again on every reconnect. Nothing is lost with it: the outbox re-sends
        every photo and event central has not acknowledged.
        """
        if self._max_packet is not None:  # e.g. chunks sent before the broker restarted with a lower limit
            log.warning("uplink: the broker closed the connection for a packet over its Maximum Packet Size "
                        "(%d bytes); sending smaller chunks", self._max_packet)
        elif not self._size_error_logged:
            self._size_error_logged = True
            log.error("uplink: the broker closed the connection for a packet too large and announced no "
                      "Maximum Packet Size; set uplink.chunk_size (now %d bytes) below the broker's limit "
                      "in booth.toml. Trying smaller chunks meanwhile.", self.settings.chunk_size)
        self._chunk_cap = max(p.MIN_CHUNK_SIZE, self._chunk_cap // 2)
        old = self._client
        self._connect()
        if old is not None:
            old.disconnect()
            old.loop_stop()

    def _on_taken_over(self, delay: float, evidence: str) -> None:
        log.error("uplink: two devices use booth id %s: the broker keeps handing this booth's session to "
                  "the other one (a cloned SD card or copied certificate?): %s; reconnecting in %.0f s",
                  self.booth_id, evidence, delay)
        if not self._takeover_reported:
            self._takeover_reported = True
            self.event("error", {"code": "duplicate_booth_id",
                                 "message": f"two devices use booth id {self.booth_id}: this one keeps "
                                            "losing its broker session to the other"})
        self._status_dirty = True

    def _pump(self) -> None:
        if self._takeover.duplicate and self._takeover.stable():
            log.warning("uplink: connected for %.0f s without losing the session: booth id %s is no longer "
                        "contested", STABLE_S, self.booth_id)
            self._takeover_reported = False
            self._takeover_backoff = self.settings.takeover_backoff_s
        now = time.monotonic()
        for transfer in list(self._transfers.values()):
            if transfer.deadline <= now:
                self._publish_fin(transfer)
        for event_id, deadline in list(self._events_in_flight.items()):
            if deadline <= now:
                self._events_in_flight.pop(event_id)
                self._more_events.set()
        free = self.settings.window - len(self._transfers)
        if free > 0 and self._more_photos.is_set():
            self._more_photos.clear()  # set again by photo_saved/requeue, or below if the window filled
            photos = self.outbox.pending_photos(free, exclude=self._transfers)
            if len(photos) == free:
                self._more_photos.set()
            for photo in photos:
                self._start_transfer(photo)
        free_events = EVENT_WINDOW - len(self._events_in_flight)
        if free_events > 0 and self._more_events.is_set():
            self._more_events.clear()
            events = self.outbox.pending_events(free_events, exclude=self._events_in_flight)
            if len(events) == free_events:
                self._more_events.set()
            for event_id, payload in events:
                self._publish(p.event_topic(self.booth_id, event_id), payload, p.QOS_EVENT)
                self._events_in_flight[event_id] = now + self.settings.ack_timeout_s
        if now >= self._next_telemetry:
            self._next_telemetry = now + self.settings.telemetry_interval_s
            self._publish_telemetry()
            self._status_dirty = True
            self._more_photos.set()  # a periodic full look at the outbox, whatever the flags say
            self._more_events.set()
        if self._status_dirty and now - self._last_status >= STATUS_MIN_INTERVAL_S:
            self._publish_status()

    def _publish(self, topic: str, payload: bytes, qos: int, *, retain: bool = False,
                 properties: Properties | None = None) -> None:
        if self._client is not None:
            self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)

    # ------------------------------------------------------------------------ photos

    def _start_transfer(self, photo: PendingPhoto) -> None:
        if self._chunk_cap < p.MIN_CHUNK_SIZE:
            return  # the broker takes no chunk this small (logged on connect); the photo waits
        photo = dataclasses.replace(photo, init=fitted_init(photo.init, self._chunk_cap))
        data = self.outbox.read_photo(photo)
        if data is None:
            state = self.outbox.photo_state(photo.photo_id)
            self.event("error", {"code": f"photo_{state}", "message": f"photo {photo.photo_id} cannot be sent"})
            return
        transfer = _Transfer(photo, data, 0.0)
        self._transfers[photo.photo_id] = transfer
        self._send_chunks(transfer, range(photo.init.chunks), with_init=True)

    def _send_chunks(self, transfer: _Transfer, indexes: Any, *, with_init: bool) -> None:
        init = transfer.photo.init
        if with_init:
            self._publish(p.photo_init_topic(self.booth_id, init.photo_id), p.encode(init), p.QOS_PHOTO)
        for index in indexes:
            start = index * init.chunk_size
            self._publish(p.photo_chunk_topic(self.booth_id, init.photo_id, index),
                          transfer.data[start:start + init.chunk_size], p.QOS_PHOTO)
        self._publish_fin(transfer)

    def _publish_fin(self, transfer: _Transfer) -> None:
        init = transfer.photo.init
        fin = p.PhotoFin(booth=self.booth_id, photo_id=init.photo_id, size=init.size, sha256=init.sha256,
                         chunks=init.chunks)
        self._publish(p.photo_fin_topic(self.booth_id, init.photo_id), p.encode(fin), p.QOS_PHOTO)
        transfer.deadline = time.monotonic() + self.settings.ack_timeout_s

    def _on_photo_ack(self, ack: p.Ack) -> None:
        transfer = self._transfers.get(ack.id)
        if ack.status == "stored":
            assert ack.sha256 is not None  # the Ack model guarantees it for photos
            self._stored_acks.append(ack)  # retired with the others of this step, in one commit
            return
        if transfer is None:
            # An answer for a photo not in flight (e.g. sent before a restart): resume it if there is room.
            pending = self.outbox.pending_photo(ack.id)
            if pending is not None and len(self._transfers) < self.settings.window:
                self._start_transfer(pending)
            return
        chunks = transfer.photo.init.chunks
        if ack.status == "missing":
            wanted = sorted(i for i in ack.missing if i < chunks)
            if not wanted and (ack.resend == "init" or ack.missing):
                wanted = list(range(chunks))
            log.info("uplink: photo %s: central misses %d chunk(s)%s", ack.id, len(wanted),
                     " and the init" if ack.resend == "init" else "")
            self._send_chunks(transfer, wanted, with_init=ack.resend == "init")
        elif ack.status == "rejected":
            transfer.rejects += 1
            if transfer.rejects < MAX_REJECTS:
                log.warning("uplink: photo %s rejected (%s); sending it whole again", ack.id, ack.reason)
                self._send_chunks(transfer, range(chunks), with_init=True)
            else:
                self._transfers.pop(ack.id, None)
                self.outbox.mark_photo_rejected(ack.id, ack.reason or "rejected")
                self.event("error", {"code": "photo_rejected",
                                     "message": f"photo {ack.id} rejected by central: {ack.reason}"[:500]})

    def _commit_stored_acks(self) -> None:
        """Retire the rows of this step's "stored" acks in one transaction, then settle transfers."""
        acks, self._stored_acks = self._stored_acks, []
        if not acks:
            return
        done = self.outbox.mark_photos_acked([(ack.id, ack.sha256 or "") for ack in acks])
        for ack in acks:
            transfer = self._transfers.get(ack.id)
            if done[ack.id]:
                self._transfers.pop(ack.id, None)
                self._status_dirty = True
                log.info("uplink: photo %s stored by central", ack.id)
            elif transfer is not None:
                log.error("uplink: central's copy of photo %s differs; sending it again", ack.id)
                self._send_chunks(transfer, range(transfer.photo.init.chunks), with_init=True)

    def _send_pubacks(self) -> None:
        """PUBACK the incoming messages handled in this step (only after their outbox writes)."""
        pubacks, self._pubacks = self._pubacks, []
        for generation, mid, qos in pubacks:
            if self._client is not None and generation == self._signals.generation:
                self._client.ack(mid, qos)

    # ------------------------------------------------------------------------ incoming

    def _on_incoming(self, incoming: _Incoming) -> None:
        try:
            where = p.parse_central_topic(incoming.topic)
            if where.booth != self.booth_id:
                raise p.ProtocolError(f"message for booth {where.booth} ignored")
            if where.kind == "ack":
                ack = p.decode("ack", incoming.payload)
                if ack.kind == "photo":
                    self._on_photo_ack(ack)
                else:
                    self._on_event_ack(ack)
            else:
                assert where.command_id is not None
                self._on_command_message(where.command_id, incoming.payload)
        except p.ProtocolError as error:
            log.warning("uplink: dropped message on %s: %s", incoming.topic[:80], error.reason)
        finally:
            # Acknowledge to the broker only after the step's commit (``_send_pubacks``): a kill
            # before that point gets it delivered again.
            self._pubacks.append((incoming.generation, incoming.mid, incoming.qos))

    def _on_event_ack(self, ack: p.Ack) -> None:
        if ack.status == "stored":
            self.outbox.remove_event(ack.id)
            self._events_in_flight.pop(ack.id, None)
            self._status_dirty = True
        elif ack.status == "rejected":
            log.error("uplink: central rejected event %s: %s; dropping it", ack.id, ack.reason)
            self.outbox.remove_event(ack.id)
            self._events_in_flight.pop(ack.id, None)
        else:
            self._events_in_flight.pop(ack.id, None)  # the next pump sends it again
            self._more_events.set()

    def _on_command_message(self, command_id: str, payload: bytes) -> None:
        if self.outbox.command_result(command_id) is not None:
            log.info("uplink: command %s already handled", command_id)
            return
        try:
            command = p.decode("command", payload)
            if command.command_id != command_id:
                raise p.ProtocolError("command_id differs from the topic")
        except p.ProtocolError as error:
            self._finish_command(command_id, False, f"invalid command: {error.reason}")
            return
        try:
            if command.kind == "resend":
                count = self.outbox.requeue(p.ResendData.model_validate(command.data).photo_ids)
                self._more_photos.set()
                ok, message = True, f"{count} photo(s) queued again"
            elif command.kind == "publish_status":  # central restarted and asks the fleet
                self.publish_status()
                ok, message = True, "status published"
            else:
                ok, message = True, self.on_command(command) or ""
        except Exception as error:  # the booth refused or failed: report it, stay up
            ok, message = False, str(error) or type(error).__name__
        self._finish_command(command_id, ok, message)

    def _finish_command(self, command_id: str, ok: bool, message: str) -> None:
        log.info("uplink: command %s %s %s", command_id, "done" if ok else "refused:", message)
        self.outbox.record_command(command_id, ok, message[:500],
                                   {"command_id": command_id, "ok": ok, "message": message[:500]})
        self._more_events.set()

    # ------------------------------------------------------------------------ status

    def _status(self, *, online: bool, state: str | None = None) -> p.Status:
        try:
            provided = dict(self._status_provider() or {}) if self._status_provider else {}
        except Exception:
            log.exception("uplink: status_provider failed")
            provided = {"state": "unknown"}
        temp = provided.get("cpu_temp_c", cpu_temp_c())
        return p.Status(booth=self.booth_id, boot=self.boot, online=online,
                        state=state or provided.get("state") or "unknown", session=provided.get("session"),
                        queue_depth=self.backlog(), disk_free_mb=round(self.outbox.disk_free_mb(), 1),
                        cpu_temp_c=temp, version=self.version, install_id=self.install_id, ts=p.utc_now())

    def _publish_status(self, *, force: bool = False) -> None:
        try:
            status = self._status(online=True)
        except ValueError as error:  # a bad session from the provider: report state without it
            log.error("uplink: status not valid: %s", str(error).splitlines()[0])
            status = p.Status(booth=self.booth_id, boot=self.boot, online=True, state="unknown",
                              queue_depth=self.backlog(), disk_free_mb=round(self.outbox.disk_free_mb(), 1),
                              version=self.version, install_id=self.install_id, ts=p.utc_now())
        self._publish(p.status_topic(self.booth_id), p.encode(status), p.QOS_STATUS, retain=True)
        self._status_dirty = False
        self._last_status = time.monotonic()

    def _publish_telemetry(self) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.MessageExpiryInterval = p.TELEMETRY_EXPIRY_S
        try:
            provided = self._status_provider() if self._status_provider else {}
            temp = provided.get("cpu_temp_c", cpu_temp_c())
        except Exception:
            temp = cpu_temp_c()
        telemetry = p.Telemetry(booth=self.booth_id, ts=p.utc_now(), cpu_temp_c=temp,
                                disk_free_mb=round(self.outbox.disk_free_mb(), 1),
                                mem_used_mb=round(psutil.virtual_memory().used / 2**20, 1),
                                uptime_s=round(time.monotonic() - self._started_at, 1),
                                queue_depth=self.backlog())
        self._publish(p.telemetry_topic(self.booth_id), p.encode(telemetry), p.QOS_TELEMETRY,
                      properties=props)


__all__ = ["DISK_FULL_MESSAGE", "Outbox", "OutboxError", "Uplink", "cpu_temp_c"]
