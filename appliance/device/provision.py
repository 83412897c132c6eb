"""First-boot provisioning: one file on the FAT boot partition gives a booth its identity.

The technician drops ``booth.toml`` (the booth's own configuration plus ``[system]`` and an optional
``[wifi]``) and the three TLS files it names next to it. ``provision`` validates all of it first,
then installs it into the data partition (every file 0600, owned by the ``booth`` user) with one
atomic switch of the ``config`` symlink, deletes the file and the secrets from the boot partition
(FAT has no permissions: anyone with the card could read them), and writes the system settings
(time zone, NTP, Wi-Fi) into the root. The root is a RAM overlay on the appliance, so those are
written again on every boot from the data partition; a second run changes nothing.

A bad file changes nothing: the reason goes to ``provision-error.txt`` in the data folder, which the
"not provisioned" screen shows, and the file stays on the boot partition for the technician to fix.
Every path is taken under ``root``, which is how it is tested against a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import tempfile
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import tomli_w
from pydantic import Field, ValidationError, field_validator

from appliance.config import DEMO_PAYMENT_QR, BoothConfig, BoothSection, parse_config
from appliance.operator_pin import hash_pin
from boothcore.config import ConfigError, ConfigSection, unknown_key_line
from boothcore.durable import fsync_dir, write_atomic
from boothcore.tls import IdentityError, check_identity

DATA_DIR = BoothSection().data_dir  # the data partition's mount point (booth.service's ReadWritePaths)
CONFIG_DIR = DATA_DIR / "config"  # a symlink to the installed set, switched atomically
BOOTH_TOML = CONFIG_DIR / "booth.toml"
SYSTEM_TOML = CONFIG_DIR / "system.toml"
TLS_DIR = CONFIG_DIR / "tls"
ERROR_FILE = DATA_DIR / "provision-error.txt"
TLS_NAMES = {"ca_file": "ca.crt", "cert_file": "booth.crt", "key_file": "booth.key"}
# Where the image puts the sha256-checked models (image_build/stage-booth/01-booth): the default of a
# provisioned booth, so `booth doctor` run by a technician finds them as booth.service does.
MODEL_DIR = Path("/opt/booth/models")
BOOTH_USER = "booth"
# booth.graduation_year too: the embedded one is one year's, and every other year's graduate is refused.
# The [hardware] keys too: their defaults are the simulated camera and reader, the mock pins and a
# window (the development machine's), never a booth's.
REQUIRED = (("booth", "id"), ("booth", "graduation_year"), ("uplink", "broker_url"), ("uplink", "ca_file"),
            ("uplink", "cert_file"), ("uplink", "key_file"), ("system", "timezone"), ("system", "ntp"),
            ("fees", "payment_qr"), ("hardware", "camera"), ("hardware", "card_reader"),
            ("hardware", "pin_factory"), ("hardware", "screen"))
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$")  # a host name, IPv4 or IPv6 address
# Written under the root; the root is a RAM overlay on the appliance, so on every boot.
LOCALTIME = Path("/etc/localtime")
TIMEZONE = Path("/etc/timezone")
TIMESYNCD_CONF = Path("/etc/systemd/timesyncd.conf.d/booth.conf")
NM_CONNECTION = Path("/etc/NetworkManager/system-connections/booth-wifi.nmconnection")
WIFI_COUNTRY_CONF = Path("/etc/modprobe.d/booth-wifi-country.conf")


class ProvisionError(Exception):
    """The provisioning file cannot be used; the one line shown on the screen and printed."""


class SystemSection(ConfigSection):
    # IANA time zone (photos carry timestamps; the class hours are local time).
    timezone: str
    # NTP servers systemd-timesyncd asks (host names or addresses).
    ntp: list[str] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise ValueError(f"'{value}' is not an IANA time zone such as Asia/Shanghai")
        return value

    @field_validator("ntp")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        for server in value:
            if not _HOST.match(server):
                raise ValueError(f"'{server}' is not a host name or address")
        return value


class WifiSection(ConfigSection):
    ssid: str = Field(min_length=1)
    # WPA2/WPA3 personal passphrase (8-63 characters); never shown in a message.
    psk: str = Field(repr=False)
    # Regulatory domain (ISO 3166 alpha-2); Wi-Fi stays off on a Pi until it is set.
    country: str = Field(pattern=r"^[A-Z]{2}$")
    hidden: bool = False

    @field_validator("ssid")
    @classmethod
    def _ssid(cls, value: str) -> str:
        if len(value.encode()) > 32:
            raise ValueError("is longer than 32 bytes")
        return value

    @field_validator("psk")
    @classmethod
    def _psk(cls, value: str) -> str:
        if not 8 <= len(value) <= 63 or not value.isascii() or not value.isprintable():
            raise ValueError("must be 8-63 printable ASCII characters (the value is not shown)")
        return value


@dataclass
class Provisioning:
    """A validated provisioning file: what will be installed, and the boot-partition files it came from."""

    config: BoothConfig
    booth_toml: dict[str, Any]
    system: SystemSection
    wifi: WifiSection | None
    sources: list[Path]  # booth.toml and the TLS files, deleted from the boot partition once installed
    tls: dict[str, Path]  # installed name -> source


@dataclass
class Report:
    booth: str = ""
    installed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "booth": self.booth, "installed": self.installed, "deleted": self.deleted,
                "changed": self.changed, "notes": self.notes}


def under(root: Path, path: Path) -> Path:
    """``path`` (absolute, as on the booth) inside ``root``."""
    return root / path.relative_to("/")


def _section_error(name: str, error: ValidationError) -> str:
    """The line of ``[name]``'s first error; an unknown key first (``Country`` for ``country`` would
    otherwise read "wifi.country: missing")."""
    errors = error.errors()
    first = next((each for each in errors if each["type"] == "extra_forbidden"), errors[0])
    key = ".".join([name, *(str(p) for p in first["loc"])])
    if first["type"] == "missing":
        return f"{key}: missing"
    if first["type"] == "extra_forbidden":
        model = SystemSection if name == "system" else WifiSection
        return unknown_key_line([name, *(str(p) for p in first["loc"])], list(model.model_fields))
    return f"{key}: {first['msg'].removeprefix('Value error, ')}"


def load(source: Path) -> Provisioning:
    """Read and validate the whole file and the TLS files it names; raise ProvisionError on the first problem."""
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8-sig"))  # a Windows editor's byte-order mark dropped
    except OSError as error:
        raise ProvisionError(f"cannot read {source}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ProvisionError(f"{source} is not UTF-8 text: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ProvisionError(f"{source} is not valid TOML: {error}") from None
    known = [*BoothConfig.model_fields, "system", "wifi"]
    for section in raw:
        if section not in known:  # [System] for [system]: not "system.timezone: missing"
            raise ProvisionError(unknown_key_line([section], known))
    for section, key in REQUIRED:
        value = raw.get(section, {})
        if not isinstance(value, dict) or key not in value or value[key] in ("", []):
            raise ProvisionError(f"{section}.{key}: missing (every booth needs it; see image_build/README.md)")
    operator = raw.get("operator")
    if not isinstance(operator, dict) or not (operator.get("pin_hash") or operator.get("pin")):
        raise ProvisionError("operator.pin_hash: missing (make it with `booth hash-pin`; operator.pin also works "
                             "and is stored hashed)")
    try:
        system = SystemSection.model_validate(raw.pop("system"))
    except ValidationError as error:
        raise ProvisionError(_section_error("system", error)) from None
    try:
        wifi = WifiSection.model_validate(raw.pop("wifi")) if "wifi" in raw else None
    except ValidationError as error:
        raise ProvisionError(_section_error("wifi", error)) from None
    booth = raw["booth"]
    if "data_dir" in booth and Path(booth["data_dir"]) != DATA_DIR:
        raise ProvisionError(f"booth.data_dir = {booth['data_dir']!r}: the image fixes it to {DATA_DIR}; remove it")
    booth["data_dir"] = str(DATA_DIR)
    quality = raw.setdefault("quality", {})
    if isinstance(quality, dict):
        quality.setdefault("model_dir", str(MODEL_DIR))
    uplink = raw["uplink"]
    tls: dict[str, Path] = {}
    for key, name in TLS_NAMES.items():
        relative = PurePosixPath(str(uplink[key]))
        if relative.is_absolute() or ".." in relative.parts:
            raise ProvisionError(f"uplink.{key} = {uplink[key]!r}: name a file next to booth.toml on the boot "
                                 "partition (no folders)")
        tls[name] = source.parent / relative
        uplink[key] = str(TLS_DIR / name)
    try:
        config = parse_config(raw)
    except ConfigError as error:
        raise ProvisionError(str(error).removeprefix("config error: ")) from None
    if not operator.get("pin_hash"):  # only the hash is installed: the data partition never holds the PIN
        operator["pin_hash"] = hash_pin(operator.pop("pin"))
    if config.fees.payment_qr == DEMO_PAYMENT_QR:
        raise ProvisionError(f"fees.payment_qr = {DEMO_PAYMENT_QR!r}: the demo link of the embedded defaults; "
                             "put the collecting unit's Alipay / WeChat payment link")
    if not config.uplink.tls:
        raise ProvisionError(f"uplink.broker_url = {config.uplink.broker_url!r}: a booth sends personal data, "
                             "use mqtts://host:8883")
    try:
        check_identity(tls["ca.crt"], tls["booth.crt"], tls["booth.key"], config.booth.id)
    except IdentityError as error:
        raise ProvisionError(str(error)) from None
    return Provisioning(config, raw, system, wifi, [source, *tls.values()], tls)


def _owner() -> tuple[int, int] | None:
    """The booth user's uid/gid when running as root and the user exists (on the appliance)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(BOOTH_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _installed_files(provisioning: Provisioning) -> dict[str, bytes]:
    system: dict[str, Any] = {"system": provisioning.system.model_dump()}
    if provisioning.wifi is not None:
        system["wifi"] = provisioning.wifi.model_dump()
    files = {"booth.toml": tomli_w.dumps(provisioning.booth_toml).encode(),
             "system.toml": tomli_w.dumps(system).encode()}
    for name, source in provisioning.tls.items():
        files[f"tls/{name}"] = source.read_bytes()
    return files


