"""One MQTT client factory for the booth and the office: paho 2.x, MQTT 5, callback API 2.

Every connection of the project (the booth's uplink, central's ingest workers and commands,
``booth doctor``'s broker check) is made here, so the protocol version, the TLS context
(``boothcore.tls.client_context``), the Will and the reconnect waits are set one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from boothcore.tls import client_context


@dataclass(frozen=True)
class ClientTls:
    """The files of a TLS connection: ``ca`` verifies the broker (None: the system's trust store);
    ``cert`` and ``key`` are this client's identity (None: none presented)."""

    ca: Path | None
    cert: Path | None
    key: Path | None


@dataclass(frozen=True)
class Will:
    """The message the broker publishes for a client that vanishes: ``delay_s`` after the loss
    (MQTT 5 Will Delay Interval), cancelled when the client is back within it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    delay_s: int


def make_client(client_id: str, *, tls: ClientTls | None = None, will: Will | None = None,
                reconnect_s: tuple[float, float] | None = None, manual_ack: bool = False,
                reconnect_on_failure: bool = True) -> mqtt.Client:
    """A paho client speaking MQTT 5 as ``client_id``, not yet connected.

    ``reconnect_s``: paho's (min, max) wait between reconnects (None: paho's 1-120 s).
    ``manual_ack``: incoming QoS 1 messages are PUBACKed by ``client.ack`` only, after they are
    handled. Raises ``OSError``/``ssl.SSLError`` when the TLS files cannot be loaded.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                         reconnect_on_failure=reconnect_on_failure, manual_ack=manual_ack)
    if tls is not None:
        client.tls_set_context(client_context(tls.ca, tls.cert, tls.key))
    if will is not None:
        props = Properties(PacketTypes.WILLMESSAGE)
        props.WillDelayInterval = will.delay_s
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain, properties=props)
    if reconnect_s is not None:
        client.reconnect_delay_set(min_delay=reconnect_s[0], max_delay=reconnect_s[1])  # type: ignore[arg-type]  # paho hints int; seconds as float work
    return client
