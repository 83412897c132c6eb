"""Sample cards of every kind (made-up people; valid check characters from make_id_number)."""

from __future__ import annotations

import datetime as dt

from appliance.cardreader.base import IdentityCard
from boothcore.cardkind import CardKind
from boothcore.idnumber import make_id_number

RESIDENT = IdentityCard(
    kind=CardKind.RESIDENT, id_number=make_id_number("110105", dt.date(2004, 5, 17), 123), name="张小明",
    gender="男", nationality="汉", birth_date=dt.date(2004, 5, 17), address="北京市朝阳区建国路88号3单元502室",
    authority="北京市公安局朝阳分局", valid_from=dt.date(2020, 3, 1), valid_to=dt.date(2030, 3, 1))
RESIDENT_LONG_TERM = IdentityCard(
    kind=CardKind.RESIDENT, id_number="11010519491231002X", name="欧阳娜娜", gender="女", nationality="维吾尔",
    birth_date=dt.date(1949, 12, 31), address="新疆维吾尔自治区乌鲁木齐市天山区解放南路1号",
    authority="乌鲁木齐市公安局天山分局", valid_from=dt.date(2005, 1, 1), long_term=True)
HMT_PERMIT = IdentityCard(
    kind=CardKind.HMT_PERMIT, id_number=make_id_number("810000", dt.date(2003, 8, 8), 2), name="陈嘉欣",
    gender="女", birth_date=dt.date(2003, 8, 8), address="广东省深圳市南山区科技园",
    authority="深圳市公安局", valid_from=dt.date(2021, 9, 1), valid_to=dt.date(2026, 9, 1),
    pass_number="H12345678", issue_count=1)
FOREIGN_2023 = IdentityCard(
    kind=CardKind.FOREIGN_2023, id_number=make_id_number("931111", dt.date(2002, 1, 2), 31), name="马克",
    name_en="MARK ALEXANDER WILLIAMSON-SMITHERS JUNIOR", gender="男", nationality="USA",
    birth_date=dt.date(2002, 1, 2), valid_from=dt.date(2023, 12, 1), valid_to=dt.date(2033, 12, 1),
    issue_count=0)
FOREIGN_2017 = IdentityCard(
    kind=CardKind.FOREIGN_2017, id_number="USA110020010202", name="MARIA GARCIA LOPEZ",
    name_en="MARIA GARCIA LOPEZ", gender="女", nationality="USA", birth_date=dt.date(2001, 2, 2),
    authority="1500", valid_from=dt.date(2019, 6, 1), valid_to=dt.date(2029, 6, 1))
ALL = (RESIDENT, RESIDENT_LONG_TERM, HMT_PERMIT, FOREIGN_2023, FOREIGN_2017)