def _current_files(config_dir: Path, names: list[str]) -> dict[str, bytes] | None:
    try:
        return {name: (config_dir / name).read_bytes() for name in names}
    except OSError:
        return None


def install(provisioning: Provisioning, root: Path) -> list[str]:
    """Write the set into a new folder, then switch the ``config`` symlink to it (one rename)."""
    files = _installed_files(provisioning)
    data = under(root, DATA_DIR)
    link = under(root, CONFIG_DIR)
    if _current_files(link, list(files)) == files:
        return []
    data.mkdir(parents=True, exist_ok=True)
    owner = _owner()
    folder = Path(tempfile.mkdtemp(prefix="config-", dir=data))  # 0700
    for name, content in files.items():
        write_atomic(folder / name, content, mode=0o600)
    (folder / "tls").chmod(0o700)
    if owner is not None:
        for path in [folder, folder / "tls", *(folder / name for name in files)]:
            os.chown(path, *owner)
    fsync_dir(folder)
    previous = link.resolve() if link.is_symlink() else None
    temporary = data / ".config.link"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(folder.name)
    os.replace(temporary, link)
    fsync_dir(data)
    if previous is not None and previous != folder and previous.parent == data:
        shutil.rmtree(previous, ignore_errors=True)
    return [str(CONFIG_DIR / name) for name in files]


