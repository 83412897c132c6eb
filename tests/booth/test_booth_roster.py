"""Roster import: every bad row reported with its line number, nothing imported unless all is valid."""

from __future__ import annotations

import pytest

from appliance.simulation.roster_gen import generate_roster, roster_csv
from boothcore import db
from boothcore.roster import Roster, RosterImportError, parse_roster, read_roster_file

HEADER = "id_number,name,student_no,college,class,graduation_year,level,category,captured_before\n"
GOOD = "11010519491231002X,张三,20230001,计算机学院,1班,2027,本科,普通,no\n"


def problems(text: str) -> dict[int, str]:
    with pytest.raises(RosterImportError) as info:
        parse_roster(text)
    found: dict[int, str] = {}
    for problem in info.value.problems:
        found[problem.line] = found.get(problem.line, "") + problem.reason + "; "
    return found


def test_valid_roster_parses_every_row():
    entries = parse_roster(roster_csv(generate_roster(30, graduation_year=2027)))
    assert len(entries) == 30
    assert all(entry.class_name == "计算机2023-1班" for entry in entries)


def test_each_bad_row_is_named_by_line_and_reason():
    text = (HEADER + GOOD
            + "110105194912310021,李四,20230002,计算机学院,1班,2027,本科,普通,no\n"  # bad checksum
            + "11010519491231002X,王五,20230003,计算机学院,1班,2027,本科,普通,no\n"  # duplicate of line 2
            + "360426199101010071,,20230004,计算机学院,1班,2027,本科,普通,no\n"  # missing name
            + "360426199101010071,赵六,20230005,计算机学院,1班,2027,硕士,普通,no\n"  # unknown level
            + "360426199101010071,钱七,20230006,计算机学院,1班,2027,本科,自费,maybe\n")
    found = problems(text)
    assert "checksum" in found[3]
    assert "duplicate id_number (first on line 2)" in found[4]
    assert "missing field(s): name" in found[5]
    assert "unknown level '硕士'" in found[6]
    assert "unknown category '自费'" in found[7] and "captured_before 'maybe'" in found[7]
    assert 2 not in found


def test_header_missing_columns_is_line_one():
    assert "lacks column(s): captured_before" in problems(HEADER.replace(",captured_before", "") + GOOD)[1]


def test_quoted_multiline_field_reports_the_physical_line():
    text = HEADER + GOOD + '360426199101010071,"孙\n八",20230002,计算机学院,1班,2027,本科,普通,no\n' + "bad\n"
    found = problems(text)
    assert list(found) == [4, 5]  # the quoted row ends on line 4; a line break is no part of a name
    assert "bad name: contains an invisible or control character U+000A" in found[4]


def test_nothing_is_imported_when_any_row_is_bad(tmp_path):
    conn = db.connect(tmp_path / "booth.db")
    roster = Roster(conn)
    bad = tmp_path / "roster.csv"
    bad.write_text(HEADER + GOOD + "360426199101010072,李四,1,计算机学院,1班,2027,本科,普通,no\n", encoding="utf-8")
    with pytest.raises(RosterImportError) as info:
        roster.upsert(read_roster_file(bad))
    assert "checksum" in str(info.value.problems[0]) and roster.count() == 0


def test_excel_exports_in_gb18030_and_with_bom_are_read(tmp_path):
    for encoding in ("gb18030", "utf-8-sig"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes((HEADER + GOOD).encode(encoding))
        assert read_roster_file(path)[0].name == "张三"


@pytest.mark.parametrize(("start", "named"), [
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "an Excel 97-2003 workbook (.xls)"),
    ((HEADER + GOOD).replace(",", "\t").encode("utf-16"), "UTF-16 text (Excel's \"Unicode Text\")"),
])
def test_a_workbook_or_utf16_file_is_named_with_how_to_save_it_as_csv(tmp_path, start, named):
    path = tmp_path / "roster.csv"  # the office renames files too
    path.write_bytes(start)
    with pytest.raises(RosterImportError) as info:
        read_roster_file(path)
    assert info.value.report() == (f"{path}: nothing imported: the file is {named}, not CSV text: in Excel use "
                                   '另存为 / Save As, type "CSV UTF-8 (逗号分隔)(*.csv)", and import that file')


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(RosterImportError) as info:
        read_roster_file(tmp_path / "absent.csv")
    assert "cannot read file" in str(info.value.problems[0])


