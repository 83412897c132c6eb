"""GB 11643 ID number validation: the reference examples, each rule, exact messages."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.idnumber import IdNumberError, check_char, is_valid, make_id_number, normalize, validate


@pytest.mark.parametrize("number", ["11010519491231002X", "360426199101010071"])
def test_reference_examples_pass(number: str) -> None:
    assert validate(number) == number and is_valid(number)


def test_normalize_and_lower_case_x() -> None:
    assert normalize(" 110105 19491231002x ") == "11010519491231002X"
    assert validate("11010519491231002x") == "11010519491231002X"


def test_check_char() -> None:
    assert check_char("11010519491231002") == "X"
    assert check_char("36042619910101007") == "1"


@pytest.mark.parametrize(("number", "code", "en", "zh"), [
    ("1101051949123100", "length", "ID number must have 18 characters, got 16", "身份证号应为18位,实际为16位"),
    ("11010519491231A02X", "characters", "ID number must be 17 digits followed by a digit or X",
     "身份证号应为17位数字加1位数字或X"),
    ("01010519491231002X", "region", "ID number region prefix 010105 is not a valid division code",
     "身份证号地区码010105无效"),
    ("110105194902300028", "birth_date", "ID number birth date 19490230 is not a real date",
     "身份证号出生日期19490230不是有效日期"),
    ("110105189912310020", "birth_date", "ID number birth date 1899-12-31 is out of range",
     "身份证号出生日期1899-12-31超出范围"),
    ("110105194912310021", "checksum", "ID number checksum does not match (check character is wrong)",
     "身份证号校验位不正确"),
])
def test_each_rule_has_an_exact_message(number: str, code: str, en: str, zh: str) -> None:
    with pytest.raises(IdNumberError) as info:
        validate(number)
    assert (info.value.code, info.value.en, info.value.zh, str(info.value)) == (code, en, zh, en)
    assert not is_valid(number)


def test_future_birth_date_is_refused() -> None:
    number = make_id_number("110105", dt.date(2030, 1, 1), 1)
    with pytest.raises(IdNumberError) as info:
        validate(number, today=dt.date(2027, 6, 1))
    assert info.value.code == "birth_date"


@pytest.mark.parametrize("sequence", [0, 1, 2, 17, 500, 999])
def test_make_id_number_round_trips(sequence: int) -> None:
    number = make_id_number("440305", dt.date(2005, 2, 28), sequence)
    assert validate(number) == number and number[14:17] == f"{sequence:03d}"


def test_permit_and_foreigner_numbers_use_the_same_checksum() -> None:
    assert is_valid(make_id_number("810000", dt.date(2003, 8, 8), 2))  # J permit, Hong Kong
    assert is_valid(make_id_number("931111", dt.date(2002, 1, 2), 31))  # Y card
