"""ID number validation of every card kind: the reference examples, each rule, exact messages."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from boothcore.cardkind import CardKind
from boothcore.idnumber import (
    IdNumberError,
    birth_date,
    check_char,
    is_valid,
    make_id_number,
    normalize,
    number_kind,
    validate,
)


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
    ("1101051949123100", "length", "ID number must have 18 characters (15 for a 2017 foreigner's card), got 16",
     "证件号码应为18位(2017版永居证为15位),实际为16位"),
    ("11010519491231A02X", "characters", "ID number must be 17 digits followed by a digit or X: 'A' at position 15",
     "证件号码应为17位数字加1位数字或X:第15位“A”"),
    ("01010519491231002X", "region", "ID number region prefix 010105 is not a valid division code",
     "证件号码地区码010105无效"),
    ("110105194902300028", "birth_date", "ID number birth date 19490230 is not a real date",
     "证件号码出生日期19490230不是有效日期"),
    ("110105189912310020", "birth_date", "ID number birth date 1899-12-31 is out of range",
     "证件号码出生日期1899-12-31超出范围"),
    ("110105194912310021", "checksum", "ID number checksum does not match (check character is wrong)",
     "证件号码校验位不正确"),
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


@pytest.mark.parametrize(("number", "kind"), [
    ("11010519491231002X", CardKind.RESIDENT),
    (make_id_number("810000", dt.date(2003, 8, 8), 2), CardKind.HMT_PERMIT),  # J permit, Hong Kong
    (make_id_number("820000", dt.date(2003, 8, 8), 3), CardKind.HMT_PERMIT),  # Macao
    (make_id_number("830000", dt.date(2003, 8, 8), 4), CardKind.HMT_PERMIT),  # Taiwan
    ("911398199012310021", CardKind.FOREIGN_2023),  # the NIA's example layout: 9, Beijing, Kazakhstan
    (make_id_number("931111", dt.date(2002, 1, 2), 31), CardKind.FOREIGN_2023),
    ("KOR110002031512", CardKind.FOREIGN_2017),  # the field sample (roster-foreign-2017-card.csv)
    ("KAZ110090123105", CardKind.FOREIGN_2017),
])
def test_every_card_kind_is_valid_by_its_own_rule(number: str, kind: CardKind) -> None:
    assert validate(number) == number and number_kind(number) is kind
    assert validate(number, kind=kind) == number
    assert validate(number, kind=CardKind.TYPED_NUMBER) == number  # a typed number may be any kind


@pytest.mark.parametrize(("number", "code", "en"), [
    ("811234200308080026", "region", "ID number prefix 811234 of a residence permit must be 810000 (Hong Kong), "
     "820000 (Macao) or 830000 (Taiwan)"),
    (make_id_number("991111", dt.date(2002, 1, 2), 31), "region",
     "ID number issuing province code 91 of a 2023 foreigner's card is not valid"),
    ("911398199012310022", "checksum", "ID number checksum does not match (check character is wrong)"),
    ("KOR990002031512", "region", "ID number issuing office code 9900 of a 2017 foreigner's card is not valid"),
    ("KOR110002131512", "birth_date", "ID number birth date 021315 is not a real date"),
    ("K0R110002031512", "characters", "ID number of a 2017 foreigner's card must be 3 letters (the country code) "
     "and 12 digits: '0' at position 2"),
    ("110105490101123", "length", "ID number must have 18 characters (15 for a 2017 foreigner's card), got 15 "
     "(15 digits is the 1989 resident ID: use the 18-character one)"),
    ("1.10105E+17", "excel_number",
     "ID number '1.10105E+17': this looks like an Excel number format: format the column as text"),
    ("1.10105e17", "excel_number",
     "ID number '1.10105E17': this looks like an Excel number format: format the column as text"),
])
def test_each_kind_says_what_is_wrong(number: str, code: str, en: str) -> None:
    with pytest.raises(IdNumberError) as info:
        validate(number, today=dt.date(2027, 6, 1))
    assert (info.value.code, info.value.en) == (code, en)


def test_a_number_of_another_kind_than_the_card_is_refused() -> None:
    with pytest.raises(IdNumberError) as info:
        validate("KOR110002031512", kind=CardKind.RESIDENT)
    assert info.value.code == "kind"
    assert info.value.en == ("ID number has the form of a 2017 foreigner's permanent residence card, "
                             "but the card is a resident ID card")


def test_full_width_digits_and_every_kind_of_space_are_normalised() -> None:
    assert normalize("\u3000１１０１０５ １９４９１２３１００２ｘ\u00a0") == "11010519491231002X"
    assert validate("ｋｏｒ１１０００２０３１５１２") == "KOR110002031512"
    with pytest.raises(IdNumberError) as info:  # still wrong after normalising: say what is wrong
        validate("１１０１０５１９４９１２３１００２１")
    assert info.value.en == "ID number checksum does not match (check character is wrong)"


def test_birth_date_of_each_layout() -> None:
    assert birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    assert birth_date("KOR110002031512") == dt.date(2002, 3, 15)
    assert birth_date("KAZ110090123105") == dt.date(1990, 12, 31)


def test_an_id_number_error_passes_through_a_context_manager():
    """A frozen exception cannot take its traceback when a ``with`` block re-raises it (it became
    FrozenInstanceError inside write_chsi_photo's atomic write): the error must arrive as itself."""

    @contextlib.contextmanager
    def around():
        yield

    with pytest.raises(IdNumberError) as raised, around():
        validate("123")
    assert raised.value.code
