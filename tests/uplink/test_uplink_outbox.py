"""The durable outbox on its own: idempotent queueing, flags instead of losses, acks, boot counter."""

from __future__ import annotations

import uuid

import pytest

from appliance.uplink.outbox import Outbox, OutboxError
from boothcore.db import connect
from boothcore.durable import write_atomic
from boothcore.protocol import ProtocolError
from tests.uplink.uplink_photos import photo_bytes, photo_meta


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "booth.db", "booth-01", chunk_size=16384)
    yield box
    box.close()


def _photo(folder, photo_id=None):
    photo_id = photo_id or uuid.uuid4().hex
    return photo_id, write_atomic(folder / f"{photo_id}.jpg", photo_bytes(photo_id))


def test_enqueue_is_idempotent_and_computes_the_init(tmp_path, outbox):
    photo_id, path = _photo(tmp_path)
    first = outbox.enqueue_photo(photo_id, path, photo_meta(photo_id))
    again = outbox.enqueue_photo(photo_id, path, {**photo_meta(photo_id), "attempt": 2})
    assert first == again
    assert first.size == len(photo_bytes(photo_id)) and first.chunk_size == 16384
    assert outbox.backlog() == 1
    assert [ph.photo_id for ph in outbox.pending_photos(10)] == [photo_id]


def test_bad_metadata_or_missing_file_is_refused_not_queued(tmp_path, outbox):
    photo_id, path = _photo(tmp_path)
    with pytest.raises(ProtocolError, match="college"):
        outbox.enqueue_photo(photo_id, path, {**photo_meta(photo_id), "college": "../../etc"})
    with pytest.raises(OutboxError):
        outbox.enqueue_photo(uuid.uuid4().hex, tmp_path / "nope.jpg", photo_meta(photo_id))
    with pytest.raises(OutboxError, match="changed since it was captured"):
        outbox.enqueue_photo(photo_id, path, {**photo_meta(photo_id), "sha256": "0" * 64})
    with pytest.raises(ProtocolError):
        outbox.enqueue_event("photo_accepted", {"photo_id": "x"})
    assert outbox.backlog() == 0


def test_only_a_matching_stored_ack_retires_a_photo_and_tells_the_ledger(tmp_path):
    calls: list[str] = []
    box = Outbox(tmp_path / "booth.db", "booth-01", on_photo_acked=calls.append)
    photo_id, path = _photo(tmp_path)
    init = box.enqueue_photo(photo_id, path, photo_meta(photo_id))
    assert not box.mark_photo_acked(photo_id, "0" * 64)
    assert box.photo_state(photo_id) == "pending" and calls == []
    assert box.mark_photo_acked(photo_id, init.sha256)
    assert box.mark_photo_acked(photo_id, init.sha256)  # a repeated ack changes nothing
    assert calls == [photo_id] and box.photo_state(photo_id) == "acked" and box.backlog() == 0
    box.close()


def test_a_failing_ledger_hook_keeps_the_photo_pending(tmp_path):
    def broken(photo_id: str) -> None:
        raise RuntimeError("ledger locked")

    box = Outbox(tmp_path / "booth.db", "booth-01", on_photo_acked=broken)
    photo_id, path = _photo(tmp_path)
    init = box.enqueue_photo(photo_id, path, photo_meta(photo_id))
    with pytest.raises(RuntimeError):
        box.mark_photo_acked(photo_id, init.sha256)
    assert box.photo_state(photo_id) == "pending"
    box.close()


def test_missing_or_changed_files_are_flagged_at_start_and_nothing_is_removed(tmp_path, outbox):
    gone_id, gone = _photo(tmp_path)
    changed_id, changed = _photo(tmp_path)
    fine_id, fine = _photo(tmp_path)
    for photo_id, path in ((gone_id, gone), (changed_id, changed), (fine_id, fine)):
        outbox.enqueue_photo(photo_id, path, photo_meta(photo_id))
    gone.unlink()
    changed.write_bytes(b"\xff\xd8 truncated")
    flagged = dict(Outbox(tmp_path / "booth.db", "booth-01").check_files())
    assert flagged == {gone_id: "missing_file", changed_id: "corrupt"}
    assert outbox.backlog() == 3  # flagged rows still count: they are not delivered
    assert {pid for pid, _, _ in outbox.problems()} == {gone_id, changed_id}
    assert [ph.photo_id for ph in outbox.pending_photos(10)] == [fine_id]
    # The file comes back (e.g. restored by the technician): a resend queues it again.
    write_atomic(gone, photo_bytes(gone_id))
    assert outbox.requeue("all") == 1
    assert outbox.photo_state(gone_id) == "pending"


def test_events_leave_on_ack_and_the_boot_counter_survives_reopening(tmp_path, outbox):
    event_id = outbox.enqueue_event("error", {"code": "camera", "message": "no frame"})
    assert [eid for eid, _ in outbox.pending_events(5)] == [event_id]
    assert outbox.remove_event(event_id) and outbox.backlog() == 0
    assert [outbox.next_boot(), outbox.next_boot()] == [1, 2]
    reopened = Outbox(tmp_path / "booth.db", "booth-01")
    assert reopened.next_boot() == 3
    reopened.close()


