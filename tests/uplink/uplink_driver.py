"""A minimal booth for the kill tests: captures photos into a folder and uploads them via the Uplink.

    python -m tests.uplink.uplink_driver --data DIR --broker URL --capture N [--drain]  (from the repository)

Like the real booth it writes each photo durably first (write_atomic), then queues it; on start it
removes stale temp files and queues any photo file the outbox does not know yet (the booth's ledger
does this reconciliation). Each queued event id is appended to ``events.log`` after it returned.
With --drain it exits 0 once the outbox is empty; with --linger it then waits to be killed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from pathlib import Path

from appliance.uplink.client import Uplink
from appliance.uplink.settings import UplinkSettings
from boothcore.durable import remove_stale_temps, write_atomic
from tests.uplink.uplink_photos import photo_bytes, photo_meta


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--capture", type=int, default=0)
    parser.add_argument("--drain", action="store_true")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--linger", action="store_true", help="after draining, wait to be killed")
    args = parser.parse_args()
    photos = args.data / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(photos)
    settings = UplinkSettings(broker_url=args.broker, reconnect_min_s=0.1, reconnect_max_s=0.5, ack_timeout_s=1.0,
                              telemetry_interval_s=5, will_delay_s=1, session_expiry_s=60, window=3,
                              chunk_size=16384)
    uplink = Uplink(settings, "booth-kill", args.data / "booth.db", on_command=lambda command: None)
    uplink.start(lambda: {"state": "idle"})
    for path in sorted(photos.glob("*.jpg")):
        if not uplink.outbox.has_photo(path.stem):
            uplink.photo_saved(path.stem, path, photo_meta(path.stem))
    print("STARTED", flush=True)
    rng = random.Random()
    with (args.data / "events.log").open("a", buffering=1) as events:
        for _ in range(args.capture):
            photo_id = uuid.uuid4().hex
            path = write_atomic(photos / f"{photo_id}.jpg", photo_bytes(photo_id))
            uplink.photo_saved(photo_id, path, photo_meta(photo_id))
            event_id = uplink.event("photo_accepted", {"photo_id": photo_id, "session_id": "s-1", "attempt": 1})
            events.write(f"{event_id}\n")
            os.fsync(events.fileno())
            time.sleep(rng.uniform(0.0, 0.1))
    print("CAPTURED", flush=True)
    deadline = time.monotonic() + args.timeout
    while args.drain and uplink.backlog() and time.monotonic() < deadline:
        time.sleep(0.05)
    while args.linger:
        time.sleep(0.1)
    backlog = uplink.backlog()
    uplink.stop()
    print(f"BACKLOG {backlog}", flush=True)
    return 0 if backlog == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
