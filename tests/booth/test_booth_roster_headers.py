"""Roster headers as the registrar (教务处) exports them: Chinese column names are read as the English
ones, by the booth and by the office alike (one parser, ``boothcore.roster``); a semicolon- or
tab-separated file and a header that lacks columns are one line saying what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli import main as booth
from boothcore.roster import COLUMNS, HEADER_NAMES, RosterImportError, read_roster_file

REPO = Path(__file__).resolve().parents[2]
FIELD = REPO.parent / "shared" / "cases" / "field" / "roster-excel-booleans.csv"
CHINESE = {"id_number": "身份证号", "name": "姓名", "student_no": "学号", "college": "学院", "class": "班级",
           "graduation_year": "毕业年份", "level": "层次", "category": "类别", "captured_before": "是否已采集"}


def _registrar_export(folder: Path, encoding: str = "gb18030") -> Path:
    """The field roster with the registrar's Chinese header, in its own column order, with columns we
    do not use (性别, 专业) among them, saved by Excel as GB18030."""
    lines = FIELD.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    order = ["student_no", "name", "性别", "id_number", "college", "专业", "class", "graduation_year", "level",
             "category", "captured_before"]
    rows = [dict(zip(header, line.split(","), strict=True)) | {"性别": "女", "专业": "计算机科学与技术"}
            for line in lines[1:]]
    text = ",".join(CHINESE.get(column, column) for column in order) + "\r\n"
    text += "".join(",".join(row[column] for column in order) + "\r\n" for row in rows)
    path = folder / "教务处导出.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_registrar_export_with_chinese_headers_reads_as_the_english_one(tmp_path: Path):
    chinese = read_roster_file(_registrar_export(tmp_path))
    english = read_roster_file(FIELD)
    assert chinese == english and len(chinese) == 4


def test_the_booth_and_the_office_import_it(tmp_path: Path, capsys):
    path = _registrar_export(tmp_path)
    assert booth(["roster", "import", "--data", str(tmp_path / "booth"), str(path)]) == 0
    assert "imported 4 graduates in 1 class;" in capsys.readouterr().out
    toml = tmp_path / "central.toml"
    toml.write_text(f'[storage]\ndata_dir = "{tmp_path / "central"}"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "central.cli", "roster", "import", str(path), "--config", str(toml)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0 and done.stdout == f"imported 4 graduates in 1 class from {path}\n", done.stderr


@pytest.mark.parametrize(("separator", "kind"), [(";", "semicolons (;)"), ("\t", "tabs")])
def test_a_file_not_separated_by_commas_is_named_as_such(tmp_path: Path, separator: str, kind: str):
    path = tmp_path / "roster.csv"
    path.write_text(FIELD.read_text(encoding="utf-8-sig").replace(",", separator), encoding="utf-8")
    with pytest.raises(RosterImportError) as caught:
        read_roster_file(path)
    assert caught.value.report() == (f"{path}: nothing imported: the columns are separated by {kind}, not commas: "
                                     'in Excel use 另存为 / Save As, type "CSV UTF-8 (逗号分隔)(*.csv)", and import '
                                     "that file")


def test_a_header_without_a_column_names_it_and_its_accepted_names(tmp_path: Path, capsys):
    path = tmp_path / "roster.csv"
    text = FIELD.read_text(encoding="utf-8-sig")
    path.write_text(text.replace("id_number,", "证件编号,", 1).replace(",captured_before", ",备注", 1),
                    encoding="utf-8")
    assert booth(["roster", "import", "--data", str(tmp_path / "booth"), str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: nothing imported: header lacks column(s): id_number (身份证号/身份证号码/证件号码/证件号); "
        "captured_before (是否已采集/已采集/往年已采集)"]
    assert not (tmp_path / "booth" / "booth.db").exists()


def test_a_column_named_twice_is_refused(tmp_path: Path):
    path = tmp_path / "roster.csv"
    lines = FIELD.read_text(encoding="utf-8-sig").splitlines()
    path.write_text("\n".join([lines[0] + ",姓名", *(line + ",某某" for line in lines[1:])]) + "\n",
                    encoding="utf-8")
    with pytest.raises(RosterImportError) as caught:
        read_roster_file(path)
    assert caught.value.report().endswith("nothing imported: the header names a column twice: name as name and 姓名")


def test_every_column_has_its_chinese_names_and_they_name_one_column_each():
    assert set(HEADER_NAMES) == set(COLUMNS)
    names = [alias for aliases in HEADER_NAMES.values() for alias in aliases]
    assert len(names) == len(set(names))
