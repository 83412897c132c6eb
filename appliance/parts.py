"""What ``appliance.app.build_booth`` assembles, handed to the service, the demo and tests."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.cardreader.base import CardReader
from appliance.config import BoothConfig
from appliance.flow.booth import Booth
from appliance.hardware.camera import Camera
from appliance.ledger import Ledger
from appliance.ui.view import Display
from boothcore.roster import Roster


@dataclass
class BoothParts:
    """Everything a running booth is made of, so the runtime, the demo and tests can reach them."""

    config: BoothConfig
    booth: Booth
    camera: Camera
    reader: CardReader
    roster: Roster
    ledger: Ledger
    display: Display

    def close(self) -> None:
        self.camera.close()
        self.reader.close()
        self.display.close()