def delete_sources(provisioning: Provisioning) -> list[str]:
    """Remove the file and the secrets from the boot partition; raise ProvisionError if one stays."""
    deleted = []
    for path in dict.fromkeys(provisioning.sources):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise ProvisionError(f"installed, but cannot delete {path} from the boot partition ({error.strerror}): "
                                 "delete it by hand, it holds secrets") from None
        deleted.append(str(path))
    for folder in {path.parent for path in provisioning.sources}:
        with contextlib.suppress(OSError):
            fsync_dir(folder)
    return deleted


def _write_if_changed(path: Path, content: str, mode: int) -> bool:
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == content and (path.stat().st_mode & 0o777) == mode:
            return False
    write_atomic(path, content.encode(), mode=mode)
    return True


def apply_system(system: SystemSection, wifi: WifiSection | None, root: Path) -> list[str]:
    """Time zone, NTP servers and Wi-Fi into the root; only what differs is written. Returns what changed."""
    changed = []
    localtime = under(root, LOCALTIME)
    target = f"/usr/share/zoneinfo/{system.timezone}"
    if not localtime.is_symlink() or os.readlink(localtime) != target:
        localtime.parent.mkdir(parents=True, exist_ok=True)
        temporary = localtime.with_name(".localtime.tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        temporary.symlink_to(target)
        os.replace(temporary, localtime)
        changed.append(str(LOCALTIME))
    writes = [(TIMEZONE, f"{system.timezone}\n", 0o644),
              (TIMESYNCD_CONF, f"# booth provision: from {SYSTEM_TOML}\n[Time]\nNTP={' '.join(system.ntp)}\n", 0o644)]
    if wifi is not None:
        writes.append((NM_CONNECTION, _nm_connection(wifi), 0o600))
        writes.append((WIFI_COUNTRY_CONF, f"options cfg80211 ieee80211_regdom={wifi.country}\n", 0o644))
    else:
        for stale in (NM_CONNECTION, WIFI_COUNTRY_CONF):
            with contextlib.suppress(FileNotFoundError):
                under(root, stale).unlink()
                changed.append(f"removed {stale}")
    for path, content, mode in writes:
        if _write_if_changed(under(root, path), content, mode):
            changed.append(str(path))
    return changed


def _nm_connection(wifi: WifiSection) -> str:
    """A NetworkManager keyfile (nm-settings-keyfile(5)); Raspberry Pi OS Bookworm and Trixie use NM."""
    return ("[connection]\nid=booth-wifi\ntype=wifi\nautoconnect=true\n\n"
            f"[wifi]\nmode=infrastructure\nssid={wifi.ssid}\nhidden={'true' if wifi.hidden else 'false'}\n\n"
            f"[wifi-security]\nkey-mgmt=wpa-psk\npsk={wifi.psk}\n\n"
            "[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n")


def installed_system(root: Path) -> tuple[SystemSection, WifiSection | None] | None:
    """The system settings installed earlier, or None when the booth was never provisioned."""
    try:
        raw = tomllib.loads(under(root, SYSTEM_TOML).read_text(encoding="utf-8"))
    except OSError:
        return None
    return SystemSection.model_validate(raw["system"]), (
        WifiSection.model_validate(raw["wifi"]) if "wifi" in raw else None)


def record_error(root: Path, reason: str) -> None:
    """Leave the reason for the "not provisioned" screen (no secret is ever part of a reason)."""
    write_atomic(under(root, ERROR_FILE), f"{reason}\n".encode(), mode=0o644)


def clear_error(root: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        under(root, ERROR_FILE).unlink()


def provision(source: Path, root: Path) -> Report:
    """Import ``source`` if it exists, then (re)apply the system settings. Raises ProvisionError.

    Without a file, an already provisioned booth only gets its system settings written again
    (every boot); a booth never provisioned raises, naming the file it looked for. A bad file on a
    provisioned booth raises too, after the working settings were applied as on any boot.
    """
    report = Report()
    problem: ProvisionError | None = None
    if source.exists():
        try:
            provisioning = load(source)
        except ProvisionError as error:
            problem = error
        else:
            report.booth = provisioning.config.booth.id
            report.installed = install(provisioning, root)
            if not report.installed:
                report.notes.append(f"the installed configuration of {report.booth} already matches {source}")
            report.deleted = delete_sources(provisioning)
    installed = installed_system(root)
    if installed is not None:
        report.changed = apply_system(*installed, root)
    if problem is None and installed is None:
        problem = ProvisionError(f"not provisioned: put booth.toml and its TLS files on the boot partition ({source})")
    if problem is not None:
        record_error(root, str(problem))
        raise problem
    if not report.booth:
        report.booth = str(tomllib.loads(under(root, BOOTH_TOML).read_text(encoding="utf-8"))["booth"]["id"])
        report.notes.append(f"{report.booth} is provisioned; no {source} to import")
    clear_error(root)
    return report


def not_provisioned_reason(root: Path) -> str:
    try:
        return under(root, ERROR_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return "not provisioned: booth provision has not run yet"
