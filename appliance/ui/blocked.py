"""The "blocked, please call staff" screen: the booth cannot photograph anyone until a part is back.

Shown when the camera or the card reader is missing: what is wrong, whom to call
(``[booth] staff_contact``) and the booth id, so the call names the right booth.
"""

from __future__ import annotations

from collections.abc import Iterable

from appliance.ui.view import Screen, Tone, View
from boothcore.text import Text

CAMERA_MISSING = Text("相机未连接", "The camera is not connected")
READER_MISSING = Text("身份证读卡器未连接", "The ID card reader is not connected")
ANY_STAFF = "教学秘书"  # whom to call when no ``staff_contact`` is configured


def blocked(problems: Iterable[Text], booth_id: str, staff_contact: str = "") -> View:
    """The BLOCKED view: each problem, then whom to call and this booth's id."""
    contact_zh = staff_contact or ANY_STAFF
    contact_en = staff_contact or "the teaching secretary"
    lines = (*problems,
             Text(f"请联系{contact_zh}", f"Please call {contact_en}"),
             Text(f"本机编号 {booth_id}", f"Booth id {booth_id}"))
    return View(Screen.BLOCKED, Text("暂停使用,请联系工作人员", "Out of service: please call staff"), lines,
                Tone.BAD, status=booth_id)
