"""The booth's paho client: a thin loop that connects, reconnects and reports, never acts.

paho's network thread (``loop_start``) runs the callbacks; they update the link's state and hand
a typed message (``appliance.uplink.messages``) to ``deliver``, the sender thread's queue (paho's
``wait_for_publish`` inside a callback can deadlock). Reconnect waits grow exponentially with a
jitter; a broker that keeps handing this booth's session to another device (a cloned SD card) gets
a longer wait, doubling up to ``TAKEOVER_BACKOFF_MAX_FACTOR`` times.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.uplink.messages import (
    Connected,
    Disconnected,
    Incoming,
    LinkMessage,
    PacketTooLarge,
    Refused,
    TakenOver,
)
from appliance.uplink.settings import UplinkSettings
from boothcore.link import QUICK_DROP_S, UNSPECIFIED, LinkWatch, TakeoverWatch
from boothcore.mqtt import Will, make_client
from boothcore.protocol import MIN_CHUNK_SIZE

log = logging.getLogger("appliance.uplink.client")  # one logger for the uplink's lines, as before the split

# A booth that notices another device with its id stays away uplink.takeover_backoff_s (times
# 50-100 % jitter), so the other one can work; each repeat doubles it up to this many times.
TAKEOVER_BACKOFF_MAX_FACTOR = 6
PACKET_TOO_LARGE = 0x95  # MQTT 5 DISCONNECT reason code (OASIS MQTT 5.0, 3.14.2.1)


class _InFlight:
    """The sizes of the payloads one paho client published that the broker has not acknowledged.

    ``sent`` (sender thread) and ``acknowledged`` (paho's ``on_publish``) may come in either order for
    a mid: a PUBACK can be read before ``publish`` returns.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sizes: dict[int, int] = {}
        self._acknowledged_first: set[int] = set()

    def sent(self, mid: int, size: int) -> None:
        with self._lock:
            if mid in self._acknowledged_first:
                self._acknowledged_first.discard(mid)
            else:
                self._sizes[mid] = size

    def acknowledged(self, mid: int) -> None:
        with self._lock:
            if self._sizes.pop(mid, None) is None:
                self._acknowledged_first.add(mid)

    def largest_chunk(self) -> int | None:
        """The largest unacknowledged payload over MIN_CHUNK_SIZE (a chunk that could shrink), or None."""
        with self._lock:
            return max((size for size in self._sizes.values() if size > MIN_CHUNK_SIZE), default=None)


def reconnect_delay(attempt: int, min_s: float, max_s: float, jitter: Callable[[], float] = random.random) -> float:
    """Wait before reconnect ``attempt``: exponential from min to max, times a random 50-100 %.

    The jitter keeps a fleet that lost the broker together from coming back as one herd.
    """
    base = min(max_s, min_s * 2 ** min(attempt, 30))
    return base * (0.5 + 0.5 * jitter())


class BrokerLink:
    """One booth's MQTT connection: ``connect(will)`` once, ``replace()`` after a too-large packet, ``close()``."""

    def __init__(self, settings: UplinkSettings, booth_id: str, deliver: Callable[[LinkMessage], None]) -> None:
        self.settings = settings
        self.booth_id = booth_id
        self.deliver = deliver
        self.client: mqtt.Client | None = None
        self.generation = 0  # connections made so far: an Incoming carries the one it came on
        self.connected = False
        self.attempt = 0
        self.max_packet: int | None = None  # the Maximum Packet Size of the last CONNACK (None: none announced)
        self.watch = LinkWatch(log, f"uplink: broker {settings.broker_url}")
        self.takeover = TakeoverWatch()
        self.takeover_backoff = settings.takeover_backoff_s
        self._in_flight = _InFlight()
        self._connected_at = 0.0  # time.monotonic() of the last CONNACK
        self.stopping = threading.Event()
        self._will: Will | None = None

    def connect(self, will: Will) -> None:
        """A new paho client connecting in the background (callbacks of any older one are ignored)."""
        self._will = will
        self._in_flight = _InFlight()  # paho re-sends its client's unacknowledged messages on reconnect
        self.client = client = make_client(self.booth_id, tls=self.settings.client_tls, will=will, manual_ack=True,
                                           reconnect_s=(self._backoff(),) * 2)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.settings.session_expiry_s
        client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s,
                             clean_start=False, properties=props)
        client.loop_start()

    def replace(self) -> None:
        """Connect a new client with the same Will and drop the old one, which would send its
        unacknowledged packets again on every reconnect."""
        assert self._will is not None, "replace() after connect()"
        old = self.client
        self.connect(self._will)
        if old is not None:
            old.disconnect()
            old.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int, *, retain: bool = False,
                properties: Properties | None = None) -> None:
        if self.client is not None:
            info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
            self._in_flight.sent(info.mid, len(payload))

    def subscribe(self, topics: list[str], qos: int) -> None:
        if self.client is not None:
            for topic in topics:
                self.client.subscribe(topic, qos=qos)

    def ack(self, incoming: Incoming) -> None:
        """PUBACK ``incoming`` if it came on this connection (a later one was delivered anew)."""
        if self.client is not None and incoming.generation == self.generation:
            self.client.ack(incoming.mid, incoming.qos)

    def close(self, farewell: Callable[[], tuple[str, bytes, int]] | None = None, timeout: float = 2.0) -> None:
        """Publish ``farewell()`` (topic, payload, QoS; retained) when connected, then disconnect
        cleanly (no Will) and stop paho's thread."""
        self.stopping.set()
        client = self.client
        if client is None:
            return
        if self.connected and farewell is not None:
            with contextlib.suppress(Exception):
                topic, payload, qos = farewell()
                client.publish(topic, payload, qos=qos, retain=True).wait_for_publish(timeout=timeout)
        client.disconnect()
        client.loop_stop()
        self.client = None

    # ------------------------------------------------------------------------ paho's thread

    def _backoff(self) -> float:
        return reconnect_delay(self.attempt, self.settings.reconnect_min_s, self.settings.reconnect_max_s)

    def _set_backoff(self, client: mqtt.Client) -> None:
        delay = self._backoff()
        client.reconnect_delay_set(min_delay=delay, max_delay=delay)  # type: ignore[arg-type]  # paho hints int; seconds as float work

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if client is not self.client:
            return  # a client replaced after "Packet too large"
        if reason.is_failure:
            self.attempt += 1
            self._set_backoff(client)
            self.watch.failed(f"refused: {reason}")
            self.deliver(Refused(str(reason)))
            return
        self.watch.connected()
        self.takeover.connected()
        self._connected_at = time.monotonic()
        self.max_packet = getattr(props, "MaximumPacketSize", None)
        self.attempt = 0
        self.generation += 1
        self.connected = True
        self.deliver(Connected(self.generation))

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if client is not self.client:
            return
        self.attempt += 1
        self._set_backoff(client)
        self.watch.failed("cannot connect")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if client is not self.client:
            return
        self.connected = False
        self.attempt += 1
        code = getattr(reason, "value", 0)
        if self.stopping.is_set():
            return
        quick = time.monotonic() - self._connected_at <= QUICK_DROP_S
        unacknowledged = self._in_flight.largest_chunk() if code == UNSPECIFIED and quick else None
        if code == PACKET_TOO_LARGE or unacknowledged is not None:
            # Our own packets explain the drops: they are no sign of another device. A quick drop without
            # a reason while a chunk larger than the smallest is unacknowledged (paho sends it again on
            # connecting) is taken for the same limit, its DISCONNECT lost when the socket closed first
            # or never sent: the chunks halve, and once they are at MIN_CHUNK_SIZE such drops count
            # towards a takeover again. A long connection's drop (a network fault) shrinks nothing.
            self.takeover.forget()
            self._set_backoff(client)
            self.deliver(PacketTooLarge(unacknowledged))
        elif self.takeover.dropped(code):
            # Stay away long enough for the other device to work; the sender says why.
            delay = self.takeover_backoff * (0.5 + 0.5 * random.random())
            self.takeover_backoff = min(self.settings.takeover_backoff_s * TAKEOVER_BACKOFF_MAX_FACTOR,
                                        self.takeover_backoff * 2)
            client.reconnect_delay_set(min_delay=delay, max_delay=delay)  # type: ignore[arg-type]  # paho hints int; seconds as float work
            self.deliver(TakenOver(delay, self.takeover.evidence()))
        else:
            self._set_backoff(client)
        self.watch.failed(f"connection lost: {reason}")
        self.deliver(Disconnected(str(reason)))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        if client is self.client:
            self._in_flight.acknowledged(mid)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if client is not self.client:
            return
        self.deliver(Incoming(self.generation, message.topic, bytes(message.payload), message.mid, message.qos))
