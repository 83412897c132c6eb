"""Photos, events and statuses through a real mosquitto into the central ingest."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from boothcore import protocol as p
from central.store import SqlStore
from tests.central.conftest import MiniBooth, chunks_of, files_under, jpeg_bytes, make_init


def test_photo_is_stored_verified_and_acked(booth: MiniBooth, db: SqlStore, data_dir: Path) -> None:
    data = jpeg_bytes(1, (400, 500))
    init = make_init("booth-01", data, chunk_size=8192)
    assert init.chunks > 2
    ack = booth.upload(init, data)
    assert (ack.status, ack.sha256) == ("stored", init.sha256)
    stored = data_dir / "photos" / "信息学院" / "计科2301" / f"{init.id_number}.jpg"
    assert stored.read_bytes() == data
    row = db.photo(init.photo_id)
    assert row is not None and row.sha256 == hashlib.sha256(data).hexdigest() and row.is_current
    assert not files_under(data_dir / "staging"), "staging is cleaned after storing"


def test_resent_photo_is_stored_once(booth: MiniBooth, db: SqlStore, data_dir: Path) -> None:
    data = jpeg_bytes(2)
    init = make_init("booth-01", data)
    assert booth.upload(init, data).status == "stored"
    before = (data_dir / "photos").rglob("*.jpg").__next__().stat().st_mtime_ns
    assert booth.upload(init, data).status == "stored"
    assert len(db.photos(current_only=False)) == 1
    assert next((data_dir / "photos").rglob("*.jpg")).stat().st_mtime_ns == before


def test_missing_chunks_are_listed_then_completed(booth: MiniBooth, db: SqlStore) -> None:
    data = jpeg_bytes(3, (400, 500))
    init = make_init("booth-01", data, chunk_size=4096)
    booth.send_photo(init, data, skip=(1, 3))
    ack = booth.ack_for(init.photo_id)
    assert (ack.status, ack.missing) == ("missing", [1, 3])
    for index in ack.missing:
        booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, index), chunks_of(init, data)[index])
    booth.send_fin(init)
    assert booth.ack_for(init.photo_id).status == "stored"
    assert db.photo(init.photo_id) is not None


def test_fin_without_init_asks_for_the_init(booth: MiniBooth) -> None:
    data = jpeg_bytes(4)
    init = make_init("booth-01", data)
    booth.send_fin(init)
    ack = booth.ack_for(init.photo_id)
    assert (ack.status, ack.missing, ack.resend) == ("missing", [], "init")


def test_corrupted_chunk_is_detected_and_resent(booth: MiniBooth, db: SqlStore, data_dir: Path) -> None:
    data = jpeg_bytes(5, (400, 500))
    init = make_init("booth-01", data, chunk_size=8192)
    bad = bytearray(chunks_of(init, data)[1])
    bad[100] ^= 0xFF
    booth.publish(p.photo_init_topic("booth-01", init.photo_id), p.encode(init))
    for index, chunk in enumerate(chunks_of(init, data)):
        booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, index), bytes(bad) if index == 1 else chunk)
    booth.send_fin(init)
    ack = booth.ack_for(init.photo_id)
    assert (ack.status, ack.missing) == ("missing", list(range(init.chunks)))
    assert db.photo(init.photo_id) is None and not list((data_dir / "photos").rglob("*.jpg"))
    booth.send_photo(init, data)
    assert booth.ack_for(init.photo_id).status == "stored"
    assert next((data_dir / "photos").rglob("*.jpg")).read_bytes() == data


def test_event_is_recorded_once_and_acked(booth: MiniBooth, db: SqlStore) -> None:
    event = p.Event(booth="booth-01", event_id=uuid.uuid4().hex, ts=p.utc_now(), kind="card_refused",
                    data={"reason": "not_on_roster", "session_id": "s-1"})
    for _ in range(2):
        booth.publish(p.event_topic("booth-01", event.event_id), p.encode(event))
        ack = booth.ack_for(event.event_id)
        assert (ack.kind, ack.status) == ("event", "stored")
    events = db.events(booth="booth-01")
    assert [e.event_id for e in events] == [event.event_id]
    assert events[0].data["reason"] == "not_on_roster"


def test_the_booths_checks_are_stored_and_an_init_without_them_still_is(booth: MiniBooth, db: SqlStore) -> None:
    checks = p.BoothChecks(checks={"head_pose": p.BoothCheck(passed=True, value={"yaw": 0.8}, limit={"yaw": 12.0}),
                                   "exposure": p.BoothCheck(passed=True, value=165.1, limit=[75.0, 215.0])})
    data, older = jpeg_bytes(3), jpeg_bytes(4)
    init = make_init("booth-01", data, seq=3).model_copy(update={"booth_checks": checks})
    old_init = make_init("booth-01", older, seq=4)
    assert booth.upload(init, data).status == "stored"
    assert booth.upload(old_init, older).status == "stored"
    stored, old = db.photo(init.photo_id), db.photo(old_init.photo_id)
    assert stored is not None and stored.booth_checks == checks.model_dump(mode="json")
    assert old is not None and old.booth_checks is None
