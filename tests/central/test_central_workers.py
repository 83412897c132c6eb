"""Two ingest processes on one shared subscription; one is SIGKILLed in the middle of a photo."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from boothcore import protocol as p
from central.local_broker import LocalBroker
from central.store import SqliteStore
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


def test_worker_killed_mid_photo_the_photo_is_stored_once(tmp_path: Path, broker: LocalBroker) -> None:
    data_dir = tmp_path / "central"
    config = write_config_toml(tmp_path / "central.toml", data_dir, broker)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [spawn_serve(config, "central-a", logs[0]), spawn_serve(config, "central-b", logs[1])]
    booth = MiniBooth(broker, "booth-01")
    try:
        wait_for(lambda: all("connected to" in log.read_text() for log in logs if log.exists())
                 and all(log.exists() for log in logs))
        data = jpeg_bytes(20, (900, 1200))
        init = make_init("booth-01", data, chunk_size=4096)
        assert init.chunks > 40
        pieces = chunks_of(init, data)
        half = init.chunks // 2
        booth.publish(p.photo_init_topic("booth-01", init.photo_id), p.encode(init))
        for index in range(half):
            booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, index), pieces[index])
        staged = data_dir / "staging" / "booth-01" / init.photo_id
        wait_for(lambda: len([f for f in staged.glob("[0-9]*")]) >= half // 2)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        for index in range(half, init.chunks):
            booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, index), pieces[index])
        booth.send_fin(init)
        ack = booth.settle(init, data)
        assert (ack.status, ack.sha256) == ("stored", init.sha256)
        # A second, complete re-send (as a booth that lost the ack would do) changes nothing.
        assert booth.upload(init, data).status == "stored"
        photos = files_under(data_dir / "photos")
        assert len(photos) == 1 and photos.pop().read_bytes() == data
        store = SqliteStore(data_dir / "central.db")
        try:
            assert [r.photo_id for r in store.photos(current_only=False)] == [init.photo_id]
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
