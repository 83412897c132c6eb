"""The headless display: one log line per screen change, no ID number or name in the log."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np

from appliance.ui.headless_display import HeadlessDisplay
from appliance.ui.view import Screen, Tone, View
from boothcore.idnumber import make_id_number
from boothcore.privacy import mask_ids_in
from boothcore.text import Text


def test_logs_each_screen_change_once_not_every_preview_frame(caplog) -> None:
    display = HeadlessDisplay()
    caplog.set_level(logging.INFO, logger="appliance.ui.headless_display")
    idle = View(Screen.IDLE, Text("请刷身份证", "Please swipe your ID card"))
    frame = np.zeros((48, 64, 3), np.uint8)
    display.show(idle)
    display.show(idle)
    tips = (Text("请向左", "Move left"), Text("请抬头", "Raise your chin"))
    for index, second in enumerate((3, 3, 3, 2, 2, 1)):
        display.show(View(Screen.COUNTDOWN, Text("请保持不动", "Hold still"), (tips[index % 2],),
                          Tone.WARN, image=frame, countdown=second))
    display.show(idle)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "screen=idle" in lines[0] and "Please swipe your ID card" in lines[0]
    assert "screen=countdown" in lines[1]
    assert display.frames == 9
    assert [v.screen for v in display.views] == [Screen.IDLE, Screen.COUNTDOWN, Screen.IDLE]
    assert display.last_view == idle
    assert display.pump() == []


def test_id_numbers_and_names_never_reach_the_log(caplog) -> None:
    caplog.set_level(logging.INFO, logger="appliance.ui.headless_display")
    number = make_id_number("110105", dt.date(1999, 1, 1), 12)
    display = HeadlessDisplay()
    display.show(View(Screen.ERROR, Text("出错了", "Something went wrong"),
                      (Text(f"读卡失败 {number}", f"card {number} unreadable"),), Tone.BAD,
                      status=f"last {number}"))
    display.show(View(Screen.READY, Text("张三同学,请按按钮", "Zhang San, press the button"),
                      (Text(f"身份证 {number}", f"ID {number}"),), button=Text("开始", "Start")))
    display.show(View(Screen.SUMMARY, Text("本班结束", "Class done"), (Text("未拍:李四", "Missing: Li Si"),),
                      qr_text="https://qr.alipay.com/x"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert number not in text
    assert number[:6] + "********" + number[-4:] in text
    for name in ("张三", "Zhang San", "李四", "Li Si"):
        assert name not in text
    assert "screen=ready" in text and "screen=summary" in text


def test_redact_masks_fifteen_to_eighteen_characters_only() -> None:
    assert mask_ids_in("fee 560.00 CNY, 28 students, 2027") == "fee 560.00 CNY, 28 students, 2027"
    assert mask_ids_in("id 11010519990101002X.") == "id 110105********002X."
    assert mask_ids_in("old 110105990101001") == "old 110105*****1001"
    assert "12345678901234567" not in mask_ids_in("typed 12345678901234567")
    assert mask_ids_in("card USA110020010202 read") == "card USA110*****0202 read"
