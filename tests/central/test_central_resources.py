"""Central's resources: unannounced chunks are refused, staging is bounded per booth, reassembly is linear."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from boothcore import protocol as p
from central.ingest import Ingest
from central.local_broker import LocalBroker
from central.staging import Staging
from tests.central.conftest import MiniBooth, central_config, chunks_of, files_under, make_init


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_chunks_nobody_announced_are_refused_and_never_staged(booth: MiniBooth, ingest: Ingest,
                                                             data_dir: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "central.ingest")
    strays = [uuid.uuid4().hex for _ in range(30)]
    for photo_id in strays:
        booth.publish(p.photo_chunk_topic("booth-01", photo_id, 0), os.urandom(8192))

    def refused() -> set[str]:
        lines = [r.getMessage() for r in caplog.records if "refused chunk 0 of photo" in r.getMessage()]
        assert all("no init announced it" in line for line in lines)
        return {photo_id for photo_id in strays if any(photo_id in line for line in lines)}

    deadline = time.monotonic() + 30
    while refused() != set(strays) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert refused() == set(strays), "an unannounced chunk was dropped without a log line"
    assert not files_under(data_dir / "staging"), "an unannounced chunk reached the disk"
    assert all(worker._thread.is_alive() for worker in ingest.workers)


def test_chunks_that_overtake_their_init_are_still_stored(booth: MiniBooth) -> None:
    """A shared subscription may hand a chunk to one worker before another stages the init."""
    data = os.urandom(60_000)
    init = make_init("booth-01", data, chunk_size=8192)
    for index, chunk in enumerate(chunks_of(init, data)):
        booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, index), chunk)
    booth.publish(p.photo_init_topic("booth-01", init.photo_id), p.encode(init))
    booth.send_fin(init)
    ack = booth.ack_for(init.photo_id)
    assert (ack.status, ack.sha256) == ("stored", init.sha256)


@pytest.fixture
def bounded(broker: LocalBroker, tmp_path: Path) -> Iterator[Path]:
    """An ingest (one worker) with the smallest staging bound; yields its data folder."""
    data_dir = tmp_path / "bounded"
    config = central_config(data_dir, broker, workers=1)
    config.storage.staging_max_mib_per_booth = 5.0  # the smallest bound: one whole 5 MiB photo
    with Ingest(config) as running:
        assert running.wait_connected()
        yield data_dir


def staged_bytes(root: Path, booth: str) -> int:
    return sum(size for _, size, _ in Staging(root).booth_usage(booth))


def test_staging_is_bounded_per_booth_and_the_oldest_unfinished_photo_goes(
        bounded: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = bounded
    caplog.set_level(logging.WARNING, "central.ingest")
    booth, other = MiniBooth(broker, "booth-01"), MiniBooth(broker, "booth-02")
    try:
        limit = 5 * 2**20
        abandoned = []
        for _ in range(3):  # three 2 MiB photos, each left without its last chunk: 6 MiB > 5 MiB
            data = os.urandom(2 * 2**20)
            init = make_init("booth-01", data)
            booth.send_photo(init, data, skip=(init.chunks - 1,), fin=False)
            abandoned.append(init.photo_id)
        other_data = os.urandom(2 * 2**20)
        other_init = make_init("booth-02", other_data)
        other.send_photo(other_init, other_data, skip=(other_init.chunks - 1,), fin=False)
        root = data_dir / "staging"

        def staged_last_chunk_but_one(booth_id: str, photo_id: str, chunks: int) -> bool:
            return (root / booth_id / photo_id / str(chunks - 2)).exists()

        wait_until(lambda: staged_last_chunk_but_one("booth-01", abandoned[2], 32)
                   and staged_last_chunk_but_one("booth-02", other_init.photo_id, other_init.chunks)
                   and any("reached its bound" in r.getMessage() for r in caplog.records))
        assert staged_bytes(root, "booth-01") <= limit
        assert not (root / "booth-01" / abandoned[0]).exists(), "the oldest unfinished photo was kept"
        assert (root / "booth-01" / abandoned[2]).is_dir()
        assert (root / "booth-02" / other_init.photo_id).is_dir(), "another booth's staging was touched"
        assert any("reached its bound" in r.getMessage() and abandoned[0] in r.getMessage()
                   for r in caplog.records)
        # A photo of the bound's full size still goes through, and the evicted one is re-sent whole.
        big = os.urandom(p.MAX_PHOTO_SIZE)
        big_init = make_init("booth-01", big)
        assert booth.upload(big_init, big).status == "stored"
        assert staged_bytes(root, "booth-01") <= limit
    finally:
        booth.close()
        other.close()


def test_reassembly_scans_the_staging_folder_a_bounded_number_of_times(
        booth: MiniBooth, monkeypatch: pytest.MonkeyPatch) -> None:
    """A photo in many chunks must not rescan its folder per chunk (quadratic CPU; bench/reassembly.py)."""
    scans = {"n": 0}
    present = Staging.present

    def counting(self: Staging, booth_id: str, photo_id: str) -> dict[int, int]:
        scans["n"] += 1
        return present(self, booth_id, photo_id)

    monkeypatch.setattr(Staging, "present", counting)
    data = os.urandom(400 * p.MIN_CHUNK_SIZE)
    init = make_init("booth-01", data, chunk_size=p.MIN_CHUNK_SIZE)
    assert init.chunks == 400
    assert booth.upload(init, data).status == "stored"
    assert scans["n"] <= 10, f"{scans['n']} scans of the staging folder for {init.chunks} chunks"
