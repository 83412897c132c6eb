"""Text from booths that central stores or turns into paths: one rule (appliance.names), refused or escaped."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from appliance.uplink import protocol as p
from central.store import SqliteStore
from tests.central.conftest import MiniBooth, files_under, jpeg_bytes, make_init


@pytest.mark.parametrize(("college", "said"), [
    ("\U0001F393" * 64, "256 bytes in UTF-8, at most 255"),  # 64 characters, too long for a folder name
    ("信息\u2028学院", "U+2028 (LINE SEPARATOR)"),
    ("信息\u202e学院", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
])
def test_a_folder_name_central_cannot_use_is_refused_once_not_retried(booth: MiniBooth, db: SqliteStore,
                                                                      data_dir: Path, college: str,
                                                                      said: str) -> None:
    data = jpeg_bytes(50)
    init = make_init("booth-01", data)
    raw = json.loads(p.encode(init))
    raw["college"] = college
    booth.publish(p.photo_init_topic("booth-01", init.photo_id), json.dumps(raw, ensure_ascii=False).encode())
    booth.publish(p.photo_chunk_topic("booth-01", init.photo_id, 0), data)
    booth.send_fin(init)
    ack = booth.ack_for(init.photo_id)
    assert ack.status == "rejected" and said in ack.reason  # a final answer: the booth parks it, no retry loop
    assert db.photo(init.photo_id) is None
    assert not files_under(data_dir / "photos") and not files_under(data_dir / "staging")


def test_terminal_escape_codes_in_event_messages_are_stored_as_text(booth: MiniBooth, db: SqliteStore) -> None:
    message = "disk \x1b[2J\x1b[31mfull\x1b]0;owned\x07 \u202eevil\nsecond line 满"
    event = p.Event(booth="booth-01", event_id=uuid.uuid4().hex, ts=p.utc_now(), kind="error",
                    data={"code": "disk_full", "message": message})
    booth.publish(p.event_topic("booth-01", event.event_id), p.encode(event))
    assert booth.ack_for(event.event_id).status == "stored"
    stored = db.events(booth="booth-01")[0].data["message"]
    assert stored == "disk \\x1b[2J\\x1b[31mfull\\x1b]0;owned\\x07 \\u202eevil\\nsecond line 满"
    assert not any(ord(ch) < 32 or ord(ch) == 0x7F or 0x80 <= ord(ch) < 0xA0 or ch == "\u202e" for ch in stored)
