"""Two ingest processes on one shared subscription; one is SIGKILLed in the middle of a photo."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from boothcore import protocol as p
from central.local_broker import LocalBroker
from central.store import open_store
from tests.central.conftest import (
    MiniBooth,
    chunks_of,
    files_under,
    jpeg_bytes,
    make_init,
    spawn_serve,
    write_config_toml,
)


def wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_worker_killed_mid_photo_every_photo_is_stored_once(tmp_path: Path, broker: LocalBroker, db_url: str) -> None:
    """Two ``booth-central serve`` processes, each with its own database connections (on PostgreSQL,
    as workers on two machines would be), share the booth's photos; one is killed half-way through
    them. The booth re-sends what is unacked; every photo ends stored exactly once."""
    data_dir = tmp_path / "central"
    config = write_config_toml(tmp_path / "central.toml", data_dir, broker, db_url)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [spawn_serve(config, "central-a", logs[0]), spawn_serve(config, "central-b", logs[1])]
    booth = MiniBooth(broker, "booth-01")
    try:
        wait_for(lambda: all("connected to" in log.read_text() for log in logs if log.exists())
                 and all(log.exists() for log in logs))
        photos = [(data, make_init("booth-01", data, seq=seq, chunk_size=4096))
                  for seq, data in enumerate((jpeg_bytes(20, (900, 1200)), jpeg_bytes(21, (600, 800)),
                                              jpeg_bytes(22, (600, 800)), jpeg_bytes(23, (600, 800))))]
        first = photos[0][1]
        assert first.chunks > 40
        halves = {init.photo_id: init.chunks // 2 for _, init in photos}
        for data, init in photos:
            booth.publish(p.photo_init_topic("booth-01", init.photo_id), p.encode(init))
            for index in range(halves[init.photo_id]):
                booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, index), chunks_of(init, data)[index])
        staged = data_dir / "staging" / "booth-01" / first.photo_id
        wait_for(lambda: len([f for f in staged.glob("[0-9]*")]) >= halves[first.photo_id] // 2)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        for data, init in photos:
            for index in range(halves[init.photo_id], init.chunks):
                booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, index), chunks_of(init, data)[index])
            booth.send_fin(init)
        for data, init in photos:
            ack = booth.settle(init, data)
            assert (ack.status, ack.sha256) == ("stored", init.sha256)
        # A second, complete re-send (as a booth that lost the ack would do) changes nothing.
        assert booth.upload(first, photos[0][0]).status == "stored"
        stored = {path.name: path.read_bytes() for path in files_under(data_dir / "photos")}
        assert stored == {f"{init.id_number}.jpg": data for data, init in photos}
        store = open_store(db_url, base=data_dir)
        try:
            rows = store.photos(current_only=False)
            assert sorted(r.photo_id for r in rows) == sorted(init.photo_id for _, init in photos)
            assert all(r.is_current for r in rows)
        finally:
            store.close()
        assert "stored photo" in logs[1].read_text()
        assert workers[1].poll() is None
    finally:
        booth.close()
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)
    assert workers[1].returncode == 0
