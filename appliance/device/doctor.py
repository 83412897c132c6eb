"""``booth doctor``: is this booth healthy, and if not, what does the technician do about it.

Each check gives ok / warn / fail, one line of what it found and, unless ok, the fix. What the
running booth holds (camera, GPIO pins, card reader, its broker session: the broker makes the
certificate's CN the client id, so a second connection would take the booth's over) is not opened
while ``booth.service`` is active: the camera, pins and reader lines then say so as a warning, and
the broker line reads the service's own ``STATUS=`` (``appliance.supervision``).

Sources of the numbers: ``uplink.min_free_mb`` (the booth stops taking photos below it),
certificate renewal 30 days ahead (what the fleet CA's operator needs to issue and copy a new one),
the uplink's reconnect wait (at most 2 s after a takeover, ``uplink.client.reconnect_delay``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import psutil

from appliance.config import DEMO_PAYMENT_QR, BoothConfig, load_config
from appliance.device.provision import ERROR_FILE, under
from appliance.flow.sessions import fee_for
from appliance.hardware.camera_choice import open_camera
from boothcore.config import ConfigError
from boothcore.money import cny
from boothcore.tls import IdentityError, check_identity

Status = Literal["ok", "warn", "fail"]
CERT_RENEW_DAYS = 30
OUTBOX_STALE_S = 3600.0  # a connected booth sends a photo in seconds; an hour unacknowledged needs a look
TAKEOVER_WATCH_S = 5.0  # a second client reconnects within 2 s after being taken over (reconnect_delay)
CONNECT_TIMEOUT_S = 10.0
EARLIEST_PLAUSIBLE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # before this software existed: a clock never set
BOOTH_UNIT = "booth.service"


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.upper():4} {self.name}: {self.detail}"
        return f"{text}\n     fix: {self.fix}" if self.fix else text


def run_command(argv: list[str]) -> str | None:
    """stdout of a system tool, or None when it is missing or fails (no systemd in a container)."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


