"""Fixtures of the card reader tests: the SAM emulator on a pty, and pcscd with vpcd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.cardreader.sam_reader import SamReader
from tests.cardreader.cardreader_sam_emulator import SamEmulator, fast_reader
from tests.cardreader.pcscd import Pcscd, running_pcscd


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[SamEmulator]:
    emu = SamEmulator(tmp_path)
    yield emu
    emu.unplug()


@pytest.fixture
def sam(emulator: SamEmulator) -> Iterator[SamReader]:
    reader = fast_reader(emulator.path)
    yield reader
    reader.close()


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pcscd]:
    with running_pcscd(tmp_path_factory.mktemp("pcscd")) as daemon:
        yield daemon
