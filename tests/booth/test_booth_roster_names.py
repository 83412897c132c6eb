"""One rule for names (boothcore.names): what roster import accepts, the upload and central accept.

Through ``booth roster import`` and ``booth-central roster import``: every bad value is refused
with its line number and what is wrong, nothing is imported, and no database is created.
"""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from appliance.cli import main as booth_main
from boothcore import db
from boothcore.protocol import OpenClassData
from boothcore.roster import Roster
from central.cli import main as central_main
from central.paths import UnsafePathError, safe_segment

HEADER = "id_number,name,student_no,college,class,graduation_year,level,category,captured_before\n"
GOOD = "11010519491231002X,张三,20230001,计算机学院,1班,2027,本科,普通,no\n"
ROW = "360426199101010071,{name},{student_no},{college},{klass},2027,本科,普通,no\n"

# (column, value, what the report must say): each is a value the upload or central refused.
BAD_VALUES = [
    ("klass", "计算机/1班", "bad class: contains '/'"),
    ("klass", "班" * 65, "bad class: has 65 characters, at most 64"),
    ("college", ".计算机学院", "bad college: starts with '.'"),
    ("student_no", "学号2023", "bad student_no: may only have 1-32 ASCII letters, digits, '-' or '_': '学'"),
    ("student_no", "2023 0001", "bad student_no: may only have 1-32 ASCII letters, digits, '-' or '_': ' '"),
    ("name", "张\u200b三", "bad name: contains an invisible or control character U+200B (ZERO WIDTH SPACE)"),
    ("name", "张\u00ad三", "bad name: contains an invisible or control character U+00AD (SOFT HYPHEN)"),
    ("klass", "1班\u202e", "bad class: contains an invisible or control character U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("college", "计算机\x85学院", "bad college: contains an invisible or control character U+0085"),
    ("klass", "1\u2028班", "bad class: contains an invisible or control character U+2028 (LINE SEPARATOR)"),
    ("klass", "\U0001F393" * 64, "bad class: has 256 bytes in UTF-8, at most 255"),
]


def _row(**values: str) -> str:
    fields = {"name": "李四", "student_no": "20230002", "college": "计算机学院", "klass": "1班"} | values
    return ROW.format(**fields)


def _central_toml(tmp_path):
    path = tmp_path / "central.toml"
    path.write_text(f'[storage]\ndata_dir = "{tmp_path / "central"}"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(("column", "value", "said"), BAD_VALUES)
def test_booth_import_refuses_a_bad_name_with_its_line_and_creates_no_database(tmp_path, capsys, column,
                                                                              value, said):
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + GOOD + _row(**{column: value}), encoding="utf-8")
    assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 2
    err = capsys.readouterr().err
    assert "nothing imported" in err and f"line 3: {said}" in err, err
    assert "Traceback" not in err and not (tmp_path / "d" / "booth.db").exists()


@pytest.mark.parametrize(("column", "value", "said"), BAD_VALUES)
def test_central_import_refuses_the_same_names(tmp_path, capsys, column, value, said):
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER + GOOD + _row(**{column: value}), encoding="utf-8")
    assert central_main(["roster", "import", str(roster), "--config", str(_central_toml(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert f"line 3: {said}" in err and "Traceback" not in err, err
    assert not (tmp_path / "central" / "central.db").exists()


def test_names_are_stored_in_canonical_form(tmp_path, capsys):
    """NFC, every kind of space trimmed or single: what the roster stores is what the upload sends."""
    roster = tmp_path / "roster.csv"
    decomposed = "Jose\u0301"  # e + combining acute: NFC makes one character
    roster.write_text(HEADER + _row(name=f"\u3000{decomposed}\u00a0Li ", college=" 计算机学院\u3000",
                                    klass="1\u3000\u3000班", student_no="２０２３０００２"), encoding="utf-8")
    assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 0
    entry = Roster(db.connect(tmp_path / "d" / "booth.db")).lookup("360426199101010071")
    assert (entry.name, entry.college, entry.class_name, entry.student_no) == (
        "José Li", "计算机学院", "1 班", "20230002")
    # The upload's models and central's folder names take exactly these values.
    OpenClassData.model_validate({"college": entry.college, "class": entry.class_name})
    assert safe_segment(entry.class_name) == entry.class_name


@pytest.mark.parametrize(("column", "value", "said"), [v for v in BAD_VALUES if v[0] in ("college", "klass")])
def test_upload_and_central_folders_refuse_what_the_roster_refuses(column, value, said):
    with pytest.raises(ValidationError):
        OpenClassData.model_validate({"college": value, "class": "1班"})
    with pytest.raises(UnsafePathError):
        safe_segment(value)


def test_empty_roster_file_says_it_is_empty(tmp_path, capsys):
    for content in (b"", b"\xef\xbb\xbf", b"\r\n \r\n"):
        roster = tmp_path / f"{uuid.uuid4().hex}.csv"
        roster.write_bytes(content)
        assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 2
        err = capsys.readouterr().err
        assert err == f"{roster}: nothing imported: the file is empty (no header, no graduates)\n"
    assert not (tmp_path / "d" / "booth.db").exists()


def test_a_header_without_rows_says_so(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text(HEADER, encoding="utf-8")
    assert booth_main(["roster", "import", "--data", str(tmp_path / "d"), str(roster)]) == 2
    assert "the file has a header but no graduates" in capsys.readouterr().err


def test_roster_upload_and_central_agree_on_every_name():
    """Property: what the roster stores, the upload and central take unchanged; what it refuses, they refuse."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from boothcore.names import BadName, check_name

    @settings(max_examples=500, deadline=None)
    @given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=70))
    def agree(raw):
        try:
            canonical = check_name(raw)
        except BadName:
            with pytest.raises(ValidationError):
                OpenClassData.model_validate({"college": raw, "class": "1班"})
            return
        OpenClassData.model_validate({"college": canonical, "class": canonical})
        assert safe_segment(canonical) == canonical

    agree()
