"""Builds a booth from its configuration: the one place that picks real or simulated parts
(camera, card reader, display, pin factory) and hands every part to the one that uses it at
construction: nothing is wired afterwards.

Hardware-only modules (picamera2, lgpio) are imported here lazily, and only when configured.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from appliance.cardreader.base import CardReader
from appliance.cardreader.spec import open_reader
from appliance.config import BoothConfig
from appliance.flow.booth import Booth, Listener, Office, SavedPhoto
from appliance.flow.leftovers import remove_leftovers
from appliance.flow.outcomes import QualityReport
from appliance.hardware.camera import Camera, CameraUnavailable
from appliance.hardware.camera_choice import open_camera
from appliance.hardware.gpio import open_panel
from appliance.ledger import Ledger
from appliance.parts import BoothParts
from appliance.quality.checker import CheckReport, PhotoChecker, crop_to_chsi
from appliance.quality.chsi_file import encode_chsi_jpeg, write_chsi_photo
from appliance.runtime import BoothInbox, BoothLoop, panel_feeds
from appliance.service import BoothService
from appliance.supervision import ServiceNotifier
from appliance.ui.factory import display_for
from appliance.ui.sound import CountdownTones, ShutterCamera, Sounds
from appliance.ui.view import Display
from appliance.uplink.client import Uplink
from appliance.uplink_bridge import BoothBridge, UplinkOffice
from boothcore import db
from boothcore.chsi import OutputSection
from boothcore.roster import Roster

log = logging.getLogger(__name__)


class ChsiPhotoOutput:
    """Crop to the CHSI geometry, encode within the size range, write ``<id_number>.jpg`` atomically."""

    def __init__(self, output: OutputSection) -> None:
        self.output = output

    def __call__(self, frame: np.ndarray, report: QualityReport, id_number: str, folder: Path) -> SavedPhoto:
        if not isinstance(report, CheckReport):  # the crop is planned by this checker's report only
            raise TypeError(f"ChsiPhotoOutput needs a CheckReport, not {type(report).__name__}")
        jpeg = encode_chsi_jpeg(crop_to_chsi(frame, report), self.output)
        return SavedPhoto(write_chsi_photo(folder, id_number, jpeg), hashlib.sha256(jpeg).hexdigest())


def build_booth(config: BoothConfig, *, display: Display | None = None, camera: Camera | None = None,
                reader: CardReader | None = None, checker: PhotoChecker | None = None,
                office: Office | None = None, listeners: Iterable[Listener] = ()) -> BoothParts:
    """Open the database, clean up after a crash, and assemble the booth.

    Parts not given are the configured ones (``[hardware]``: camera, card_reader, screen).
    """
    data_dir = config.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o750)
    conn = db.connect(data_dir / "booth.db")
    roster = Roster(conn)
    ledger = Ledger(conn, config.booth.id)
    remove_leftovers(data_dir / "photos", ledger)
    camera = camera or open_camera(config.hardware)
    try:
        camera.start()
    except CameraUnavailable as error:  # the booth starts BLOCKED and finds the camera when it comes
        log.error("booth: the camera did not start: %s", error)
    reader = reader or open_reader(config.hardware.card_reader, uid_lookup=None)
    display = display or display_for(config.hardware)
    booth_camera: Camera = camera
    sounds = Sounds(config.hardware.sound)
    if sounds.audible:  # the tones follow the countdown on the screen, the shutter the capture
        display = CountdownTones(display, sounds)
        booth_camera = ShutterCamera(camera, sounds)
    booth = Booth(config, camera=booth_camera, checker=checker or PhotoChecker(config.quality), roster=roster,
                  ledger=ledger, display=display, photo_output=ChsiPhotoOutput(config.output), office=office,
                  listeners=listeners)
    return BoothParts(config, booth, camera, reader, roster, ledger, display)


def build_service(config: BoothConfig, *, broker_url: str | None = None, display: Display | None = None,
                  camera: Camera | None = None, reader: CardReader | None = None,
                  checker: PhotoChecker | None = None) -> BoothService:
    """The running booth: its parts (``build_booth``), the uplink, the GPIO panel and the loop.

    Built in the order of what each part needs: the GPIO panel first (a pin factory that cannot
    load stops the start at once, ``GpioError``), the inbox (the panel's buttons and central's
    commands post to it), the uplink, then the booth with the uplink as its office and the panel's
    indicator and the uplink's status as its listeners, then the loop. ``broker_url`` overrides
    ``uplink.broker_url`` (the demo's broker) for every part: the uplink, and the doctor central asks for.
    """
    if broker_url is not None:
        config = config.model_copy(update={"uplink": config.uplink.model_copy(update={"broker_url": broker_url})})
    panel = open_panel(config.hardware)
    uplink: Uplink | None = None
    try:
        checker = checker or PhotoChecker(config.quality)  # missing models stop the booth here
        db_path = config.data_dir / "booth.db"
        inbox = BoothInbox(clock=time.monotonic)  # the booth's clock: Booth's default
        indicator = panel_feeds(panel, inbox)
        bridge = BoothBridge(config, inbox, db_path)
        uplink = Uplink(config.uplink, config.booth.id, db_path, on_command=bridge.command,
                        on_photo_acked=bridge.photo_acked)
        parts = build_booth(config, display=display, camera=camera, reader=reader, checker=checker,
                            office=UplinkOffice(uplink), listeners=[indicator, uplink.status_listener])
    except BaseException:
        panel.close()
        if uplink is not None:
            uplink.stop()  # never started: closes its outbox
        raise
    indicator(parts.booth.state, parts.booth.state)  # the panel shows the state the booth starts in
    notifier = ServiceNotifier(parts.booth, uplink)
    loop = BoothLoop(parts.booth, parts.reader, inbox, display=parts.display, heartbeats=[notifier.beat])
    return BoothService(parts, loop=loop, uplink=uplink, panel=panel, notifier=notifier)