def test_outbox_only_touches_its_own_tables(tmp_path):
    conn = connect(tmp_path / "booth.db")
    conn.execute("CREATE TABLE ledger_photos (photo_id TEXT PRIMARY KEY, upload_state TEXT)")
    conn.execute("INSERT INTO ledger_photos VALUES ('a', 'waiting')")
    box = Outbox(tmp_path / "booth.db", "booth-01")
    box.next_boot()
    box.close()
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"ledger_photos", "outbox_photos", "outbox_events", "outbox_commands", "outbox_meta"}
    assert conn.execute("SELECT upload_state FROM ledger_photos").fetchone()[0] == "waiting"
    conn.close()


def test_disk_check(tmp_path, outbox):
    assert outbox.disk_ok(0)
    assert not outbox.disk_ok(10**12)  # no data partition has an exabyte free


def test_several_stored_acks_retire_their_rows_in_one_commit(tmp_path):
    calls: list[str] = []
    box = Outbox(tmp_path / "booth.db", "booth-01", on_photo_acked=calls.append)
    photos = [_photo(tmp_path) for _ in range(4)]
    inits = [box.enqueue_photo(photo_id, path, photo_meta(photo_id)) for photo_id, path in photos]
    done_before = inits[3].photo_id
    assert box.mark_photo_acked(done_before, inits[3].sha256)
    unknown = uuid.uuid4().hex
    result = box.mark_photos_acked([
        (inits[0].photo_id, inits[0].sha256), (inits[0].photo_id, inits[0].sha256),  # a repeated ack
        (inits[1].photo_id, "0" * 64),                                                # central's copy differs
        (inits[2].photo_id, inits[2].sha256), (done_before, inits[3].sha256), (unknown, "1" * 64)])
    assert result == {inits[0].photo_id: True, inits[1].photo_id: False, inits[2].photo_id: True,
                      done_before: True, unknown: False}
    # The ledger hears of each newly stored photo once, before its row is retired.
    assert calls == [done_before, inits[0].photo_id, inits[2].photo_id]
    assert [box.photo_state(i.photo_id) for i in inits] == ["acked", "pending", "acked", "acked"]
    assert box.backlog() == 1
    box.close()
    reopened = Outbox(tmp_path / "booth.db", "booth-01")
    assert [reopened.photo_state(i.photo_id) for i in inits] == ["acked", "pending", "acked", "acked"]
    reopened.close()


def test_a_failing_ledger_hook_retires_none_of_the_batch(tmp_path):
    def hook(photo_id: str) -> None:
        if photo_id == inits[1].photo_id:
            raise RuntimeError("ledger unavailable")

    box = Outbox(tmp_path / "booth.db", "booth-01", on_photo_acked=hook)
    photos = [_photo(tmp_path) for _ in range(2)]
    inits = [box.enqueue_photo(photo_id, path, photo_meta(photo_id)) for photo_id, path in photos]
    with pytest.raises(RuntimeError):
        box.mark_photos_acked([(i.photo_id, i.sha256) for i in inits])
    assert [box.photo_state(i.photo_id) for i in inits] == ["pending", "pending"]  # sent again later
    box.close()


def test_the_booths_checks_ride_in_the_stored_init(tmp_path, outbox):
    """The checks the booth measured (appliance.quality's CheckReport, through the flow's PhotoMeta)
    are kept in the outbox's init, so every send and resend carries them; photo_init without them
    (an older booth build) stays valid."""
    from appliance.flow.booth import photo_meta as flow_photo_meta
    from appliance.ledger import CaptureRecord, Verdict
    from appliance.quality.checker import CheckReport
    from appliance.quality.checks import CheckResult
    from appliance.uplink_bridge import wire_meta
    from boothcore.protocol import decode, encode
    from boothcore.roster import RosterEntry
    from boothcore.text import Text

    ok = Text("好", "ok")
    report = CheckReport({"head_pose": CheckResult("head_pose", True, {"yaw": 0.8, "pitch": 1.0},
                                                   {"yaw": 12.0, "pitch": 10.0}, ok),
                          "exposure": CheckResult("exposure", True, {"mean": 165.06}, {"mean": (75.0, 215.0)}, ok),
                          "ears_visible": CheckResult("ears_visible", False, None, 0.7, ok, severity="confirm",
                                                      not_measured="hair")})
    photo_id, path = _photo(tmp_path)
    meta = photo_meta(photo_id)
    entry = RosterEntry(id_number=meta["id_number"], name="张三", student_no=meta["student_no"],
                        college=meta["college"], class_name=meta["class"], graduation_year=2027, level="本科",
                        category="普通", captured_before=False)
    capture = CaptureRecord(photo_id=photo_id, session_id=meta["session_id"], id_number=meta["id_number"],
                            attempt=1, captured_at=meta["captured_at"], verdict=Verdict.ACCEPTED,
                            failed_checks=("ears_visible",), sha256=None, path=str(path), upload_state="pending")
    init = outbox.enqueue_photo(photo_id, path, wire_meta(flow_photo_meta(entry, capture, report)))
    sent = outbox.photo_init(photo_id)
    assert sent == init and sent.booth_checks is not None and sent.booth_checks.v == 1
    assert {k: (c.passed, c.value, c.limit) for k, c in sent.booth_checks.checks.items()} == {
        "head_pose": (True, {"yaw": 0.8, "pitch": 1.0}, {"yaw": 12.0, "pitch": 10.0}),
        "exposure": (True, {"mean": 165.06}, {"mean": [75.0, 215.0]}),
        "ears_visible": (False, None, 0.7)}
    older = outbox.enqueue_photo(*_photo(tmp_path), photo_meta(photo_id))
    assert older.booth_checks is None and b"booth_checks" not in encode(older)
    assert decode("photo_init", encode(older)) == older
