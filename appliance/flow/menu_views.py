"""What the operator's keypad and menu pages show: pure functions from their state to a ``View``.

The booth decides which actions the main page offers (``actions``); these functions only lay
out the keys and the lines. Key ids are those of ``appliance.flow.operator_menu``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from appliance.flow.events import OperatorAction
from appliance.flow.health import HealthItem
from appliance.flow.operator_menu import (
    BACK,
    CANCEL,
    DELETE,
    HEALTH,
    LEAVE,
    LIST_PAGE,
    MORE,
    OK,
    PICK,
    ClassChoice,
)
from appliance.ui.view import Key, Screen, Tone, View
from boothcore.text import Text

ACTION_LABELS: dict[OperatorAction, Text] = {
    OperatorAction.OPEN_CLASS: Text("开始本班拍摄", "Open a class"),
    OperatorAction.OPEN_MAKEUP: Text("开始补拍", "Open a make-up session"),
    OperatorAction.CLOSE_SESSION: Text("结束本次拍摄", "Close the session"),
    OperatorAction.CONFIRM_PAYMENT: Text("确认已缴费", "Payment received"),
    OperatorAction.DEFER_PAYMENT: Text("稍后缴费", "The class pays later"),
    OperatorAction.ALLOW: Text("允许拍摄", "Allow"),
    OperatorAction.DENY: Text("不允许", "Deny"),
}
# ALLOW over a review with warnings only: the photo is kept as it is.
KEEP_PHOTO_LABEL = Text("保留此照片", "Keep this photo")
HEALTH_LABEL = Text("设备状态", "Booth health")
LEAVE_LABEL = Text("退出菜单", "Leave")
BACK_LABEL = Text("返回", "Back")
MORE_LABEL = Text("下一页", "More")


def keypad(typed: int, locked_s: float, message: Text | None, status: str) -> View:
    """The PIN keypad: ``typed`` digits shown as dots; while locked only Cancel works."""
    locked = locked_s > 0
    if locked:
        seconds = math.ceil(locked_s)
        lines: tuple[Text, ...] = (Text(f"密码错误次数过多,请 {seconds} 秒后再试",
                                        f"Too many wrong PINs: try again in {seconds} s"),)
    else:
        shown = " ".join("●" * typed) if typed else "_ _ _ _"
        lines = (Text(shown, "" if typed else "4-8 digits"),)  # the log never learns the PIN's length
        if message is not None:
            lines += (message,)
    digits = [Key(digit, Text(digit, ""), enabled=not locked) for digit in "123456789"]
    keys = (*digits,
            Key(DELETE, Text("删除", "Delete"), enabled=not locked and typed > 0),
            Key("0", Text("0", ""), enabled=not locked),
            Key(OK, Text("确定", "OK"), enabled=not locked and typed > 0, primary=True),
            Key(CANCEL, Text("取消", "Cancel")))
    return View(Screen.KEYPAD, Text("请输入管理密码", "Operator PIN"), lines,
                Tone.BAD if locked or message else Tone.INFO, status=status, keys=keys, key_columns=3)


def menu_main(actions: Sequence[OperatorAction], facts: Iterable[Text], message: Text | None,
              status: str, *, over_review: bool = False) -> View:
    """The main page: what is going on (``facts``), the last refusal, and the actions offered now
    (``over_review``: opened over a photo's review, where ALLOW keeps that photo)."""
    lines = tuple(facts) + ((message,) if message else ())
    labels = {**ACTION_LABELS, OperatorAction.ALLOW: KEEP_PHOTO_LABEL} if over_review else ACTION_LABELS
    keys = (*(Key(action.value, labels[action]) for action in actions),
            Key(HEALTH, HEALTH_LABEL), Key(LEAVE, LEAVE_LABEL, primary=True))
    return View(Screen.MENU, Text("老师菜单", "Operator menu"), lines, Tone.BAD if message else Tone.INFO,
                status=status, keys=keys, key_columns=2)


def _list_keys(labels: Sequence[Text], offset: int) -> tuple[Key, ...]:
    shown = [Key(f"{PICK}{index}", labels[index]) for index in range(offset, min(offset + LIST_PAGE, len(labels)))]
    more = [Key(MORE, MORE_LABEL)] if len(labels) > LIST_PAGE else []
    return (*shown, *more, Key(BACK, BACK_LABEL))


def _page_line(count: int, offset: int, what: Text) -> Text:
    pages = max(1, math.ceil(count / LIST_PAGE))
    page = offset // LIST_PAGE + 1
    return Text(f"共 {count} 个{what.zh},第 {page}/{pages} 页", f"{count} {what.en}, page {page} of {pages}")


def menu_colleges(colleges: Sequence[str], offset: int, status: str) -> View:
    """Choose the college (the roster's colleges, ``LIST_PAGE`` a page)."""
    if not colleges:
        lines = (Text("名单为空:请先导入名单", "The roster is empty: import it first"),)
    else:
        lines = (_page_line(len(colleges), offset, Text("学院", "colleges")),)
    return View(Screen.MENU, Text("选择学院", "Choose the college"), lines, Tone.INFO, status=status,
                keys=_list_keys([Text(name, "") for name in colleges], offset), key_columns=2)


def menu_classes(college: str, classes: Sequence[ClassChoice], offset: int, status: str) -> View:
    """Choose the class of ``college``, each with its progress (photographed / due this year)."""
    labels = [Text(choice.class_name, f"{choice.done}/{choice.size} photographed") for choice in classes]
    lines = (Text(college, college), _page_line(len(classes), offset, Text("班级", "classes")))
    return View(Screen.MENU, Text("选择班级", "Choose the class"), lines, Tone.INFO, status=status,
                keys=_list_keys(labels, offset), key_columns=2)


def menu_health(items: Sequence[HealthItem], status: str) -> View:
    """The booth's health: one line per part, its reading; amber when any part is not fine."""
    lines = tuple(Text(f"{'正常' if item.ok else '异常'} · {item.part.zh}:{item.reading.zh}",
                       f"{'OK' if item.ok else 'PROBLEM'} · {item.part.en}: {item.reading.en}") for item in items)
    tone = Tone.OK if all(item.ok for item in items) else Tone.WARN
    return View(Screen.MENU, HEALTH_LABEL, lines, tone, status=status, keys=(Key(BACK, BACK_LABEL, primary=True),),
                key_columns=1)
