"""The shared protocol module: topics round-trip, malformed input is refused with a reason."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from boothcore import protocol as p
from boothcore.idnumber import make_id_number
from boothcore.schemas import DEFAULT_FOLDER, rendered

ID_NUMBER = make_id_number("110105", dt.date(2004, 5, 6), 12)


def _init(**changes) -> dict:
    base = {"v": 1, "booth": "booth-01", "photo_id": uuid.uuid4().hex, "id_number": ID_NUMBER,
            "student_no": "2023001", "college": "计算机学院", "class": "软件2301", "session_id": "s-1",
            "attempt": 1, "captured_at": "2027-06-01T08:00:00.000Z", "size": 200_000,
            "sha256": "ab" * 32, "chunk_size": p.CHUNK_SIZE, "chunks": 4}
    base.update(changes)
    return base


def _bytes(data: dict) -> bytes:
    return json.dumps(data).encode()


def test_topics_round_trip():
    pid, eid = uuid.uuid4().hex, uuid.uuid4().hex
    assert p.parse_booth_topic(p.status_topic("b-1")) == ("b-1", "status", None, None)
    assert p.parse_booth_topic(p.telemetry_topic("b-1")) == ("b-1", "telemetry", None, None)
    assert p.parse_booth_topic(p.event_topic("b-1", eid)) == ("b-1", "event", eid, None)
    assert p.parse_booth_topic(p.photo_init_topic("b-1", pid)) == ("b-1", "photo_init", pid, None)
    assert p.parse_booth_topic(p.photo_chunk_topic("b-1", pid, 7)) == ("b-1", "photo_chunk", pid, 7)
    assert p.parse_booth_topic(p.photo_fin_topic("b-1", pid)) == ("b-1", "photo_fin", pid, None)
    assert p.parse_central_topic(p.ack_topic("b-1")) == ("b-1", "ack", None)
    assert p.parse_central_topic(p.command_topic("b-1", "c1")) == ("b-1", "command", "c1")


@pytest.mark.parametrize("topic", [
    "booth/v1/B-1/status",  # upper case booth id
    "booth/v2/b1/status",
    "booth/v1/b1/status/extra",
    "booth/v1/../status",
    "booth/v1/b1/photo/not-a-uuid/init",
    "booth/v1/b1/photo/{pid}/chunk/-1",
    "booth/v1/b1/photo/{pid}/chunk/01",
    "booth/v1/b1/photo/{pid}/chunk/99999999",
    "booth/v1/b1/photo/{pid}/other",
    "booth/v1/b1/event/{pid}/x",
    "central/v1/b1/ack",
    "",
])
def test_malformed_booth_topics_are_refused(topic):
    with pytest.raises(p.ProtocolError):
        p.parse_booth_topic(topic.format(pid=uuid.uuid4().hex))


@pytest.mark.parametrize("topic", ["central/v1/b1/command/../x", "central/v1/b1/command/a/b",
                                   "central/v1/b1/acks", "booth/v1/b1/ack"])
def test_malformed_central_topics_are_refused(topic):
    with pytest.raises(p.ProtocolError):
        p.parse_central_topic(topic)


@given(st.text(max_size=120))
def test_parsers_never_raise_anything_but_protocol_error(topic):
    for parse in (p.parse_booth_topic, p.parse_central_topic):
        with contextlib.suppress(p.ProtocolError):
            parse(topic)


@given(st.binary(max_size=300))
def test_decode_never_raises_anything_but_protocol_error(payload):
    for kind in ("status", "telemetry", "event", "photo_init", "photo_fin", "ack", "command", "photo_chunk"):
        with contextlib.suppress(p.ProtocolError):
            p.decode(kind, payload)


def test_init_round_trip_keeps_class_alias():
    model = p.decode("photo_init", _bytes(_init()))
    assert model.class_ == "软件2301"
    assert json.loads(p.encode(model))["class"] == "软件2301"
    assert p.decode("photo_init", p.encode(model)) == model


@pytest.mark.parametrize(("change", "reason"), [
    ({"id_number": "../../etc/passwd1"}, "id_number"),
    ({"id_number": ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")}, "checksum"),
    ({"college": "../x"}, "college"),
    ({"class": "a/b"}, "class"),
    ({"college": "a\\b"}, "college"),
    ({"size": p.MAX_PHOTO_SIZE + 1}, "size"),
    ({"chunks": 3}, "chunks"),
    ({"chunk_size": 1 << 20}, "chunk_size"),
    ({"photo_id": "x" * 32}, "photo_id"),
    ({"sha256": "AB" * 32}, "sha256"),
    ({"captured_at": "2027-06-01T08:00:00+08:00"}, "UTC"),
    ({"extra": 1}, "extra"),
    ({"booth": "Booth"}, "booth"),
])
def test_bad_init_is_refused_with_a_reason(change, reason):
    with pytest.raises(p.ProtocolError) as caught:
        p.decode("photo_init", _bytes(_init(**change)))
    assert reason in caught.value.reason


def test_chunk_lengths_follow_the_init():
    init = p.decode("photo_init", _bytes(_init(size=3 * p.CHUNK_SIZE + 10)))
    assert [init.chunk_length(i) for i in range(4)] == [p.CHUNK_SIZE] * 3 + [10]
    assert p.decode_chunk(b"x" * 10, init, 3) == b"x" * 10
    with pytest.raises(p.ProtocolError):
        p.decode_chunk(b"x" * 11, init, 3)
    with pytest.raises(p.ProtocolError):
        p.decode_chunk(b"x", init, 4)
    with pytest.raises(p.ProtocolError):
        p.decode("photo_chunk", b"x" * (p.CHUNK_SIZE + 1))
    with pytest.raises(p.ProtocolError):
        p.decode("photo_chunk", b"")


def test_will_has_only_the_agreed_keys():
    will = json.loads(p.encode(p.will_status("b1", 4)))
    assert set(will) == {"v", "booth", "boot", "online", "state", "ts"}
    assert (will["online"], will["state"], will["boot"]) == (False, "lost", 4)
    assert p.decode("status", p.encode(p.will_status("b1", 4))).boot == 4


def test_online_status_needs_its_live_fields():
    status = {"v": 1, "booth": "b1", "boot": 1, "online": True, "state": "idle", "ts": p.utc_now()}
    with pytest.raises(p.ProtocolError):
        p.decode("status", _bytes(status))
    status.update(queue_depth=0, disk_free_mb=10.5, version="0.1.0", cpu_temp_c=None,
                  session={"id": "s1", "kind": "class", "college": "理学院", "class": "物理1"})
    decoded = p.decode("status", _bytes(status))
    assert decoded.session.class_ == "物理1"
    assert json.loads(p.encode(decoded))["session"]["class"] == "物理1"


def test_event_data_is_checked_against_its_kind():
    event = {"v": 1, "booth": "b1", "event_id": uuid.uuid4().hex, "ts": p.utc_now(),
             "kind": "class_closed",
             "data": {"session_id": "s1", "college": "理学院", "class": "物理1", "count": 30,
                      "fee_cny": 600.0, "missing": 2}}
    assert p.decode("event", _bytes(event)).typed_data().count == 30
    event["data"]["count"] = -1
    with pytest.raises(p.ProtocolError):
        p.decode("event", _bytes(event))
    event["kind"] = "reboot_now"
    with pytest.raises(p.ProtocolError):
        p.decode("event", _bytes(event))


def test_ack_consistency():
    pid = uuid.uuid4().hex
    ok = {"v": 1, "kind": "photo", "id": pid, "status": "stored", "sha256": "0" * 64}
    assert p.decode("ack", _bytes(ok)).status == "stored"
    for bad in ({"status": "stored", "sha256": None}, {"status": "missing"},
                {"status": "rejected"}, {"status": "missing", "missing": [1, 1]}):
        with pytest.raises(p.ProtocolError):
            p.decode("ack", _bytes({**ok, **bad}))
    assert p.decode("ack", _bytes({**ok, "status": "missing", "missing": [], "resend": "init"})).resend


def test_commands_are_validated():
    cmd = {"v": 1, "command_id": "c-1", "kind": "resend", "data": {"photo_ids": "all"}, "ts": p.utc_now()}
    assert p.decode("command", _bytes(cmd)).typed_data().photo_ids == "all"
    for data in ({"photo_ids": ["../x"]}, {}, {"photo_ids": "some"}):
        with pytest.raises(p.ProtocolError):
            p.decode("command", _bytes({**cmd, "data": data}))
    with pytest.raises(p.ProtocolError):
        p.decode("command", _bytes({**cmd, "kind": "open_class", "data": {"college": "..", "class": "x"}}))


def test_oversized_json_is_refused_before_parsing():
    with pytest.raises(p.ProtocolError, match="exceeds"):
        p.decode("ack", b" " * (p.MAX_JSON_BYTES + 1))


def test_docs_schemas_are_in_sync_with_the_models():
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in DEFAULT_FOLDER.glob("*.json")}
    assert on_disk == rendered(), "run: python -m boothcore.schemas"


def test_docs_name_every_payload_and_kind():
    text = (DEFAULT_FOLDER.parent / "mqtt.md").read_text(encoding="utf-8")
    for kind in p.PAYLOAD_MODELS:
        assert f"(schemas/{kind}.json)" in text, kind
    for kind in (*p.EVENT_KINDS, *p.COMMAND_KINDS):
        assert f"| `{kind}` |" in text, kind
    assert set(p.EVENT_KINDS) == set(p.EVENT_DATA) and set(p.COMMAND_KINDS) == set(p.COMMAND_DATA)


def test_reconnect_delay_grows_exponentially_with_jitter_and_a_cap():
    from appliance.uplink.broker_link import reconnect_delay

    assert [reconnect_delay(n, 1.0, 60.0, jitter=lambda: 1.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert reconnect_delay(3, 1.0, 60.0, jitter=lambda: 0.0) == 4.0  # half the base at the least
    spread = {round(reconnect_delay(2, 1.0, 60.0), 3) for _ in range(200)}
    assert len(spread) > 50 and min(spread) >= 2.0 and max(spread) <= 4.0
    assert reconnect_delay(10_000, 1.0, 60.0, jitter=lambda: 1.0) == 60.0
