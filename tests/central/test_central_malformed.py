"""Malformed payloads are rejected with a logged reason; nothing is written outside the data folder."""

from __future__ import annotations

import json
import logging
import queue
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from boothcore import protocol as p
from boothcore.privacy import mask_id
from central.ingest import Ingest
from central.local_broker import LocalBroker
from central.store import SqliteStore, SqlStore
from tests.central.conftest import MiniBooth, central_config, chunks_of, files_under, jpeg_bytes, make_init


def raw_init(init: p.PhotoInit, **changes: Any) -> bytes:
    data = json.loads(p.encode(init))
    data.update(changes)
    return json.dumps(data, ensure_ascii=False).encode()


def files_outside(root: Path, *inner: Path) -> set[Path]:
    """Files below ``root`` but not below any of ``inner``, from one walk of the tree.

    Subtracting separate walks would count a staging temp file that vanishes between them.
    """
    return {path for path in files_under(root) if not any(path.is_relative_to(folder) for folder in inner)}


def rejected(booth: MiniBooth, ident: str) -> p.Ack:
    ack = booth.ack_for(ident)
    assert ack.status == "rejected", ack
    assert ack.reason
    return ack


@pytest.mark.parametrize(("payload", "reason"), [
    (b"{not json", "not UTF-8 JSON"),
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"v": 2}', "version"),
])
def test_init_that_is_not_a_v1_json_object_is_rejected(booth: MiniBooth, data_dir: Path, payload: bytes,
                                                       reason: str, caplog: pytest.LogCaptureFixture) -> None:
    photo_id = uuid.uuid4().hex
    caplog.set_level(logging.WARNING, "central.ingest")
    booth.publish(p.photo_init_topic("booth-01", photo_id), payload)
    assert reason in rejected(booth, photo_id).reason
    assert reason in caplog.text
    assert not files_under(data_dir / "staging") and not files_under(data_dir / "photos")


@pytest.mark.parametrize("changes", [
    {"chunks": 7},                          # does not match size / chunk_size
    {"size": 0},
    {"size": p.MAX_PHOTO_SIZE + 1},
    {"chunk_size": p.CHUNK_SIZE * 2},       # chunks larger than the protocol allows
    {"sha256": "zz" * 32},
    {"booth": "booth-02"},                  # payload names another booth than its topic
])
def test_init_with_wrong_sizes_or_fields_is_rejected(booth: MiniBooth, data_dir: Path,
                                                     changes: dict[str, Any]) -> None:
    data = jpeg_bytes(10)
    init = make_init("booth-01", data)
    booth.publish(p.photo_init_topic("booth-01", init.photo_id), raw_init(init, **changes))
    rejected(booth, init.photo_id)
    assert not files_under(data_dir / "staging")


def test_oversized_empty_and_wrong_length_chunks_are_rejected(booth: MiniBooth, db: SqlStore) -> None:
    data = jpeg_bytes(11, (400, 500))
    init = make_init("booth-01", data, chunk_size=8192)
    booth.publish(p.photo_chunk_topic("booth-01", uuid.uuid4().hex, 0), b"x" * (p.CHUNK_SIZE + 1))
    booth.publish(p.photo_init_topic("booth-01", init.photo_id), p.encode(init))
    booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, 0), b"")
    assert "empty chunk" in rejected(booth, init.photo_id).reason
    booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, 0), chunks_of(init, data)[0][:-1])
    assert "expected 8192" in rejected(booth, init.photo_id).reason
    booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, init.chunks), b"x")
    assert "out of range" in rejected(booth, init.photo_id).reason
    # The photo itself still arrives intact when sent properly.
    assert booth.upload(init, data).status == "stored"
    assert db.photo(init.photo_id).size == len(data)


def test_event_with_bad_json_or_data_is_rejected(booth: MiniBooth, db: SqlStore) -> None:
    event_id = uuid.uuid4().hex
    booth.publish(p.event_topic("booth-01", event_id), b"{oops")
    assert rejected(booth, event_id).kind == "event"
    event = {"v": 1, "booth": "booth-01", "event_id": event_id, "ts": p.utc_now(), "kind": "retake",
             "data": {"attempt": "many"}}
    booth.publish(p.event_topic("booth-01", event_id), json.dumps(event).encode())
    rejected(booth, event_id)
    assert db.events() == []


