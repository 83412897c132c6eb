"""Central's CPU per photo as the chunk count grows: one 5 MiB photo in 80 and in 1,280 chunks.

    .venv/bin/python bench/reassembly.py [--size-mib 5] [--chunks 80 --chunks 1280]

A real mosquitto and ``booth-central serve`` (one worker) in its own process; this process plays
the booth (init, every chunk, fin, QoS 1) and waits for the "stored" ack. The CPU time (user +
system) of the central process during each upload is printed, with the CPU per chunk: a linear
reassembly keeps the per-chunk figure flat; a quadratic one (every chunk rescanning the staging
folder) grows it with the chunk count. 80 chunks is a 5 MiB photo at the protocol's 64 KiB chunk
size, 1,280 at its 4 KiB minimum (boothcore.protocol CHUNK_SIZE / MIN_CHUNK_SIZE).
Printed, not asserted: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from boothcore import protocol as p  # noqa: E402
from central.local_broker import LocalBroker  # noqa: E402
from tests.central.conftest import (  # noqa: E402
    MiniBooth,
    id_number,
    make_init,
    spawn_serve,
    write_config_toml,
)


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def upload(booth: MiniBooth, data: bytes, chunk_size: int, seq: int) -> p.Ack:
    init = make_init(booth.booth, data, seq=seq, chunk_size=chunk_size, ident=id_number(seq))
    return booth.upload(init, data, ack_timeout=60.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=5.0)
    parser.add_argument("--chunks", type=int, action="append", default=[])
    args = parser.parse_args()
    counts = args.chunks or [80, 1280]
    size = int(args.size_mib * 1024 * 1024)
    data = os.urandom(size)
    with tempfile.TemporaryDirectory() as tmp, LocalBroker(Path(tmp) / "broker") as broker:
        config = write_config_toml(Path(tmp) / "central.toml", Path(tmp) / "central", broker)
        serve = spawn_serve(config, "bench-reassembly", Path(tmp) / "central.log")
        booth = MiniBooth(broker, "bench-01")
        try:
            central = psutil.Process(serve.pid)
            warm = upload(booth, data[:50_000], p.CHUNK_SIZE, 0)  # start-up and imports out of the way
            assert warm.status == "stored", warm
            for seq, count in enumerate(counts, start=1):
                chunk_size = -(-size // count)
                before, started = cpu_s(central), time.perf_counter()
                ack = upload(booth, data, chunk_size, seq)
                cpu, wall = cpu_s(central) - before, time.perf_counter() - started
                print(f"reassembly: {size / 2**20:.1f} MiB in {count:5d} chunks of {chunk_size:6d} B: "
                      f"central CPU {cpu:6.2f} s ({cpu / count * 1000:6.2f} ms/chunk), wall {wall:6.2f} s, "
                      f"ack {ack.status}")
        finally:
            booth.close()
            serve.terminate()
            serve.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
