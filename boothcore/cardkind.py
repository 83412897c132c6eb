"""The kinds of card (and card-less identification) a booth reads; ID-number rules depend on the kind."""

from __future__ import annotations

import enum


class CardKind(enum.StrEnum):
    RESIDENT = "resident"  # 居民身份证
    HMT_PERMIT = "hmt_permit"  # J: 港澳台居民居住证
    FOREIGN_2017 = "foreign_2017"  # I: 外国人永久居留身份证 (2017)
    FOREIGN_2023 = "foreign_2023"  # Y: 外国人永久居留身份证 (2023)
    TYPED_NUMBER = "typed_number"  # keyboard wedge: a number only, operator must confirm
    CAMPUS_UID = "campus_uid"  # campus card UID mapped through the roster