TRAVERSALS = [
    {"id_number": "../../../etc/passwd"},
    {"id_number": "11010520040101001/"},
    {"id_number": "110105200401010010\x00"},
    {"college": "../../outside"},
    {"college": ".."},
    {"college": "a/b"},
    {"class": "..\\..\\x"},
    {"class": "nul\x00byte"},
    {"class": "x" * 300},
    {"college": ".hidden"},
    # The shared name rule (boothcore.names): line separators, invisible characters, bytes.
    {"class": "1\u2028班"},
    {"college": "计算机\u202e学院"},
    {"class": "1\u200b班"},
    {"class": "\U0001F393" * 64},  # 64 characters but 256 UTF-8 bytes: too long for a folder name
]


@pytest.mark.parametrize("changes", TRAVERSALS)
def test_path_traversal_never_writes_outside_the_data_folder(tmp_path: Path, booth: MiniBooth, data_dir: Path,
                                                             db: SqlStore, changes: dict[str, Any],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "central.ingest")
    outside_before = files_outside(tmp_path, data_dir, tmp_path / "broker")
    data = jpeg_bytes(12)
    init = make_init("booth-01", data)
    booth.publish(p.photo_init_topic("booth-01", init.photo_id), raw_init(init, **changes))
    for index, chunk in enumerate(chunks_of(init, data)):
        booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, index), chunk)
    booth.send_fin(init)
    rejected(booth, init.photo_id)
    outside_after = files_outside(tmp_path, data_dir, tmp_path / "broker")
    assert outside_after == outside_before
    assert not files_under(data_dir / "photos")
    assert not files_under(data_dir / "staging"), "a refused photo's chunks or fin were staged"
    assert db.photo(init.photo_id) is None
    # The logs name the photo but never a whole ID number.
    assert init.id_number not in caplog.text


def test_malformed_topics_are_dropped(booth: MiniBooth, data_dir: Path, tmp_path: Path) -> None:
    data = jpeg_bytes(13)
    init = make_init("booth-01", data)
    for topic in (f"booth/v1/booth-01/photo/{init.photo_id}/chunk/../../x",
                  "booth/v1/booth-01/photo/../init", f"booth/v1/booth-01/photo/{init.photo_id}/chunk/-1",
                  f"booth/v1/booth-01/photo/{init.photo_id}/chunk/99999999"):
        booth.publish(topic, b"x")
    ok = make_init("booth-01", data)
    assert booth.upload(ok, data).status == "stored"  # processed after the bad ones, same booth
    assert {p.name for p in files_under(data_dir / "photos")} == {f"{ok.id_number}.jpg"}
    assert not files_under(data_dir / "staging")


def test_unknown_booth_is_refused_when_an_allow_list_is_set(tmp_path: Path, broker: LocalBroker) -> None:
    data_dir = tmp_path / "allow"
    config = central_config(data_dir, broker, workers=1, known_booths=["booth-01"])
    with Ingest(config) as ingest:
        assert ingest.wait_connected()
        stranger = MiniBooth(broker, "booth-99")
        member = MiniBooth(broker, "booth-01")
        try:
            data = jpeg_bytes(14)
            init = make_init("booth-99", data)
            stranger.send_photo(init, data)
            known = make_init("booth-01", data)
            assert member.upload(known, data).status == "stored"
            with pytest.raises(queue.Empty):  # no ack: the booth keeps its photo until it is listed
                stranger.ack_for(init.photo_id, timeout=1.0)
        finally:
            stranger.close()
            member.close()
    store = SqliteStore(data_dir / "central.db")
    try:
        assert [r.booth for r in store.photos()] == ["booth-01"]
    finally:
        store.close()


def test_a_photo_that_cannot_be_stored_is_logged_without_its_id_number(booth: MiniBooth, data_dir: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    """The file system's error names the photo's path, which holds the ID number: masked in the log."""
    caplog.set_level(logging.INFO, "central")
    data = jpeg_bytes(15)
    init = make_init("booth-01", data)
    (data_dir / "photos" / "信息学院" / "计科2301" / f"{init.id_number}.jpg").mkdir(parents=True)  # not a file
    booth.send_photo(init, data)
    deadline = time.monotonic() + 10
    while "not stored" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "not stored" in caplog.text
    assert mask_id(init.id_number) in caplog.text
    assert init.id_number not in caplog.text
