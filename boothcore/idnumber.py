"""Identity numbers of every card the readers support, each checked by its own rule.

* Resident ID (居民身份证), GB 11643-1999: 6-digit division code, birth date YYYYMMDD, 3-digit
  sequence, ISO 7064 MOD 11-2 check character (0-9 or X).
* Hong Kong/Macao/Taiwan residence permit (J, 港澳台居民居住证): the same 18-character layout with
  the division code 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan).
* Foreigner's permanent residence card of 2023 (Y): 18 characters, ``9``, the 2-digit province code
  of the issuing office, a 3-digit nationality code, birth date, sequence, GB 11643 check character
  (National Immigration Administration, 新版外国人永久居留身份证适配性改造要点, 2023).
* Foreigner's permanent residence card of 2017 (I): 15 characters, the 3-letter nationality code
  (ICAO/ISO 3166 alpha-3), a 4-digit issuing-office code starting with the province code, birth
  date YYMMDD and two more digits. The last digit is said to be a check digit, but no published
  rule for it holds on the field sample (``KOR110002031512``; the ICAO 7-3-1 rule one library
  uses gives 9, not 2), so it is not checked: refusing a real card is worse than a typo getting
  past, and the roster match on the exact number decides anyway.

Every check is a sanity check against typos and misreads, never proof of identity.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import unicodedata

from boothcore.cardkind import CardKind
from boothcore.text import BilingualError, Text

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# Province-level division codes (GB/T 2260): the first two digits of a resident number and the
# province part of the foreigners' cards' issuing-office codes. 71 (Taiwan) is not issued on
# resident cards; 81/82/83 are the J permits' prefixes.
PROVINCES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
                       "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
                       "61", "62", "63", "64", "65"})
PERMIT_PREFIXES = {"810000": "Hong Kong", "820000": "Macao", "830000": "Taiwan"}
# The kinds whose number identifies a person (typed numbers and campus cards carry one of these).
NUMBER_KINDS = (CardKind.RESIDENT, CardKind.HMT_PERMIT, CardKind.FOREIGN_2017, CardKind.FOREIGN_2023)
KIND_NAMES = {CardKind.RESIDENT: Text("居民身份证", "resident ID card"),
              CardKind.HMT_PERMIT: Text("港澳台居民居住证", "Hong Kong/Macao/Taiwan residence permit"),
              CardKind.FOREIGN_2017: Text("2017版外国人永久居留身份证", "2017 foreigner's permanent residence card"),
              CardKind.FOREIGN_2023: Text("2023版外国人永久居留身份证", "2023 foreigner's permanent residence card")}
_FOREIGN_2017 = re.compile(r"^[A-Z]{3}[0-9]{12}$")
_EIGHTEEN = re.compile(r"^[0-9]{17}[0-9X]$")
_DIGITS = string.digits
# What Excel shows for a long number in a General-format column: 1.10105E+17.
_EXCEL_NUMBER = re.compile(r"^[0-9]+(\.[0-9]*)?E\+?[0-9]+$")


class IdNumberError(BilingualError, ValueError):
    """Why an ID number is not valid, in both languages; ``code`` is stable (the refusal's reason)."""

    def __init__(self, code: str, en: str, zh: str) -> None:
        super().__init__(en, zh)
        self.code = code


def check_char(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(raw: str) -> str:
    """NFKC (full-width digits and letters as typed with a Chinese IME become ASCII), every kind of
    space removed, upper case (a trailing x, a country code typed in lower case)."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def number_kind(number: str) -> CardKind:
    """Which card a normalised number belongs to, from its shape alone."""
    if len(number) == 15 and number[0].isalpha():
        return CardKind.FOREIGN_2017
    if number.startswith("9"):
        return CardKind.FOREIGN_2023
    if number[:2] in ("81", "82", "83"):
        return CardKind.HMT_PERMIT
    return CardKind.RESIDENT


def birth_date(number: str) -> dt.date:
    """The birth date written in a valid number (YYMMDD in a 2017 card: the century that is not
    in the future)."""
    if len(number) == 15:
        year = 2000 + int(number[7:9])
        if year > dt.date.today().year:
            year -= 100
        return dt.date(year, int(number[9:11]), int(number[11:13]))
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def _error(code: str, en: str, zh: str) -> IdNumberError:
    return IdNumberError(code, f"ID number {en}", f"证件号码{zh}")


def _check_birth(number: str, digits: str, today: dt.date) -> None:
    try:
        birth = birth_date(number)
    except ValueError:
        raise _error("birth_date", f"birth date {digits} is not a real date", f"出生日期{digits}不是有效日期") from None
    if birth > today or birth.year < 1900:
        raise _error("birth_date", f"birth date {birth.isoformat()} is out of range",
                     f"出生日期{birth.isoformat()}超出范围")


def _first_bad(number: str, allowed: list[str]) -> tuple[str, str]:
    """Where ``number`` leaves ``allowed`` (the characters allowed at each position), in English
    and Chinese: (": 'O' at position 5", ":第5位“O”")."""
    for position, (ch, chars) in enumerate(zip(number, allowed, strict=True), start=1):
        if ch not in chars:
            return f": '{ch}' at position {position}", f":第{position}位“{ch}”"
    return "", ""


def _check_18(number: str, kind: CardKind, today: dt.date) -> None:
    if not _EIGHTEEN.match(number):
        where, where_zh = _first_bad(number, [_DIGITS] * 17 + [_DIGITS + "X"])
        raise _error("characters", f"must be 17 digits followed by a digit or X{where}",
                     f"应为17位数字加1位数字或X{where_zh}")
    if kind is CardKind.RESIDENT and number[:2] not in PROVINCES:
        raise _error("region", f"region prefix {number[:6]} is not a valid division code", f"地区码{number[:6]}无效")
    if kind is CardKind.HMT_PERMIT and number[:6] not in PERMIT_PREFIXES:
        raise _error("region", f"prefix {number[:6]} of a residence permit must be 810000 (Hong Kong), "
                     "820000 (Macao) or 830000 (Taiwan)",
                     f"前6位{number[:6]}应为810000(香港)、820000(澳门)或830000(台湾)")
    if kind is CardKind.FOREIGN_2023 and number[1:3] not in PROVINCES:
        raise _error("region", f"issuing province code {number[1:3]} of a 2023 foreigner's card is not valid",
                     f"永居证受理地代码{number[1:3]}无效")
    _check_birth(number, number[6:14], today)
    if number[17] != check_char(number[:17]):
        raise _error("checksum", "checksum does not match (check character is wrong)", "校验位不正确")


def _check_15(number: str, today: dt.date) -> None:
    if not _FOREIGN_2017.match(number):
        where, where_zh = _first_bad(number, [string.ascii_uppercase] * 3 + [_DIGITS] * 12)
        raise _error("characters", f"of a 2017 foreigner's card must be 3 letters (the country code) and 12 digits"
                     f"{where}", f"(2017版永居证)应为3位字母国籍代码加12位数字{where_zh}")
    if number[3:5] not in PROVINCES:
        raise _error("region", f"issuing office code {number[3:7]} of a 2017 foreigner's card is not valid",
                     f"永居证受理地代码{number[3:7]}无效")
    _check_birth(number, number[7:13], today)


def validate(raw: str, today: dt.date | None = None, kind: CardKind | None = None) -> str:
    """Return the normalised number or raise IdNumberError naming exactly what is wrong.

    ``kind``: the card the number was read from; a number of another kind's shape is refused.
    Typed numbers and campus cards (or None) take any kind.
    """
    number = normalize(raw)
    if _EXCEL_NUMBER.match(number):
        raise _error("excel_number", f"'{number[:20]}': this looks like an Excel number format: format the column "
                     "as text",
                     f"“{number[:20]}”是Excel数字格式:请把该列设为文本格式")
    found = number_kind(number)
    if found is not CardKind.FOREIGN_2017 and len(number) != 18:
        old = " (15 digits is the 1989 resident ID: use the 18-character one)" if len(number) == 15 else ""
        raise _error("length", f"must have 18 characters (15 for a 2017 foreigner's card), got {len(number)}{old}",
                     f"应为18位(2017版永居证为15位),实际为{len(number)}位")
    if kind in NUMBER_KINDS and kind is not found:
        raise _error("kind", f"has the form of a {KIND_NAMES[found].en}, but the card is a {KIND_NAMES[kind].en}",
                     f"为{KIND_NAMES[found].zh}号码,但证件为{KIND_NAMES[kind].zh}")
    today = today or dt.date.today()
    if found is CardKind.FOREIGN_2017:
        _check_15(number, today)
    else:
        _check_18(number, found, today)
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


def validate_canonical(value: str) -> str:
    """``value`` if it is a valid ID number already in canonical form (what the wire and central's
    file names carry); IdNumberError otherwise, code ``not_canonical`` when only the form is off."""
    if validate(value) != value:
        raise IdNumberError("not_canonical", "ID number must be in canonical form (ASCII, upper case, no spaces)",
                            "身份证号须为规范形式(半角、大写、无空格)")
    return value
