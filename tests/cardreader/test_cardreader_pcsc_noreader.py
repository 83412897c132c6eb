"""pcscd running with no reader configured: a clear 'no reader' error, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.cardreader.base import ReaderUnavailable
from appliance.cardreader.pcsc_reader import PcscReader
from tests.cardreader.pcscd import running_pcscd


def test_no_reader_attached(tmp_path: Path) -> None:
    with running_pcscd(tmp_path, with_vpcd=False):
        reader = PcscReader()
        with pytest.raises(ReaderUnavailable) as info:
            reader.wait_for_card(1)
        assert "no reader is attached" in info.value.en and info.value.zh == "PC/SC读卡器:未连接读卡器"
        reader.close()
