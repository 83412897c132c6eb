"""Central service configuration: one TOML file (config/central.toml), validated at start.

A bad value stops the service with one line naming the key, as the booth config does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from boothcore.broker_url import broker_port, check_broker_url
from boothcore.config import ConfigError, ConfigSection, one_line_error, read_raw
from boothcore.mqtt import ClientTls
from boothcore.protocol import BOOTH_ID_PATTERN, BOOTH_ID_RULE, MAX_PHOTO_SIZE, TOKEN_PATTERN
from central.certs import TlsFiles
from central.local_broker import CENTRAL_PORT

_BOOTH = re.compile(BOOTH_ID_PATTERN)


class BrokerSection(ConfigSection):
    # mqtt://host:1883 or mqtts://host:8884 (central's listener; mqtts needs the three TLS files).
    url: str = "mqtt://localhost:1883"
    # TLS: the fleet CA (verifies the broker), and the central service's client certificate
    # (CN = "central", issued by the central CA) and key.
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # Workers are <client_id>-<n>; two central hosts need different prefixes.
    client_id: str = Field(default="central-ingest", pattern=TOKEN_PATTERN)
    # The shared-subscription group all ingest workers join ($share/<group>/booth/v1/+/...);
    # "" = derived from the TLS key (central.ingest.share_group), "ingest" without TLS.
    share_group: str = Field(default="", pattern=f"^$|{TOKEN_PATTERN}")
    keepalive_s: int = Field(default=30, ge=5, le=600)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_broker_url(value, tls_port=CENTRAL_PORT)

    @model_validator(mode="after")
    def _tls_files(self) -> BrokerSection:
        files = (self.ca_file, self.cert_file, self.key_file)
        if self.url.startswith("mqtts://") and not all(files):
            raise ValueError("broker.url is mqtts://: set broker.ca_file, broker.cert_file and broker.key_file")
        for name, path in zip(("ca_file", "cert_file", "key_file"), files, strict=True):
            if path is not None and not path.is_file():
                raise ValueError(f"broker.{name} = '{path}': no such file")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "localhost"

    @property
    def port(self) -> int:
        return broker_port(self.url, tls_port=CENTRAL_PORT)

    @property
    def tls(self) -> TlsFiles | None:
        if self.ca_file and self.cert_file and self.key_file:
            return TlsFiles(ca=self.ca_file, cert=self.cert_file, key=self.key_file)
        return None

    @property
    def client_tls(self) -> ClientTls | None:
        """The TLS files of central's MQTT clients (``boothcore.mqtt.make_client``), None without TLS."""
        tls = self.tls
        return ClientTls(ca=tls.ca, cert=tls.cert, key=tls.key) if tls else None


