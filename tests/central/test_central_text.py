"""Free text from booths that central stores: escaped by the name rule's definition (boothcore.names).

Names that become folders are refused by the same rule: test_central_malformed's traversal cases.
"""

from __future__ import annotations

import uuid

from boothcore import protocol as p
from central.store import SqlStore
from tests.central.conftest import MiniBooth


def test_terminal_escape_codes_in_event_messages_are_stored_as_text(booth: MiniBooth, db: SqlStore) -> None:
    message = "disk \x1b[2J\x1b[31mfull\x1b]0;owned\x07 \u202eevil\nsecond line 满"
    event = p.Event(booth="booth-01", event_id=uuid.uuid4().hex, ts=p.utc_now(), kind="error",
                    data={"code": "disk_full", "message": message})
    booth.publish(p.event_topic("booth-01", event.event_id), p.encode(event))
    assert booth.ack_for(event.event_id).status == "stored"
    stored = db.events(booth="booth-01")[0].data["message"]
    assert stored == "disk \\x1b[2J\\x1b[31mfull\\x1b]0;owned\\x07 \\u202eevil\\nsecond line 满"
    assert not any(ord(ch) < 32 or ord(ch) == 0x7F or 0x80 <= ord(ch) < 0xA0 or ch == "\u202e" for ch in stored)
