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
from boothcore.link import LinkWatch, TakeoverWatch
from boothcore.mqtt import Will, make_client

log = logging.getLogger("appliance.uplink.client")  # one logger for the uplink's lines, as before the split

# A booth that notices another device with its id stays away uplink.takeover_backoff_s (times
# 50-100 % jitter), so the other one can work; each repeat doubles it up to this many times.
TAKEOVER_BACKOFF_MAX_FACTOR = 6
PACKET_TOO_LARGE = 0x95  # MQTT 5 DISCONNECT reason code (OASIS MQTT 5.0, 3.14.2.1)


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
        self.stopping = threading.Event()
        self._will: Will | None = None

    def connect(self, will: Will) -> None:
        """A new paho client connecting in the background (callbacks of any older one are ignored)."""
        self._will = will
        self.client = client = make_client(self.booth_id, tls=self.settings.client_tls, will=will, manual_ack=True,
                                           reconnect_s=(self._backoff(),) * 2)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
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
            self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)

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
        if code == PACKET_TOO_LARGE:
            # Our own packets explain the quick drops: they are no sign of another device.
            self.takeover.forget()
            self._set_backoff(client)
            self.deliver(PacketTooLarge())
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

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if client is not self.client:
            return
        self.deliver(Incoming(self.generation, message.topic, bytes(message.payload), message.mid, message.qos))