class StorageSection(ConfigSection):
    # Photos (photos/<college>/<class>/<id_number>.jpg), chunk staging and the default database.
    data_dir: Path = Path("/var/lib/booth-central")
    # sqlite:///ABSOLUTE/PATH or sqlite:RELATIVE (to data_dir): one host (the embedded default); or
    # postgresql://USER@HOST/DB (psycopg's URI; password from ~/.pgpass or PGPASSWORD): ingest workers on
    # several hosts, with data_dir then a folder every one of them mounts (docs/storage.md).
    db_url: str = "sqlite:central.db"
    # Staged chunks of a photo that never completed are removed after this many seconds.
    staging_ttl_s: float = Field(default=86400.0, ge=60)
    # Staged bytes of unfinished photos per booth (MiB). A booth has at most uplink.window (default
    # 4) photos in flight, each at most 5 MiB (the protocol's MAX_PHOTO_SIZE): 20 MiB; 64 leaves
    # room for transfers a restart abandoned. Over it, the booth's oldest unfinished photos are
    # discarded (the booth re-sends them); at least one whole photo must fit.
    staging_max_mib_per_booth: float = Field(default=64.0, ge=MAX_PHOTO_SIZE / 2**20, le=1_000_000)

    @property
    def staging_max_bytes_per_booth(self) -> int:
        return int(self.staging_max_mib_per_booth * 2**20)

    @field_validator("db_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        # Only the scheme is shown: a database URL can carry a password.
        scheme = value.split(":", 1)[0] if ":" in value else value[:20]
        if value.startswith(("postgresql://", "postgres://")):
            if not urlsplit(value).path.strip("/"):
                raise ValueError(f"storage.db_url = '{scheme}://...': name the database "
                                 "(postgresql://USER@HOST/DATABASE)")
            return value
        if not value.startswith("sqlite:"):
            raise ValueError(f"storage.db_url = '{scheme}...': must be sqlite:///PATH, sqlite:RELATIVE "
                             "(to storage.data_dir) or postgresql://USER@HOST/DATABASE")
        return value


MAX_WORKERS = 64  # ingest workers in one process (also the bound of booth-central serve --workers)


class IngestSection(ConfigSection):
    # Ingest workers in this process (each: one MQTT connection, one thread, one DB connection).
    workers: int = Field(default=2, ge=1, le=MAX_WORKERS)
    # Only these booth ids are accepted; [] = every booth with a fleet certificate (the broker's ACL
    # binds a booth id's topics to its certificate); without TLS, any client (logged at start).
    known_booths: list[str] = Field(default_factory=list)
    # A fin that finds chunks missing waits this long (another worker may be writing them) before
    # central answers "missing".
    missing_grace_s: float = Field(default=0.5, ge=0, le=30)
    # Session expiry of the worker connections: 0 = a dead worker's share goes to the live ones at
    # once (booths re-send on the missing ack); > 0 keeps its queue for a quick restart.
    session_expiry_s: int = Field(default=0, ge=0, le=86400)

    @field_validator("known_booths")
    @classmethod
    def _booths(cls, value: list[str]) -> list[str]:
        for booth in value:
            if not _BOOTH.match(booth):
                raise ValueError(f"'{booth}' is not a booth id: {BOOTH_ID_RULE}")
        return value


class WebSection(ConfigSection):
    # Where the office dashboard listens (booth-central web, or serve --http): HOST:PORT.
    http: str = Field(default="127.0.0.1:8080", pattern=r"^[A-Za-z0-9.:\[\]-]+:[0-9]{1,5}$")
    # A login lasts this long (seconds) before the user has to log in again.
    session_ttl_s: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    # Failed logins allowed per user name, and per client address, within login_window_s.
    login_attempts: int = Field(default=5, ge=1, le=100)
    login_window_s: int = Field(default=300, ge=10, le=86400)
    # The booths' uplink.telemetry_interval_s: a booth with no status or telemetry for twice this
    # long is shown as stale.
    telemetry_interval_s: float = Field(default=30.0, gt=0, le=3600)
    # The office's local time zone (IANA name): the schedule CSV's dates and times are read in it
    # and the schedule is shown in it; everything stored is UTC.
    timezone: str = "Asia/Shanghai"

    @field_validator("http")
    @classmethod
    def _port(cls, value: str) -> str:
        if not 1 <= int(value.rsplit(":", 1)[1]) <= 65535:
            raise ValueError(f"'{value}': the port must be 1 to 65535")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value[:40]}' is not an IANA time zone (e.g. Asia/Shanghai)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def host(self) -> str:
        return self.http.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.http.rsplit(":", 1)[1])


class RosterSection(ConfigSection):
    # The year whose graduates the office photographs (the booths' booth.graduation_year): roster
    # rows of another year are refused by every booth, so they are neither missing nor exported.
    graduation_year: int = Field(default=2027, ge=2000, le=2100)


class CentralConfig(ConfigSection):
    broker: BrokerSection = BrokerSection()
    storage: StorageSection = StorageSection()
    ingest: IngestSection = IngestSection()
    web: WebSection = WebSection()
    roster: RosterSection = RosterSection()

    @property
    def data_dir(self) -> Path:
        return self.storage.data_dir


def parse_central_config(raw: dict[str, Any]) -> CentralConfig:
    try:
        return CentralConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(one_line_error(error, raw, model=CentralConfig)) from None


def load_central_config(path: str | Path | None = None,
                        overrides: dict[str, dict[str, Any]] | None = None) -> CentralConfig:
    """Load ``path`` (or the defaults) and apply ``{"section": {"key": value}}`` overrides."""
    return parse_central_config(read_raw(path, overrides))