class Doctor:
    """Runs every check against one configuration; ``command`` reaches systemctl / timedatectl."""

    def __init__(self, config: Path | BoothConfig, *, root: Path = Path("/"),
                 command: Callable[[list[str]], str | None] = run_command,
                 inside_booth: bool = False) -> None:
        """``config``: a booth.toml to check, or the running booth's own (validated when it started).
        ``inside_booth``: run by the booth itself (central's ``doctor`` command), which holds its parts."""
        self.config = config
        self.root = root
        self.command = command
        self.inside_booth = inside_booth
        self.booth_running = inside_booth or command(["systemctl", "is-active", BOOTH_UNIT]) == "active"

    def run(self) -> list[Check]:
        config_check, config = self.check_config()
        checks = [config_check]
        if config is None:
            return checks
        for check in (self.check_camera, self.check_reader, self.check_gpio, self.check_models, self.check_font,
                      self.check_certificates, self.check_broker, self.check_clock, self.check_disk,
                      self.check_roster, self.check_fees, self.check_outbox, self.check_watchdog):
            try:
                checks.append(check(config))
            except Exception as error:  # a check that breaks is itself a finding, never a crash
                checks.append(Check(check.__name__.removeprefix("check_"), "fail",
                                    f"the check failed: {type(error).__name__}: {error}",
                                    "report this with the output of booth doctor -v"))
        return checks

    # ---------------------------------------------------------------- configuration
    def check_config(self) -> tuple[Check, BoothConfig | None]:
        pending = under(self.root, ERROR_FILE)
        try:
            config = self.config if isinstance(self.config, BoothConfig) else load_config(self.config)
        except ConfigError as error:
            reason = pending.read_text(encoding="utf-8").strip() if pending.exists() else str(error)
            return Check("config", "fail", reason, "fix booth.toml on the boot partition and reboot "
                         "(image_build/README.md, step 3)"), None
        if pending.exists():
            return Check("config", "fail", f"{config.booth.id}: a new booth.toml was refused: "
                         f"{pending.read_text(encoding='utf-8').strip()}",
                         "fix booth.toml on the boot partition and reboot; the old one runs meanwhile"), config
        source = "the running booth" if isinstance(self.config, BoothConfig) else self.config
        return Check("config", "ok", f"{config.booth.id} from {source}"), config

    # ---------------------------------------------------------------- hardware
    def check_camera(self, config: BoothConfig) -> Check:
        if self.booth_running and config.hardware.camera != "simulated":
            return Check("camera", "warn", "held by the running booth.service (its watchdog restarts a hung camera)",
                         "to test the camera itself: systemctl stop booth; booth doctor; systemctl start booth")
        try:
            camera = open_camera(config.hardware)
            camera.start()
            try:
                frame = camera.preview_frame()
            finally:
                camera.close()
        except Exception as error:
            return Check("camera", "fail", f"{config.hardware.camera}: no frame ({type(error).__name__}: {error})",
                         "check the ribbon cable and that `rpicam-hello --list-cameras` lists the camera")
        if getattr(frame, "ndim", 0) != 3 or frame.shape[2] != 3:
            return Check("camera", "fail", f"{config.hardware.camera}: frames of shape {getattr(frame, 'shape', '?')}",
                         "a camera module the booth supports (picamera2) is needed")
        return Check("camera", "ok", f"{config.hardware.camera} delivers {frame.shape[1]}x{frame.shape[0]} frames")

    def check_reader(self, config: BoothConfig) -> Check:
        from appliance.cardreader.base import ReaderError
        from appliance.cardreader.spec import open_reader

        spec = config.hardware.card_reader
        fixes = {"sam": "check the reader's USB cable; `ls /dev/serial/by-id/` must list it",
                 "pcsc": "check the reader's USB cable and `systemctl status pcscd`",
                 "wedge": "check the reader's USB cable; `ls /dev/input/by-id/` must list it"}
        if self.booth_running and spec != "simulated":  # a second open would steal the booth's cards
            return Check("reader", "warn", f"{spec}: held by the running booth (it shows reader faults on screen)",
                         "to test the reader itself: systemctl stop booth; booth doctor")
        try:
            reader = open_reader(spec)
            try:
                reader.wait_for_card(0.2)
            finally:
                reader.close()
        except ReaderError as error:
            return Check("reader", "fail", f"{spec}: {error.en}", fixes.get(spec.split(":")[0], "check the reader"))
        return Check("reader", "ok", f"{spec} answers")

    def check_gpio(self, config: BoothConfig) -> Check:
        hardware = config.hardware
        if hardware.pin_factory == "mock":
            return Check("gpio", "warn", "mock pin factory (hardware.pin_factory = 'mock'): the buttons, LEDs and "
                         "relay do nothing", 'on a booth set hardware.pin_factory = "lgpio"')
        if self.booth_running:
            return Check("gpio", "warn", "pins held by the running booth.service",
                         "to test the pins themselves: systemctl stop booth; booth doctor")
        from appliance.hardware.gpio import GpioError, open_panel

        try:
            with open_panel(hardware):
                pass
        except GpioError as error:
            return Check("gpio", "fail", str(error), "install the package it names, or free the pins another "
                         "program holds")
        pins = "/".join(str(pin) for pin in hardware.panel_pins().values())
        return Check("gpio", "ok", f"{hardware.pin_factory} pin factory, pins {pins} free")

    def check_models(self, config: BoothConfig) -> Check:
        from appliance.quality.models import ModelError, ModelStore, load_manifest, model_status, resolve_model_dir

        folder = resolve_model_dir(config.quality)
        manifest = load_manifest()
        bad = {name: state for name, state in model_status(folder, manifest).items() if state != "ok"}
        fix = "booth models fetch --dir " + str(folder) + " (on the appliance: reflash, the root is read-only)"
        if bad:
            return Check("models", "fail", ", ".join(f"{name}: {state}" for name, state in sorted(bad.items())), fix)
        if self.booth_running:  # the booth loaded them at start (READY waits for it); no second copy in RAM
            return Check("models", "ok", f"{len(manifest.models)} models in {folder}, sha256 match")
        store = ModelStore(config.quality, manifest)
        try:
            for name in manifest.models:
                store.interpreter(name)
        except (ModelError, RuntimeError, ValueError) as error:
            return Check("models", "fail", f"LiteRT cannot load them: {error}", fix)
        return Check("models", "ok", f"{len(manifest.models)} models in {folder}, sha256 match, LiteRT loads them")

    def check_font(self, config: BoothConfig) -> Check:
        from boothcore.fonts import find_cjk_font

        font = find_cjk_font()
        if font is None:
            return Check("font", "fail", "no CJK font: Chinese text shows as boxes", "apt install fonts-wqy-microhei")
        return Check("font", "ok", font)

    # ---------------------------------------------------------------- network and identity
    def check_certificates(self, config: BoothConfig) -> Check:
        uplink = config.uplink
        if not uplink.tls:
            return Check("certificates", "warn", "no TLS (uplink.broker_url is not mqtts://)",
                         "provision the booth with its certificate (image_build/README.md)")
        if not (uplink.ca_file and uplink.cert_file):
            return Check("certificates", "fail", "uplink.ca_file / cert_file / key_file not set",
                         "provision the booth with its certificate (image_build/README.md)")
        try:
            certificate = check_identity(Path(uplink.ca_file), Path(uplink.cert_file), Path(uplink.key_file),
                                         config.booth.id)
        except IdentityError as error:
            return Check("certificates", "fail", str(error), "issue this booth's certificate "
                         "(python -m central.certs DIR --add --booth ID) and re-provision")
        days = (certificate.not_after - dt.datetime.now(dt.UTC)).days
        if days < CERT_RENEW_DAYS:
            return Check("certificates", "warn", f"CN {certificate.subject_cn} expires in {days} days",
                         "issue a new certificate and re-provision before it expires")
        return Check("certificates", "ok", f"CN {certificate.subject_cn}, valid until {certificate.not_after:%Y-%m-%d}")

    def check_broker(self, config: BoothConfig) -> Check:
        settings = config.uplink
        if not settings.broker_url:
            return Check("broker", "warn", "no uplink.broker_url: photos stay in the outbox",
                         "provision the booth with the office's broker URL")
        booth_id = config.booth.id
        fix = (f"check the network and that {settings.host}:{settings.port} is the office broker "
               "(`booth doctor` from another booth tells a broker problem from a booth problem)")
        # The broker makes a booth certificate's CN its client id (use_username_as_clientid): any
        # connection with this booth's identity would take the running booth's session over.
        if self.inside_booth:
            return Check("broker", "ok", f"{settings.broker_url}: connected (central's doctor command came over it)")
        if self.booth_running:
            status = self.command(["systemctl", "show", BOOTH_UNIT, "-p", "StatusText", "--value"]) or ""
            if "uplink online" in status:
                return Check("broker", "ok", f"{settings.broker_url}: booth.service is connected ({status})")
            if "uplink offline" in status:
                return Check("broker", "fail", f"{settings.broker_url}: booth.service is not connected ({status})",
                             fix)
            return Check("broker", "warn", f"booth.service runs but says nothing about its link ({status!r})",
                         "systemctl status booth; to test the broker itself: systemctl stop booth; booth doctor")
        probe = BrokerProbe(config, booth_id, watch_s=TAKEOVER_WATCH_S)
        if probe.error:
            return Check("broker", "fail", f"{settings.broker_url}: {probe.error}", fix)
        if probe.dropped:
            again = BrokerProbe(config, f"{booth_id}-doctor", watch_s=0.0)
            if again.error:
                return Check("broker", "fail", f"{settings.broker_url}: dropped the connection, then {again.error}",
                             fix)
            return Check("broker", "fail", f"another client is connected as {booth_id}: it took the session back "
                         "within seconds", f"two devices use the identity {booth_id}: find the other one (same "
                         "certificate) and give it its own booth id and certificate")
        return Check("broker", "ok", f"{settings.broker_url} accepts {booth_id}; no other client uses this id")

    def check_clock(self, config: BoothConfig) -> Check:
        now = dt.datetime.now(dt.UTC)
        if now < EARLIEST_PLAUSIBLE:
            return Check("clock", "fail", f"the clock says {now:%Y-%m-%d}: never set (the Pi has no battery clock)",
                         "give the booth network access to its NTP servers (system.ntp in booth.toml)")
        synced = self.command(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if synced is None:
            return Check("clock", "warn", f"{now:%Y-%m-%d %H:%M} UTC; cannot tell whether NTP synchronised it "
                         "(no timedatectl / systemd)", "on the appliance: timedatectl timesync-status")
        if synced != "yes":
            return Check("clock", "fail", f"{now:%Y-%m-%d %H:%M} UTC, not synchronised: photo timestamps may be "
                         "wrong", "check the network and the NTP servers (timedatectl timesync-status)")
        return Check("clock", "ok", f"{now:%Y-%m-%d %H:%M} UTC, synchronised by NTP")

    # ---------------------------------------------------------------- storage
    def check_disk(self, config: BoothConfig) -> Check:
        from appliance.uplink.outbox import disk_free_mb

        data = config.data_dir
        if not data.is_dir():  # a doctor looks and never creates: the booth makes its folder at its first start
            return Check("disk", "fail", f"{data} (booth.data_dir) does not exist",
                         "mount the data partition at /var/lib/booth (image_build/README.md), or fix booth.data_dir")
        try:
            with tempfile.NamedTemporaryFile(dir=data, prefix=".doctor-") as probe:
                probe.write(b"booth doctor")
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as error:
            return Check("disk", "fail", f"{data} is not writable ({error.strerror})",
                         "the data partition must be mounted read-write at /var/lib/booth (image_build/README.md)")
        mount = mount_of(data)
        if mount is not None and mount.fstype in ("tmpfs", "ramfs", "overlay"):
            return Check("disk", "fail", f"{data} is on {mount.fstype} ({mount.mountpoint}): photos are lost at "
                         "power-off", "the data partition is not mounted: check /etc/fstab and the card")
        free = disk_free_mb(data)
        minimum = config.uplink.min_free_mb
        where = f"{data} on {mount.fstype if mount else '?'}"
        if free < minimum:
            return Check("disk", "fail", f"{free:.0f} MB free in {where}, below uplink.min_free_mb ({minimum}): "
                         "the booth takes no photos", "let the uplink deliver the backlog; `booth retention` then "
                         "frees acknowledged photos (photos central has not stored are never deleted)")
        if free < 2 * minimum:
            return Check("disk", "warn", f"{free:.0f} MB free in {where} (photos stop below {minimum} MB)",
                         "check that the uplink delivers and booth-retention.timer runs")
        if mount is not None and "noatime" not in mount.opts.split(","):
            return Check("disk", "warn", f"{free:.0f} MB free in {where}, mounted without noatime",
                         "mount the data partition with noatime (every read is a write on the SD card otherwise)")
        return Check("disk", "ok", f"{free:.0f} MB free in {where}")

    def check_fees(self, config: BoothConfig) -> Check:
        """The payment QR code the summary shows: the embedded demo link would take nobody's money."""
        fees = config.fees
        if fees.payment_qr == DEMO_PAYMENT_QR:
            return Check("fees", "warn", f"the payment QR code is the demo link {DEMO_PAYMENT_QR}",
                         "set fees.payment_qr to the collecting unit's Alipay / WeChat payment link")
        return Check("fees", "ok", f"{cny(fee_for(1, fees))} CNY a person, paid to {fees.payment_qr}")

    def check_roster(self, config: BoothConfig) -> Check:
        """Without this year's graduates on the roster, every card is refused (not_on_roster, not_this_year)."""
        from boothcore import db
        from boothcore.roster import Roster

        fix = ("booth roster import FILE.csv, or from the office: booth-central roster import FILE.csv "
               f"--push {config.booth.id}")
        year = config.booth.graduation_year
        if not (config.data_dir / "booth.db").is_file():
            return Check("roster", "warn", "no roster: every card would be refused as not on the roster", fix)
        conn = db.connect(config.data_dir / "booth.db")
        try:
            roster = Roster(conn)
            total, this_year, classes = roster.count(), roster.count(year), len(roster.classes())
        finally:
            conn.close()
        if not total:
            return Check("roster", "warn", "no roster: every card would be refused as not on the roster", fix)
        if not this_year:
            return Check("roster", "warn", f"{total} graduate(s) on the roster, none of booth.graduation_year "
                         f"{year}: every card would be refused as not this year",
                         f"import the {year} graduates' roster, or fix booth.graduation_year")
        return Check("roster", "ok", f"{this_year} graduate(s) of {year} in {classes} class(es)"
                     + (f"; {total - this_year} of other years" if total > this_year else ""))

    def check_outbox(self, config: BoothConfig) -> Check:
        from appliance.uplink.outbox import Outbox

        if not (config.data_dir / "booth.db").is_file():
            return Check("outbox", "ok", "no outbox yet: the booth has not run on this data folder")
        outbox = Outbox(config.data_dir / "booth.db", config.booth.id)
        try:
            backlog, oldest, problems = outbox.backlog(), outbox.oldest_unacked(), outbox.problems()
        finally:
            outbox.close()
        if problems:
            listed = ", ".join(f"{photo_id[:8]} {state}" for photo_id, state, _ in problems[:5])
            return Check("outbox", "fail", f"{len(problems)} photo(s) cannot be sent: {listed}",
                         "central can ask for them again (resend); a missing file must be retaken")
        age = f"; oldest unacknowledged photo queued {(time.time() - oldest) / 60:.0f} min ago" if oldest else ""
        if oldest is not None and time.time() - oldest > OUTBOX_STALE_S:
            return Check("outbox", "warn", f"{backlog} item(s) waiting{age}",
                         "check the broker line above; photos stay safe in the outbox meanwhile")
        return Check("outbox", "ok", f"{backlog} item(s) waiting{age}")

    def check_watchdog(self, config: BoothConfig) -> Check:
        service = self.command(["systemctl", "show", BOOTH_UNIT, "-p", "WatchdogUSec", "--value"])
        runtime = self.command(["systemctl", "show", "-p", "RuntimeWatchdogUSec", "--value"])
        if service is None or runtime is None:
            return Check("watchdog", "warn", "cannot ask systemd (not running under systemd)",
                         "on the appliance: systemctl show booth -p WatchdogUSec")
        if service in ("0", "infinity", ""):
            return Check("watchdog", "fail", "booth.service has no WatchdogSec=",
                         "install the image's booth.service (systemd/booth.service)")
        if runtime in ("0", "infinity", ""):
            return Check("watchdog", "warn", f"booth.service WatchdogSec={service}; the hardware watchdog is off",
                         "RuntimeWatchdogSec=10s in /etc/systemd/system.conf.d/ (the image sets it)")
        return Check("watchdog", "ok", f"booth.service WatchdogSec={service}, hardware RuntimeWatchdogSec={runtime}")


def mount_of(path: Path) -> Any:
    """The psutil partition holding ``path`` (longest mount point that contains it), or None."""
    target = str(path.resolve())
    best = None
    for part in psutil.disk_partitions(all=True):
        point = part.mountpoint
        if (target == point or target.startswith(point.rstrip("/") + "/")) and (
                best is None or len(point) > len(best.mountpoint)):
            best = part
    return best


class BrokerProbe:
    """Connect once with the booth's TLS identity; optionally stay to see whether the broker drops us.

    A second client with the same id takes the session back when it reconnects: MQTT 5 says the
    broker then sends DISCONNECT 142 "Session taken over"; mosquitto 2.0 just closes the socket.
    Either way ``dropped`` is set; ``Doctor.check_broker`` then tells a takeover from a broker going
    away by connecting once more under another client id.

    Connects with ``clean_start=False`` and the booth's session expiry and never acknowledges a
    message, so the booth's persistent session and what the broker queued for it stay as they were.
    """

    def __init__(self, config: BoothConfig, client_id: str, *, watch_s: float) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        from boothcore.mqtt import make_client

        settings = config.uplink
        self.error: str | None = None
        self.dropped = False
        closing = threading.Event()
        connected = threading.Event()
        finished = threading.Event()
        try:
            client = make_client(client_id, tls=settings.client_tls, manual_ack=True, reconnect_on_failure=False)
        except (OSError, ssl.SSLError) as error:
            self.error = f"cannot load the TLS files ({error})"
            return

        def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
            if getattr(reason, "is_failure", False):
                self.error = f"the broker refused the connection: {reason}"
                finished.set()
            connected.set()

        def on_disconnect(client: mqtt.Client, userdata: object, flags: object, reason: object,
                          props: object) -> None:
            if connected.is_set() and not closing.is_set() and self.error is None:
                self.dropped = True
            finished.set()
            connected.set()

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = settings.session_expiry_s
        try:
            client.connect(settings.host, settings.port, keepalive=settings.keepalive_s, clean_start=False,
                           properties=props)
        except (OSError, ssl.SSLError) as error:
            self.error = f"cannot connect ({error})"
            return
        client.loop_start()
        try:
            if not connected.wait(CONNECT_TIMEOUT_S):
                self.error = f"no answer within {CONNECT_TIMEOUT_S:g} s"
            elif self.error is None and not finished.is_set():
                finished.wait(watch_s)
        finally:
            closing.set()
            client.disconnect()
            client.loop_stop()


def summary(checks: list[Check], limit: int = 500) -> str:
    """One line for central's ``doctor`` command: the counts, then every fail and warning with its fix."""
    counts = {status: sum(1 for check in checks if check.status == status) for status in ("fail", "warn", "ok")}
    head = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    details = [f"{check.status.upper()} {check.name}: {check.detail} (fix: {check.fix})"
               for status in ("fail", "warn") for check in checks if check.status == status]
    text = "; ".join([head, *details])
    return text if len(text) <= limit else text[:limit - 1] + "…"


def report_json(checks: list[Check]) -> dict[str, object]:
    return {"ok": all(check.status != "fail" for check in checks), "checks": [asdict(check) for check in checks]}
