"""Card placed → fields parsed, through the SAM emulator on a pty at 115200 baud with real serial timing.

The emulator paces every reply at 10 bits per byte (8N1), so the wire time is real; the SAM's own
processing time is set to zero, so what is not wire is ours: polling latency, parsing, scheduling.
Prints the median and 90th percentile over the placements and the share taken by the wire.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "cardreader")]

from cardreader_cards import RESIDENT  # noqa: E402
from cardreader_sam_emulator import SamEmulator  # noqa: E402

from appliance.cardreader.sam_protocol import Command, build_read_data, build_request, build_response  # noqa: E402
from appliance.cardreader.sam_reader import SamReader  # noqa: E402
from appliance.cardreader.text_block import encode  # noqa: E402

BAUD = 115200
PLACEMENTS = 20


def wire_seconds() -> float:
    """Bytes on the wire for one read (find, select, read and their replies) at 8N1."""
    frames = [build_request(Command.FIND_CARD), build_response(0x9F, bytes(4)),
              build_request(Command.SELECT_CARD), build_response(0x90, bytes(8)),
              build_request(Command.READ_TEXT_PHOTO),
              build_response(0x90, build_read_data(encode(RESIDENT), bytes(1024)))]
    return sum(map(len, frames)) * 10 / BAUD


def _wait_and_stamp(reader: SamReader, stamps: list[float]) -> None:
    if reader.wait_for_card(10) is not None:
        stamps.append(time.monotonic())


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        emulator = SamEmulator(Path(folder), baudrate=BAUD, real_timing=True)
        reader = SamReader(str(emulator.path), BAUD)
        totals, reply_wire = [], []
        try:
            reader.open()
            for _ in range(PLACEMENTS):
                emulator.remove()
                while reader.wait_for_card(0.4) is not None:
                    pass
                result: list[float] = []
                waiter = threading.Thread(target=_wait_and_stamp, args=(reader, result))
                waiter.start()
                time.sleep(0.05 + 0.1 * len(totals) / PLACEMENTS)  # land at varying points of the poll cycle
                placed = time.monotonic()
                emulator.place(RESIDENT)
                waiter.join(15)
                if not result:
                    raise SystemExit("bench: the card was not read")
                totals.append(result[0] - placed)
                if emulator.reply_started is not None and emulator.reply_finished is not None:
                    reply_wire.append(emulator.reply_finished - emulator.reply_started)
        finally:
            reader.close()
            emulator.unplug()
    wire = wire_seconds()
    median = statistics.median(totals)
    p90 = statistics.quantiles(totals, n=10)[-1]
    print(f"card reader bench: SAM emulator on a pty, {BAUD} baud 8N1, poll interval {reader.poll_interval:g} s, "
          f"{PLACEMENTS} placements")
    print(f"  card placed -> fields parsed: median {median * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, "
          f"min {min(totals) * 1000:.1f} ms, max {max(totals) * 1000:.1f} ms")
    print(f"  wire time per read (find+select+read, 1345 bytes): {wire * 1000:.1f} ms "
          f"(read reply measured at the emulator: median {statistics.median(reply_wire) * 1000:.1f} ms)")
    print(f"  share taken by the wire: {wire / median:.0%} of the median "
          f"(the rest: waiting for the next poll, parsing, scheduling)")


if __name__ == "__main__":
    main()
