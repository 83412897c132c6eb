"""The Uplink against a real mosquitto and a protocol-following central."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from appliance.uplink.client import DISK_FULL_MESSAGE, Uplink
from appliance.uplink.settings import UplinkSettings
from boothcore import protocol as p
from boothcore.durable import write_atomic
from central.local_broker import LocalBroker
from tests.uplink.uplink_fake_central import FakeCentral, wait_for
from tests.uplink.uplink_photos import photo_bytes, photo_meta


def idle() -> dict[str, object]:
    """The status the booth reports."""
    return {"state": "idle", "session": None}


def _booth(tmp_path: Path, settings, booth: str = "booth-01", **kwargs) -> Uplink:
    kwargs.setdefault("on_command", lambda command: None)
    return Uplink(settings, booth, tmp_path / "booth" / "booth.db", **kwargs)


def _capture(uplink: Uplink, folder: Path, **size) -> str:
    photo_id = uuid.uuid4().hex
    path = write_atomic(folder / f"{photo_id}.jpg", photo_bytes(photo_id, **size))
    uplink.photo_saved(photo_id, path, photo_meta(photo_id))
    return photo_id


def _stored_ok(central: FakeCentral, photo_id: str, **size) -> bool:
    data = (central.store / f"{photo_id}.jpg").read_bytes()
    return data == photo_bytes(photo_id, **size)


def test_photos_and_events_arrive_and_leave_the_outbox(tmp_path, central, make_settings):
    acked: list[str] = []
    uplink = _booth(tmp_path, make_settings(), on_photo_acked=acked.append)
    uplink.start(idle)
    try:
        ids = [_capture(uplink, tmp_path / "photos") for _ in range(5)]
        event_id = uplink.event("photo_accepted", {"photo_id": ids[0], "session_id": "s-1", "attempt": 1})
        wait_for(lambda: uplink.backlog() == 0, what="empty outbox")
        assert sorted(acked) == sorted(ids)
        assert all(_stored_ok(central, i) for i in ids)
        assert set(central.writes.values()) == {1}
        assert central.events[event_id].kind == "photo_accepted"
        assert uplink.outbox.counts() == {"acked": 5, "events": 0}
        wait_for(lambda: any(s.online and s.boot == uplink.boot for s in central.statuses), what="birth")
        wait_for(lambda: central.telemetry, what="telemetry")
    finally:
        uplink.stop()
    assert not central.bad


def test_broker_outage_mid_upload_every_photo_arrives_once(tmp_path, broker: LocalBroker, central,
                                                           make_settings):
    size = {"min_size": 200_000, "max_size": 400_000}
    uplink = _booth(tmp_path, make_settings(window=2, chunk_size=16384))
    uplink.start(idle)
    try:
        ids = [_capture(uplink, tmp_path / "photos", **size) for _ in range(12)]
        wait_for(lambda: len(central.stored) >= 1, what="first photo")
        broker.stop()  # mid-upload: the rest are queued or half sent
        assert uplink.backlog() > 0
        for _ in range(3):  # booth keeps taking photos while the broker is away
            ids.append(_capture(uplink, tmp_path / "photos", **size))
        wait_for(lambda: not uplink.connected, what="disconnect noticed")
        broker.start()
        wait_for(lambda: uplink.backlog() == 0, timeout=90, what="empty outbox after the outage")
    finally:
        uplink.stop()
    assert set(central.stored) == set(ids)
    assert all(count == 1 for count in central.writes.values())
    assert all(_stored_ok(central, i, **size) for i in ids)


def test_dropped_and_corrupted_chunks_are_detected_and_sent_again(tmp_path, central, make_settings):
    size = {"min_size": 100_000, "max_size": 150_000}
    harmed: dict[str, set[int]] = {"drop": set(), "flip": set()}
    victims: dict[str, str] = {}

    def mangle(photo_id: str, index: int, data: bytes) -> bytes | None:
        role = victims.get(photo_id)
        if role == "drop" and index == 1 and index not in harmed["drop"]:
            harmed["drop"].add(index)
            return None
        if role == "flip" and index == 2 and index not in harmed["flip"]:
            harmed["flip"].add(index)
            return data[:10] + bytes([data[10] ^ 0xFF]) + data[11:]
        return data

    central.mangle = mangle
    uplink = _booth(tmp_path, make_settings(chunk_size=16384, window=1))
    uplink.start(idle)
    try:
        first, second = uuid.uuid4().hex, uuid.uuid4().hex
        victims.update({first: "drop", second: "flip"})
        for photo_id in (first, second):
            path = write_atomic(tmp_path / "photos" / f"{photo_id}.jpg", photo_bytes(photo_id, **size))
            uplink.photo_saved(photo_id, path, photo_meta(photo_id))
        wait_for(lambda: uplink.backlog() == 0, what="both photos stored")
    finally:
        uplink.stop()
    assert harmed == {"drop": {1}, "flip": {2}}
    assert any(a.id == first and a.status == "missing" and a.missing == [1] for _, a in central.acks_sent)
    assert f"sha256 mismatch for {second}" in central.bad
    assert _stored_ok(central, first, **size) and _stored_ok(central, second, **size)
    assert central.writes == {first: 1, second: 1}


def test_commands_are_validated_answered_and_run_once(tmp_path, central, make_settings):
    seen: list[p.Command] = []

    def on_command(command: p.Command) -> str:
        seen.append(command)
        if command.kind == "close_class":
            raise ValueError("no class is open")
        return "class opened"

    uplink = _booth(tmp_path, make_settings(), on_command=on_command)
    other = _booth(tmp_path / "other", make_settings(), booth="booth-02")
    uplink.start(idle)
    other.start(idle)
    try:
        wait_for(lambda: uplink.connected and other.connected, what="connections")
        wait_for(lambda: {s.booth for s in central.statuses} >= {"booth-01", "booth-02"}, what="births")
        good = {"v": 1, "command_id": "c-open", "kind": "open_class",
                "data": {"college": "理学院", "class": "物理1"}, "ts": p.utc_now()}
        central.send_command("booth-01", good)
        central.send_command("booth-01", good)  # redelivered: must run once
        central.send_command("booth-01", {**good, "command_id": "c-close", "kind": "close_class", "data": {}})
        # A payload that fails validation reaches the booth only as raw bytes; publish it directly.
        bad = {**good, "command_id": "c-bad", "data": {"college": "../..", "class": "物理1"}}
        central.client.publish(p.command_topic("booth-01", "c-bad"), json.dumps(bad).encode(), qos=1)
        central.client.publish(p.command_topic("booth-01", "c-bad2"),
                               p.encode(p.Command.model_validate({**good, "command_id": "c-other"})), qos=1)

        def results() -> dict[str, dict]:
            return {e.data["command_id"]: e.data for e in central.events.values() if e.kind == "command_result"}

        wait_for(lambda: len(results()) == 4, what="command results")
    finally:
        uplink.stop()
        other.stop()
    got = results()
    assert got["c-open"] == {"command_id": "c-open", "ok": True, "message": "class opened"}
    assert got["c-close"]["ok"] is False and "no class is open" in got["c-close"]["message"]
    assert got["c-bad"]["ok"] is False and "invalid command" in got["c-bad"]["message"]
    assert got["c-bad2"]["ok"] is False and "differs from the topic" in got["c-bad2"]["message"]
    assert [c.command_id for c in seen] == ["c-open", "c-close"]
    assert all(e.booth == "booth-01" for e in central.events.values() if e.kind == "command_result")


def test_resend_command_queues_acked_photos_again(tmp_path, central, make_settings):
    acked: list[str] = []
    uplink = _booth(tmp_path, make_settings(), on_photo_acked=acked.append)
    uplink.start(idle)
    try:
        ids = [_capture(uplink, tmp_path / "photos") for _ in range(3)]
        wait_for(lambda: uplink.backlog() == 0, what="first upload")
        central.send_command("booth-01", {"v": 1, "command_id": "c-resend", "kind": "resend",
                                          "data": {"photo_ids": ids[:2]}, "ts": p.utc_now()})
        wait_for(lambda: len(acked) == 5 and uplink.backlog() == 0, what="re-sent photos acked again")
    finally:
        uplink.stop()
    assert sorted(acked) == sorted(ids + ids[:2])
    assert set(central.writes.values()) == {1}


def test_status_birth_and_will_after_an_unclean_loss(tmp_path, broker: LocalBroker, central, make_settings):
    uplink = _booth(tmp_path, make_settings())
    uplink.start(lambda: {"state": "ready", "cpu_temp_c": 48.5,
                          "session": {"id": "s-9", "kind": "class", "college": "理学院", "class": "物理1"}})
    wait_for(lambda: any(s.online and s.state == "ready" for s in central.statuses), what="birth")
    birth = next(s for s in central.statuses if s.online)
    assert (birth.boot, birth.session.class_, birth.cpu_temp_c) == (uplink.boot, "物理1", 48.5)
    # Simulate a lost link: drop the TCP connection without a DISCONNECT, and keep paho from
    # reconnecting, so the broker publishes the Will after the Will Delay.
    client = uplink.link.client
    assert client is not None
    client.reconnect_delay_set(60, 60)
    client.loop_stop()
    client.socket().close()
    wait_for(lambda: any(s.state == "lost" and s.boot == uplink.boot for s in central.statuses), what="will")
    uplink.link.client = None
    uplink.stop()


def test_broker_outage_with_the_real_central_ingest(tmp_path, broker: LocalBroker, real_central, make_settings):
    size = {"min_size": 100_000, "max_size": 300_000}
    uplink = _booth(tmp_path, make_settings(window=2, chunk_size=16384))
    uplink.start(idle)
    try:
        ids = [_capture(uplink, tmp_path / "photos", **size) for _ in range(10)]
        event_id = uplink.event("class_opened", {"session_id": "s-1", "college": "理学院", "class": "物理1"})
        wait_for(lambda: len(real_central.writes) >= 1, what="first photo")
        broker.stop()
        ids.append(_capture(uplink, tmp_path / "photos", **size))
        wait_for(lambda: not uplink.connected, what="disconnect noticed")
        broker.start()
        wait_for(lambda: uplink.backlog() == 0, timeout=90, what="empty outbox after the outage")
    finally:
        uplink.stop()
    assert set(real_central.writes) == set(ids)
    assert all(count == 1 for count in real_central.writes.values())
    assert all(real_central.photo_file(i) == photo_bytes(i, **size) for i in ids)
    assert event_id in real_central.event_ids()


def test_without_a_broker_photos_wait_in_the_outbox(tmp_path):
    uplink = _booth(tmp_path, UplinkSettings())
    uplink.start(idle)
    photo_id = _capture(uplink, tmp_path / "photos")
    assert uplink.backlog() == 1 and not uplink.connected
    assert uplink.capture_blocked() is None
    uplink.stop()
    again = _booth(tmp_path, UplinkSettings())
    assert again.outbox.photo_state(photo_id) == "pending"
    again.outbox.close()


def test_a_full_disk_blocks_capture_but_not_sending(tmp_path, central, make_settings):
    uplink = _booth(tmp_path, make_settings(min_free_mb=10**9))  # more than any test disk has free
    uplink.start(idle)
    try:
        assert uplink.capture_blocked() == DISK_FULL_MESSAGE
        photo_id = _capture(uplink, tmp_path / "photos")  # taken before the disk filled
        wait_for(lambda: uplink.backlog() == 0, what="upload on a full disk")
    finally:
        uplink.stop()
    assert _stored_ok(central, photo_id)


def test_an_event_that_breaks_the_protocol_becomes_an_error_event(tmp_path):
    uplink = _booth(tmp_path, UplinkSettings())
    uplink.start(idle)
    try:
        makeup = uplink.event("class_opened", {"session_id": "s-2", "college": "", "class": ""})
        broken = uplink.event("class_opened", {"session_id": "s-3", "college": "a/b", "class": "x"})
        long_error = uplink.event("error", {"code": "camera", "message": "x" * 2000})
        queued = {eid: json.loads(payload) for eid, payload in uplink.outbox.pending_events(10)}
    finally:
        uplink.stop()
    assert queued[makeup]["data"] == {"session_id": "s-2", "college": "", "class": ""}
    assert queued[broken]["kind"] == "error" and queued[broken]["data"]["code"] == "bad_event"
    assert "college" in queued[broken]["data"]["message"]
    assert len(queued[long_error]["data"]["message"]) == 500
