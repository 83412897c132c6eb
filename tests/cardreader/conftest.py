"""Fixtures of the card reader tests: the SAM emulator on a pty, and pcscd with vpcd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cardreader_sam_emulator import SamEmulator

from appliance.cardreader.sam_reader import SamReader


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[SamEmulator]:
    emu = SamEmulator(tmp_path)
    yield emu
    emu.unplug()


def fast_reader(port: Path | str, baudrate: int | None = 115200) -> SamReader:
    """Short timeouts: the emulator answers at once, so the tests need not wait long."""
    return SamReader(str(port), baudrate, poll_interval=0.01, reply_timeout=0.3, probe_timeout=0.15,
                     removal_s=0.05, reopen_interval=0.05)


@pytest.fixture
def sam(emulator: SamEmulator) -> Iterator[SamReader]:
    reader = fast_reader(emulator.path)
    yield reader
    reader.close()
