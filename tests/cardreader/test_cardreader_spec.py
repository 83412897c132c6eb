"""Reader spec parsing: every accepted form, and one clear error per bad spec."""

from __future__ import annotations

import pytest

from appliance.cardreader.simulated import SimulatedCardReader
from appliance.cardreader.spec import ReaderSpec, ReaderSpecError, open_reader, parse_spec


@pytest.mark.parametrize(("text", "expected"), [
    ("simulated", ReaderSpec("simulated")),
    (" Simulated ", ReaderSpec("simulated")),
    ("sam:/dev/ttyUSB0", ReaderSpec("sam", "/dev/ttyUSB0")),
    ("sam:/dev/ttyUSB0@57600", ReaderSpec("sam", "/dev/ttyUSB0", 57600)),
    ("sam:socket://127.0.0.1:9999@115200", ReaderSpec("sam", "socket://127.0.0.1:9999", 115200)),
    ("pcsc", ReaderSpec("pcsc")),
    ("pcsc:ACS ACR122U", ReaderSpec("pcsc", "ACS ACR122U")),
    ("wedge:/dev/input/event3", ReaderSpec("wedge", "/dev/input/event3")),
])
def test_accepted_specs(text: str, expected: ReaderSpec) -> None:
    assert parse_spec(text) == expected


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"),
    ("serial:/dev/ttyUSB0", "unknown reader kind 'serial'"),
    ("sam:", "needs a serial port"),
    ("sam:/dev/ttyUSB0@1234", "baud rate '1234'"),
    ("sam:/dev/ttyUSB0@fast", "baud rate 'fast'"),
    ("sam:@115200", "before '@'"),
    ("wedge:event3", "input device path"),
    ("simulated:x", "takes no argument"),
])
def test_bad_specs_name_the_problem(text: str, why: str) -> None:
    with pytest.raises(ReaderSpecError) as info:
        parse_spec(text)
    assert why in info.value.en
    assert "simulated | sam:" in info.value.en
    assert info.value.zh.startswith("读卡器配置")
    assert info.value.code == "reader_spec"


def test_open_simulated() -> None:
    reader = open_reader("simulated")
    assert isinstance(reader, SimulatedCardReader)
    reader.close()


def test_open_bad_spec_raises_before_touching_hardware() -> None:
    with pytest.raises(ReaderSpecError):
        open_reader("sam:/dev/ttyUSB0@7")


def test_open_hardware_readers_is_lazy(tmp_path) -> None:
    from appliance.cardreader.pcsc_reader import PcscReader
    from appliance.cardreader.sam_reader import SamReader
    from appliance.cardreader.wedge_reader import WedgeReader

    sam = open_reader(f"sam:{tmp_path}/ttyUSB0@57600")
    assert isinstance(sam, SamReader) and (sam.port, sam.fixed_baudrate) == (f"{tmp_path}/ttyUSB0", 57600)
    lookup = {"04A1": "11010519491231002X"}.get
    pcsc = open_reader("pcsc:ACR122", uid_lookup=lookup)
    assert isinstance(pcsc, PcscReader) and pcsc.reader_name == "ACR122" and pcsc.uid_lookup is lookup
    wedge = open_reader(f"wedge:{tmp_path}/event3")
    assert isinstance(wedge, WedgeReader) and wedge.device_path == f"{tmp_path}/event3"
    for reader in (sam, pcsc, wedge):
        reader.close()