def test_import_is_an_upsert_by_id_number(tmp_path):
    roster = Roster(db.connect(tmp_path / "booth.db"))
    roster.upsert(parse_roster(HEADER + GOOD))
    roster.upsert(parse_roster(HEADER + GOOD.replace("1班", "2班")))
    assert roster.count() == 1 and roster.lookup("11010519491231002X").class_name == "2班"
    assert roster.classes() == [("计算机学院", "2班", 1)]


def test_cli_import_reports_problems_and_exit_2(tmp_path, capsys):
    from appliance.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + GOOD + GOOD, encoding="utf-8")
    assert main(["roster", "import", "--data", str(tmp_path / "d"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "nothing imported" in err and "line 3: duplicate id_number (first on line 2)" in err
    good = tmp_path / "good.csv"
    good.write_text(roster_csv(generate_roster(4, graduation_year=2027)), encoding="utf-8")
    assert main(["roster", "import", "--data", str(tmp_path / "d"), str(good)]) == 0
    assert "imported 4 graduates in 1 class;" in capsys.readouterr().out
    assert main(["roster", "classes", "--data", str(tmp_path / "d")]) == 0
    assert capsys.readouterr().out == "计算机学院\t计算机2023-1班\t4\n"
    one = tmp_path / "one.csv"
    one.write_text(roster_csv(generate_roster(1, graduation_year=2027)), encoding="utf-8")
    assert main(["roster", "import", "--data", str(tmp_path / "e"), str(one)]) == 0
    assert "imported 1 graduate in 1 class;" in capsys.readouterr().out  # not "1 graduates"


def test_importing_another_years_roster_warns_that_every_card_would_be_refused(tmp_path, capsys):
    """The technician imported last year's file (or the booth's graduation_year is wrong): it was
    'imported 3 graduates' and nothing else, and every card of the class was then refused."""
    from appliance.cli import main

    old = tmp_path / "old.csv"
    old.write_text(roster_csv(generate_roster(3, graduation_year=2026)), encoding="utf-8")
    assert main(["roster", "import", "--data", str(tmp_path / "d"), str(old)]) == 0
    captured = capsys.readouterr()
    assert "imported 3 graduates in 1 class;" in captured.out
    assert captured.err.splitlines() == [
        "warning: none of them graduates in booth.graduation_year 2027 (the file's years: 2026): the booth refuses "
        "every one as not this year; import 2027's roster, or fix booth.graduation_year"]
    good = tmp_path / "good.csv"
    good.write_text(roster_csv(generate_roster(3, graduation_year=2027)), encoding="utf-8")
    assert main(["roster", "import", "--data", str(tmp_path / "d"), str(good)]) == 0
    assert capsys.readouterr().err == ""


def test_roster_classes_on_a_mistyped_data_folder_creates_nothing(tmp_path, capsys):
    from appliance.cli import main

    typo = tmp_path / "dta"
    assert main(["roster", "classes", "--data", str(typo)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == [
        f"booth: --data = '{typo}': no booth data there (no booth.db): check the folder, or import a roster "
        "first (booth roster import FILE.csv)"]
    assert not typo.exists()


def test_any_text_is_parsed_or_refused_with_reasons_never_a_crash():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    cell = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24)
    row = st.lists(cell, min_size=0, max_size=11).map(lambda cells: ",".join(cells))
    bodies = st.lists(row, max_size=6).map(lambda rows: "\n".join(rows))

    @settings(max_examples=400, deadline=None)
    @given(st.one_of(bodies, bodies.map(lambda body: HEADER + body), st.text(max_size=300)))
    def parse(text):
        try:
            entries = parse_roster(text)
        except RosterImportError as error:
            assert error.problems and all(problem.reason for problem in error.problems)
        else:
            assert entries

    parse()


def test_created_files_are_not_world_readable(tmp_path, capsys):
    import stat

    from appliance.cli import main

    good = tmp_path / "good.csv"
    good.write_text(roster_csv(generate_roster(2, graduation_year=2027)), encoding="utf-8")
    assert main(["roster", "import", "--data", str(tmp_path / "d"), str(good)]) == 0
    mode = stat.S_IMODE((tmp_path / "d" / "booth.db").stat().st_mode)
    assert mode & 0o007 == 0, oct(mode)
