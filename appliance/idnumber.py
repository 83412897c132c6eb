"""Resident ID number validation (GB 11643-1999, ISO 7064 MOD 11-2).

The checksum is a sanity check against typos and misreads, never proof of identity: the roster
match on the exact 18-character string is what decides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# First digit of the administrative division code (GB/T 2260): 1 North, 2 North-east, 3 East,
# 4 Central-south, 5 South-west, 6 North-west, 7 Taiwan, 8 Hong Kong / Macau / Taiwan permits,
# 9 foreigners' permanent residence cards (2023).
VALID_REGION_FIRST_DIGITS = frozenset("123456789")


@dataclass(frozen=True)
class IdNumberError(ValueError):
    """Why an ID number is not valid, in both languages."""

    code: str
    en: str
    zh: str

    def __str__(self) -> str:
        return self.en


def check_char(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(raw: str) -> str:
    """Strip blanks and upper-case a trailing x, as card readers and people type it."""
    return raw.strip().replace(" ", "").upper()


def validate(raw: str, today: dt.date | None = None) -> str:
    """Return the normalised number or raise IdNumberError naming exactly what is wrong."""
    number = normalize(raw)
    if len(number) != 18:
        raise IdNumberError(
            "length", f"ID number must have 18 characters, got {len(number)}",
            f"身份证号应为18位,实际为{len(number)}位")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError(
            "characters", "ID number must be 17 digits followed by a digit or X",
            "身份证号应为17位数字加1位数字或X")
    if number[0] not in VALID_REGION_FIRST_DIGITS or number[:2] in {"00", "10"}:
        raise IdNumberError(
            "region", f"ID number region prefix {number[:6]} is not a valid division code",
            f"身份证号地区码{number[:6]}无效")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(
            "birth_date", f"ID number birth date {number[6:14]} is not a real date",
            f"身份证号出生日期{number[6:14]}不是有效日期") from None
    today = today or dt.date.today()
    if birth > today or birth.year < 1900:
        raise IdNumberError(
            "birth_date", f"ID number birth date {birth.isoformat()} is out of range",
            f"身份证号出生日期{birth.isoformat()}超出范围")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise IdNumberError(
            "checksum", "ID number checksum does not match (check character is wrong)",
            "身份证号校验位不正确")
    return number


def is_valid(raw: str) -> bool:
    try:
        validate(raw)
    except IdNumberError:
        return False
    return True


def make_id_number(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid number (used by the simulator and the tests): region 6 digits, sequence 0-999."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
