"""The ``[uplink]`` configuration section: how the booth reaches the central broker."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from boothcore.broker_url import broker_port, check_broker_url
from boothcore.config import ConfigSection
from boothcore.mqtt import ClientTls
from boothcore.protocol import CHUNK_SIZE, MIN_CHUNK_SIZE, WILL_DELAY_S

MQTTS_PORT = 8883  # IANA's secure-mqtt: the broker's listener for booths


class UplinkSettings(ConfigSection):
    # Empty = no uplink (photos stay in the local outbox until one is configured).
    # mqtt://host[:1883] or mqtts://host[:8883] (TLS).
    broker_url: str = ""
    # TLS: the fleet CA, and this booth's client certificate and key (CN = booth id). Empty = none;
    # an mqtts:// URL without ca_file uses the system trust store.
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    # MQTT keepalive, seconds: a dead link is noticed after about 1.5x this.
    keepalive_s: int = Field(default=30, ge=5, le=120)
    # Reconnect backoff: doubles from min to max seconds, each wait with random jitter (50-100 %).
    reconnect_min_s: float = Field(default=1.0, gt=0, le=60)
    reconnect_max_s: float = Field(default=60.0, gt=0, le=3600)
    # After noticing another device with this booth id (its session taken over again and again),
    # stay off the broker this long (times 50-100 % jitter; doubling on repeats, up to 6x).
    takeover_backoff_s: float = Field(default=300.0, gt=0, le=3600)
    # Photos being transferred at once (init, chunks, fin sent; waiting for central's ack).
    window: int = Field(default=4, ge=1, le=64)
    # Seconds without an ack before the fin (or the event) is sent again; central answers a fin
    # with "stored" or the list of missing chunks, so a re-sent fin resumes the transfer.
    ack_timeout_s: float = Field(default=20.0, gt=0, le=600)
    # Seconds between telemetry messages (and refreshes of the retained status).
    telemetry_interval_s: float = Field(default=30.0, gt=0, le=3600)
    # MQTT 5 Will Delay: a reconnect within this many seconds does not flash "lost".
    will_delay_s: int = Field(default=WILL_DELAY_S, ge=0, le=3600)
    # MQTT 5 Session Expiry (>= will_delay_s): the broker keeps acks and commands for a booth that is
    # away for up to this long.
    session_expiry_s: int = Field(default=86400, ge=0, le=7 * 86400)
    # Bytes per photo chunk (4096-65536); central accepts any size in that range. Lowered per
    # connection to fit the broker's announced Maximum Packet Size.
    chunk_size: int = Field(default=CHUNK_SIZE, ge=MIN_CHUNK_SIZE, le=CHUNK_SIZE)
    # Below this much free space on the data partition the booth stops taking photos
    # (it keeps uploading what it has).
    min_free_mb: int = Field(default=200, ge=0)

    @field_validator("broker_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_broker_url(value, tls_port=MQTTS_PORT) if value else value

    @model_validator(mode="after")
    def _consistent(self) -> UplinkSettings:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(f"uplink.reconnect_max_s = {self.reconnect_max_s:g}: must be at least "
                             f"uplink.reconnect_min_s ({self.reconnect_min_s:g})")
        if self.session_expiry_s < self.will_delay_s:
            raise ValueError(f"uplink.session_expiry_s = {self.session_expiry_s}: must be at least "
                             f"uplink.will_delay_s ({self.will_delay_s})")
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("uplink.cert_file and uplink.key_file must be set together")
        return self

    @property
    def tls(self) -> bool:
        return urlsplit(self.broker_url).scheme == "mqtts"

    @property
    def client_tls(self) -> ClientTls | None:
        """The TLS files of an mqtts:// link (None for mqtt://); no ca_file: the system's trust store."""
        if not self.tls:
            return None
        return ClientTls(ca=Path(self.ca_file) if self.ca_file else None,
                         cert=Path(self.cert_file) if self.cert_file else None,
                         key=Path(self.key_file) if self.key_file else None)

    @property
    def host(self) -> str:
        return urlsplit(self.broker_url).hostname or ""

    @property
    def port(self) -> int:
        return broker_port(self.broker_url, tls_port=MQTTS_PORT)
