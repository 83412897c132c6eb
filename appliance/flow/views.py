"""What each state shows: pure functions from the booth's situation to a ``View``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from appliance.ui.view import Screen, Tone, View
from boothcore.money import cny
from boothcore.privacy import mask_id
from boothcore.roster import RosterEntry
from boothcore.text import Text

PRESS_TO_START = Text("按下按钮开始拍照", "Press the button to start")


def closed(hours: str) -> View:
    return View(Screen.CLOSED, Text("暂停采集", "Closed"),
                (Text(f"采集时间 {hours}", f"Open {hours}"),), Tone.WARN)


def no_session(status: str) -> View:
    return View(Screen.NO_SESSION, Text("等待老师开始采集", "Waiting for the operator"),
                (Text("请教学秘书或辅导员开始本班拍摄", "A teaching secretary or counsellor opens the class"),),
                status=status)


def idle(status: str, makeup: bool) -> View:
    line = (Text("补拍:一人一刷一照,现场缴费", "Make-up: one student at a time, pay on the spot") if makeup
            else Text("班长刷身份证,一人一刷一照", "The monitor swipes each ID card: one swipe, one photo"))
    return View(Screen.IDLE, Text("请刷身份证", "Please swipe the ID card"), (line,), status=status)


def refused(message: Text, status: str) -> View:
    return View(Screen.REFUSED, Text("不能拍摄", "Cannot be photographed"), (message,), Tone.BAD,
                status=status)


def confirm(entry: RosterEntry | None, reasons: Iterable[Text], status: str) -> View:
    lines = tuple(reasons)
    if entry:
        lines = (Text(f"{entry.name} {mask_id(entry.id_number)}", f"{entry.name} {mask_id(entry.id_number)}"),
                 *lines)
    return View(Screen.CONFIRM, Text("请老师确认", "Operator: please confirm"), lines, Tone.WARN,
                status=status)


def ready(entry: RosterEntry, attempt: int, limit: int, status: str) -> View:
    lines = [Text(f"{entry.name}  {entry.class_name}", f"{entry.name}  {entry.class_name}"),
             Text("坐正,双肩放平,平视镜头", "Sit upright, shoulders level, look into the lens")]
    if attempt > 1:
        lines.append(Text(f"第{attempt}次(最多{limit}次)", f"Attempt {attempt} of {limit}"))
    return View(Screen.READY, Text(f"{entry.name},请就座", f"{entry.name}, please take a seat"),
                tuple(lines), Tone.OK, status=status, button=PRESS_TO_START)


def countdown(seconds_left: int, preview: np.ndarray | None, guidance: Iterable[Text], status: str) -> View:
    tips = tuple(guidance)
    return View(Screen.COUNTDOWN, Text("请保持不动", "Hold still"), tips,
                Tone.WARN if tips else Tone.OK, image=preview, countdown=seconds_left, status=status)


OPERATOR_MAY_KEEP = Text("仅为提醒:老师可确认保留此照片", "Warnings only: the operator may keep this photo")
NO_RETAKES = Text("已达重拍次数上限", "No retakes left")
SEE_OPERATOR = Text("请联系老师", "Please see the operator")


def review(photo: np.ndarray | None, passed: bool, fixes: Iterable[Text], can_retake: bool,
           status: str, may_keep: bool = False) -> View:
    """``may_keep``: only "confirm" checks failed, so the operator may keep the photo (allow): the
    title says so, in the warning tone, not the red "does not meet the standard" of a rejected one."""
    if passed:
        return View(Screen.REVIEW, Text("照片合格", "The photo meets the standard"),
                    (Text("按按钮保存;触摸“重拍”可重拍", "Press the button to keep it; touch Retake to retake"),),
                    Tone.OK, image=photo, status=status, button=Text("保存", "Keep"))
    lines = tuple(fixes)
    button = Text("重拍", "Retake") if can_retake else None
    if may_keep:
        if not can_retake:
            lines = (*lines, Text(f"{NO_RETAKES.zh},{SEE_OPERATOR.zh}", f"{NO_RETAKES.en}: {SEE_OPERATOR.en.lower()}"))
        return View(Screen.REVIEW, OPERATOR_MAY_KEEP, lines, Tone.WARN, image=photo, status=status, button=button)
    if can_retake:
        return View(Screen.REVIEW, Text("照片不合格,请调整后重拍", "Please adjust and retake"), lines,
                    Tone.BAD, image=photo, status=status, button=button)
    return View(Screen.REVIEW, NO_RETAKES, (*lines, SEE_OPERATOR), Tone.BAD, image=photo, status=status)


def saved(entry: RosterEntry, status: str) -> View:
    return View(Screen.SAVED, Text("拍摄完成,谢谢", "Done, thank you"),
                (Text(f"{entry.name} 的照片已保存", f"Photo of {entry.name} saved"),
                 Text("请登录学信网校对本人图像", "Check your photo on CHSI when it opens")), Tone.OK, status=status)


def payment(amount: float, qr_text: str, status: str) -> View:
    return View(Screen.SUMMARY, Text(f"请缴费 {cny(amount)} 元", f"Please pay {cny(amount)} CNY"),
                (Text("支付宝或微信扫码,老师确认后完成", "Scan with Alipay or WeChat; the operator confirms"),),
                Tone.INFO, qr_text=qr_text, status=status)


def summary(label: str, photographed: int, missing: list[str], price: float, fee: float, qr_text: str,
            status: str) -> View:
    """A closed class: the count, who is missing, and the fee with its QR code; a fee of 0 (nobody
    photographed) is not asked for: no fee line, no QR code."""
    lines = [Text(f"{label}:已拍 {photographed} 人", f"{label}: {photographed} photographed")]
    if fee > 0:
        lines.append(Text(f"费用 {photographed} × {cny(price)} = {cny(fee)} 元",
                          f"Fee {photographed} x {cny(price)} = {cny(fee)} CNY"))
    if missing:
        names = "、".join(missing[:12]) + ("…" if len(missing) > 12 else "")
        lines.append(Text(f"未拍 {len(missing)} 人:{names}", f"Not photographed ({len(missing)}): {names}"))
    else:
        lines.append(Text("全班已拍完", "Everyone on the class roster is photographed"))
    if fee <= 0:
        return View(Screen.SUMMARY, Text("本班拍摄结束,无需缴费", "Class closed: nothing to pay"), tuple(lines),
                    Tone.INFO, status=status)
    return View(Screen.SUMMARY, Text("本班拍摄结束,请班长扫码缴费", "Class done: the monitor pays by QR code"),
                tuple(lines), Tone.INFO, qr_text=qr_text, status=status)


def makeup_summary(photographed: int, paid_people: int, paid_cny: float, status: str, price: float) -> View:
    """A closed make-up session: the tally of the payments taken after each photo; no fee is asked
    (and none was taken when ``price`` is 0: no tally of payments)."""
    lines: tuple[Text, ...] = (Text(f"补拍:已拍 {photographed} 人", f"补拍 make-up: {photographed} photographed"),)
    if price > 0:
        lines += (Text(f"现场已缴费 {paid_people}/{photographed} 人,共 {cny(paid_cny)} 元",
                       f"Paid on the spot: {paid_people} of {photographed}, {cny(paid_cny)} CNY"),)
    return View(Screen.SUMMARY, Text("补拍结束", "Make-up session closed"), lines, Tone.INFO, status=status)


def error(message: Text, status: str) -> View:
    return View(Screen.ERROR, Text("出错了,请稍候", "Something went wrong, one moment"), (message,), Tone.BAD,
                status=status)
