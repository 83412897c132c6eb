"""What the paho callbacks tell the uplink's sender thread: typed messages, put on its queue.

The callbacks run on paho's network thread and only report (``broker_link.BrokerLink``); the
sender thread acts on them (``client.Uplink``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Connected:
    """CONNACK accepted: connection number ``generation`` of this client is up."""

    generation: int


@dataclass(frozen=True)
class Refused:
    """The broker answered CONNECT with a failure reason."""

    reason: str


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class TakenOver:
    """Another device with this booth id took the session: paho stays away ``delay_s``."""

    delay_s: float
    evidence: str


@dataclass(frozen=True)
class PacketTooLarge:
    """The broker closed the connection for a packet over its Maximum Packet Size.

    ``unacknowledged`` is the size in bytes of the largest payload still in flight when the broker
    closed the connection without a reason (None: it said "Packet too large", reason 0x95).
    """

    unacknowledged: int | None = None


@dataclass(frozen=True)
class Incoming:
    """A message from central (an ack or a command), PUBACKed only after the sender's commit."""

    generation: int  # the connection it came on: a PUBACK on a later one would ack another message
    topic: str
    payload: bytes
    mid: int
    qos: int


@dataclass(frozen=True)
class Wake:
    """New work in the outbox, a status to refresh, or a stop: look now instead of at the next deadline."""


LinkMessage = Connected | Refused | Disconnected | TakenOver | PacketTooLarge | Incoming | Wake
