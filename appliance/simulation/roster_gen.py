"""Generated graduates and ID cards for the simulated booth, the demo and the tests.

Numbers carry valid GB 11643 checksums; names are plausible but invented.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Iterable
from dataclasses import replace

from appliance.cardreader.base import IdentityCard
from boothcore.cardkind import CardKind
from boothcore.idnumber import birth_date, make_id_number, number_kind
from boothcore.roster import COLUMNS, RosterEntry

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰萍红鹏飞宇轩浩然子涵欣怡梓萱一诺思远嘉豪雨泽"
REGIONS = ("110105", "220102", "320102", "330106", "360426", "420111", "440304", "510107", "610113")
DEMO_COLLEGE = "计算机学院"
DEMO_CLASS = "计算机2023-1班"


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _number(rng: random.Random, used: set[str]) -> str:
    while True:
        birth = dt.date(rng.randint(2001, 2005), rng.randint(1, 12), rng.randint(1, 28))
        number = make_id_number(rng.choice(REGIONS), birth, rng.randint(0, 999))
        if number not in used:
            used.add(number)
            return number


def generate_roster(students: int, *, graduation_year: int, college: str = DEMO_COLLEGE,
                    class_name: str = DEMO_CLASS, seed: int = 2027,
                    used: set[str] | None = None) -> list[RosterEntry]:
    """``students`` regular graduates of one class, student numbers in order. ``used``: ID numbers
    already given out (e.g. to other classes of one roster), never repeated; the new ones are added."""
    rng = random.Random(seed)
    used = set() if used is None else used
    return [RosterEntry(id_number=_number(rng, used), name=_name(rng), student_no=f"{graduation_year - 4}{i:04d}",
                        college=college, class_name=class_name, graduation_year=graduation_year, level="本科",
                        category="普通", captured_before=False)
            for i in range(1, students + 1)]


def excluded_people(*, graduation_year: int, college: str = DEMO_COLLEGE, class_name: str = DEMO_CLASS,
                    seed: int = 7, used: set[str] | None = None) -> dict[str, RosterEntry]:
    """One roster entry per hard refusal the notice names (keyed by the eligibility reason code);
    ``used`` as for ``generate_roster``."""
    rng = random.Random(seed)
    used = set() if used is None else used

    def person() -> RosterEntry:
        return RosterEntry(id_number=_number(rng, used), name=_name(rng), student_no=f"X{rng.randint(1000, 9999)}",
                           college=college, class_name=class_name, graduation_year=graduation_year, level="本科",
                           category="普通", captured_before=False)

    return {"not_this_year": replace(person(), graduation_year=graduation_year + 1),
            "entrusted_training": replace(person(), category="委培"),
            "photographed_before": replace(person(), captured_before=True)}


def stranger_card(seed: int = 99) -> IdentityCard:
    """A valid card of somebody not on the roster."""
    rng = random.Random(seed)
    return IdentityCard(kind=CardKind.RESIDENT, id_number=_number(rng, set()), name=_name(rng))


def card_for(entry: RosterEntry) -> IdentityCard:
    """The card the simulated reader reads for a roster entry: the kind its number belongs to
    (resident ID, J permit, 2017 or 2023 foreigner's card)."""
    number = entry.id_number
    kind = number_kind(number)
    card = IdentityCard(kind=kind, id_number=number, name=entry.name, birth_date=birth_date(number),
                        valid_from=dt.date(2021, 9, 1), valid_to=dt.date(2031, 9, 1))
    if kind in (CardKind.FOREIGN_2017, CardKind.FOREIGN_2023):
        return replace(card, name_en=entry.name, gender="未说明",
                       nationality=number[:3] if kind is CardKind.FOREIGN_2017 else number[3:6])
    return replace(card, gender="男" if int(number[16]) % 2 else "女", nationality="汉",
                   address="吉林省长春市", authority="长春市公安局")


def roster_csv(entries: Iterable[RosterEntry]) -> str:
    """The roster in the import format (``booth roster import``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(entry.as_row() for entry in entries)
    return out.getvalue()
