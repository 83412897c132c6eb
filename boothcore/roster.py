"""The graduates' roster: CSV import (all or nothing) and look-up by the exact ID number.

The roster decides who may be photographed; the CSV comes from the registry export the teaching
secretaries receive, often saved by Excel (UTF-8 with BOM, or GB18030).
"""

from __future__ import annotations

import csv
import enum
import io
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from boothcore import db
from boothcore.idnumber import IdNumberError, validate
from boothcore.names import BadName, check_name, check_student_no, normalize_name

COLUMNS = ("id_number", "name", "student_no", "college", "class", "graduation_year", "level",
           "category", "captured_before")
# A column's other headers, as the registrar's (教务处) and CHSI's (学信网) student-status exports name
# them; a header is compared with spaces removed, full-width letters made narrow (NFKC) and case-folded.
# Columns a file has besides these (性别, 专业, ...) are ignored.
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "id_number": ("身份证号", "身份证号码", "证件号码", "证件号"),
    "name": ("姓名",),
    "student_no": ("学号",),
    "college": ("学院", "院系", "分院", "所在学院"),
    "class": ("班级", "班级名称"),
    "graduation_year": ("毕业年份", "毕业年度", "届别"),
    "level": ("层次", "培养层次"),
    "category": ("类别", "培养方式"),
    "captured_before": ("是否已采集", "已采集", "往年已采集"),
}
LEVELS = ("本科", "专科")
CATEGORIES = ("普通", "委培")
# captured_before as people's files spell it (Excel exports TRUE/FALSE), compared case-folded.
YES_NO = {"yes": True, "no": False, "y": True, "n": False, "true": True, "false": False, "是": True,
          "否": False, "1": True, "0": False}
YES_NO_SPELLINGS = "yes/no, y/n, true/false, 是/否, 1/0"
# Each name column and the rule that makes it canonical (boothcore.names).
NAME_RULES: dict[str, Callable[[str], str]] = {"name": check_name, "student_no": check_student_no,
                                               "college": check_name, "class": check_name}

SCHEMA = """
CREATE TABLE IF NOT EXISTS roster (
    id_number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    student_no TEXT NOT NULL,
    college TEXT NOT NULL,
    class_name TEXT NOT NULL,
    graduation_year INTEGER NOT NULL,
    level TEXT NOT NULL,
    category TEXT NOT NULL,
    captured_before INTEGER NOT NULL,
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX IF NOT EXISTS roster_class ON roster (college, class_name)
"""


class Category(enum.StrEnum):
    REGULAR = "普通"
    ENTRUSTED = "委培"


@dataclass(frozen=True)
class RosterEntry:
    id_number: str
    name: str
    student_no: str
    college: str
    class_name: str
    graduation_year: int
    level: str
    category: str
    captured_before: bool

    def __repr__(self) -> str:
        from boothcore.privacy import mask_id, mask_name

        return f"RosterEntry({mask_id(self.id_number)}, {mask_name(self.name)}, {self.class_name})"

    def as_row(self) -> dict[str, str]:
        """The entry in the import format's columns (``COLUMNS``, text as in the CSV): what
        ``parse_rows`` reads back, in a CSV file or a roster pushed by central."""
        return {"id_number": self.id_number, "name": self.name, "student_no": self.student_no,
                "college": self.college, "class": self.class_name, "graduation_year": str(self.graduation_year),
                "level": self.level, "category": self.category,
                "captured_before": "yes" if self.captured_before else "no"}


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class RosterImportError(Exception):
    """The file was refused as a whole; ``problems`` lists every bad row."""

    def __init__(self, source: str, problems: list[RowProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: nothing imported; {len(problems)} problem(s)")

    def report(self) -> str:
        """What the booth and the office print: one line for a problem with the whole file (it
        cannot be read, is empty, lacks columns), else the summary line, then every bad row."""
        if len(self.problems) == 1 and self.problems[0].line <= 1:
            return f"{self.source}: nothing imported: {self.problems[0].reason}"
        return "\n".join([f"{self}:", *(f"  {problem}" for problem in self.problems)])


# What an office PC saves that is not CSV text, told by its first bytes (the zip and OLE2 signatures
# of Excel's and WPS's workbooks, the byte-order marks of UTF-16, Excel's "Unicode Text").
NOT_CSV = ((b"PK\x03\x04", "an Excel workbook (.xlsx)"), (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
           (b"\xff\xfe", "UTF-16 text (Excel's \"Unicode Text\")"), (b"\xfe\xff", "UTF-16 text"))
SAVE_AS_CSV = 'in Excel use 另存为 / Save As, type "CSV UTF-8 (逗号分隔)(*.csv)", and import that file'


def decode_csv(raw: bytes) -> str:
    """A CSV file's text: UTF-8 (with or without a BOM) or GB18030, as Excel saves it. A workbook or
    UTF-16 file is named as such, with how to save it as CSV."""
    for signature, kind in NOT_CSV:
        if raw.startswith(signature):
            raise RosterImportError("roster", [RowProblem(1, f"the file is {kind}, not CSV text: {SAVE_AS_CSV}")])
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterImportError("roster", [RowProblem(1, f"file is neither UTF-8 nor GB18030 text: {SAVE_AS_CSV}")])


def _yes_no(raw: str) -> bool | None:
    return YES_NO.get(unicodedata.normalize("NFKC", raw).strip().casefold())


def _parse_row(line: int, row: Mapping[str, str | None], seen: dict[str, int],
               problems: list[RowProblem]) -> RosterEntry | None:
    raw = {key: row.get(key) or "" for key in COLUMNS}
    missing = [key for key in COLUMNS if not normalize_name(raw[key])]
    if missing:
        problems.append(RowProblem(line, f"missing field(s): {', '.join(missing)}"))
        return None
    before = len(problems)
    try:
        id_number = validate(raw["id_number"])
    except IdNumberError as error:
        problems.append(RowProblem(line, f"bad id_number: {error.en}"))
        id_number = ""
    if id_number and id_number in seen:
        problems.append(RowProblem(line, f"duplicate id_number (first on line {seen[id_number]})"))
    elif id_number:
        seen[id_number] = line
    names: dict[str, str] = {}
    for key, rule in NAME_RULES.items():
        try:
            names[key] = rule(raw[key])
        except BadName as error:
            problems.append(RowProblem(line, f"bad {key}: {error.reason}"))
    level, category = normalize_name(raw["level"]), normalize_name(raw["category"])
    if level not in LEVELS:
        problems.append(RowProblem(line, f"unknown level '{level[:20]}' (allowed: {', '.join(LEVELS)})"))
    if category not in CATEGORIES:
        problems.append(RowProblem(
            line, f"unknown category '{category[:20]}' (allowed: {', '.join(CATEGORIES)})"))
    year_text = unicodedata.normalize("NFKC", raw["graduation_year"]).strip()
    if not (year_text.isdecimal() and year_text.isascii() and 2000 <= int(year_text) <= 2100):
        problems.append(RowProblem(line, f"graduation_year '{year_text[:20]}' is not a year (2000-2100)"))
    captured = _yes_no(raw["captured_before"])
    if captured is None:
        problems.append(RowProblem(line, f"captured_before '{raw['captured_before'].strip()[:20]}' must be "
                                         f"yes or no ({YES_NO_SPELLINGS})"))
    if len(problems) > before:
        return None
    return RosterEntry(id_number=id_number, name=names["name"], student_no=names["student_no"],
                       college=names["college"], class_name=names["class"],
                       graduation_year=int(year_text), level=level,
                       category=category, captured_before=bool(captured))


def _header_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


_HEADER_COLUMNS = {_header_key(alias): column for column, aliases in HEADER_NAMES.items()
                   for alias in (column, *aliases)}


def _columns(fields: list[str]) -> list[str]:
    """Each header cell as its column (``COLUMNS``, from an English or a Chinese header), or as it is
    when it names none; RowProblem (line 1) for a header without a column or with one twice."""
    found = [_HEADER_COLUMNS.get(_header_key(name), normalize_name(name)) for name in fields]
    twice = sorted({c for c in found if c in COLUMNS and found.count(c) > 1}, key=COLUMNS.index)
    if twice:
        raise RosterImportError("roster", [RowProblem(1, "the header names a column twice: " + "; ".join(
            f"{column} as {' and '.join(f for f, c in zip(fields, found, strict=True) if c == column)}"
            for column in twice))])
    missing = [column for column in COLUMNS if column not in found]
    if missing:
        for mark, kind in ((";", "semicolons (;)"), ("\t", "tabs")):
            if len(fields) == 1 and mark in fields[0]:  # one "column": the file is not comma-separated
                raise RosterImportError("roster", [RowProblem(
                    1, f"the columns are separated by {kind}, not commas: {SAVE_AS_CSV}")])
        accepted = "; ".join(f"{column} ({'/'.join(HEADER_NAMES[column])})" for column in missing)
        raise RosterImportError("roster", [RowProblem(1, f"header lacks column(s): {accepted}")])
    return found


def parse_roster(text: str, source: str = "roster") -> list[RosterEntry]:
    """Parse CSV text; raise RosterImportError listing every bad row (line numbers as in the file).
    The header may name the columns in English (``COLUMNS``) or in Chinese (``HEADER_NAMES``)."""
    if not text.strip():
        raise RosterImportError(source, [RowProblem(1, "the file is empty (no header, no graduates)")])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        reader.fieldnames = _columns(list(reader.fieldnames or []))
    except RosterImportError as error:
        raise RosterImportError(source, error.problems) from None
    problems: list[RowProblem] = []
    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(normalize_name(value) for value in row.values() if isinstance(value, str)):
            continue  # blank line
        if None in row:
            problems.append(RowProblem(line, "more fields than the header"))
            continue
        entry = _parse_row(line, row, seen, problems)
        if entry:
            entries.append(entry)
    if problems:
        raise RosterImportError(source, problems)
    if not entries:
        raise RosterImportError(source, [RowProblem(2, "the file has a header but no graduates")])
    return entries


def parse_rows(rows: Iterable[dict[str, object]], source: str = "roster update") -> list[RosterEntry]:
    """Validate roster rows pushed by central (same columns as the CSV); row numbers count from 1."""
    problems: list[RowProblem] = []
    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        text = {key: "" if row.get(key) is None else str(row.get(key)) for key in COLUMNS}
        if isinstance(row.get("captured_before"), bool):
            text["captured_before"] = "yes" if row["captured_before"] else "no"
        entry = _parse_row(number, text, seen, problems)
        if entry:
            entries.append(entry)
    if problems or not entries:
        raise RosterImportError(source, problems or [RowProblem(1, "no rows")])
    return entries


def read_roster_file(path: str | Path) -> list[RosterEntry]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RosterImportError(str(path), [RowProblem(0, f"cannot read file: {error.strerror}")]) from None
    try:
        return parse_roster(decode_csv(raw), str(path))
    except RosterImportError as error:
        raise RosterImportError(str(path), error.problems) from None


# Insert or update a roster row by ID number; the last value is imported_at (``roster_rows``).
UPSERT = ("INSERT INTO roster (id_number, name, student_no, college, class_name, graduation_year,"
          " level, category, captured_before, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
          " ON CONFLICT(id_number) DO UPDATE SET name=excluded.name, student_no=excluded.student_no,"
          " college=excluded.college, class_name=excluded.class_name,"
          " graduation_year=excluded.graduation_year, level=excluded.level,"
          " category=excluded.category, captured_before=excluded.captured_before,"
          " imported_at=excluded.imported_at")


def roster_rows(entries: Iterable[RosterEntry], imported_at: str) -> list[tuple[object, ...]]:
    """The parameters of ``UPSERT`` for each entry."""
    return [(e.id_number, e.name, e.student_no, e.college, e.class_name, e.graduation_year, e.level,
             e.category, int(e.captured_before), imported_at) for e in entries]


def upsert_entries(conn: sqlite3.Connection, entries: Iterable[RosterEntry]) -> int:
    """Insert or update roster rows by ID number in one transaction (booth and central share the table)."""
    rows = roster_rows(entries, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with db.transaction(conn):
        conn.executemany(UPSERT, rows)
    return len(rows)


def entry_problem(entry: RosterEntry) -> str | None:
    """Why a stored entry breaks today's rules (a row imported by an older version), or None.

    The booth refuses such a person (the upload would refuse the photo) and reports the row at start.
    """
    try:
        if validate(entry.id_number) != entry.id_number:
            return "bad id_number: not in canonical form"
    except IdNumberError as error:
        return f"bad id_number: {error.en}"
    values = {"name": entry.name, "student_no": entry.student_no, "college": entry.college,
              "class": entry.class_name}
    for key, rule in NAME_RULES.items():
        try:
            if rule(values[key]) != values[key]:
                return f"bad {key}: not in canonical form (spaces or Unicode normalisation)"
        except BadName as error:
            return f"bad {key}: {error.reason}"
    return None


def entry_from_row(row: db.RowLike) -> RosterEntry:
    return RosterEntry(id_number=row["id_number"], name=row["name"], student_no=row["student_no"],
                       college=row["college"], class_name=row["class_name"],
                       graduation_year=row["graduation_year"], level=row["level"],
                       category=row["category"], captured_before=bool(row["captured_before"]))


class Roster:
    """The roster table in the booth database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        db.apply_schema(conn, SCHEMA)

    def upsert(self, entries: Iterable[RosterEntry]) -> int:
        """Insert or update every entry in one transaction; return how many rows were written."""
        return upsert_entries(self.conn, entries)

    def lookup(self, id_number: str) -> RosterEntry | None:
        row = self.conn.execute("SELECT * FROM roster WHERE id_number = ?", (id_number,)).fetchone()
        return entry_from_row(row) if row else None

    def class_members(self, college: str, class_name: str) -> list[RosterEntry]:
        rows = self.conn.execute(
            "SELECT * FROM roster WHERE college = ? AND class_name = ? ORDER BY student_no",
            (college, class_name)).fetchall()
        return [entry_from_row(row) for row in rows]

    def classes(self) -> list[tuple[str, str, int]]:
        """(college, class, size) for every class on the roster."""
        rows = self.conn.execute(
            "SELECT college, class_name, COUNT(*) FROM roster GROUP BY college, class_name"
            " ORDER BY college, class_name").fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    def count(self, graduation_year: int | None = None) -> int:
        """Rows on the roster (of ``graduation_year`` only, when given)."""
        if graduation_year is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM roster").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM roster WHERE graduation_year = ?",
                                     (graduation_year,)).fetchone()[0])

    def invalid_entries(self) -> list[tuple[RosterEntry, str]]:
        """Stored rows that break today's rules, each with its reason (``entry_problem``)."""
        found = []
        for row in self.conn.execute("SELECT * FROM roster ORDER BY id_number"):
            entry = entry_from_row(row)
            if problem := entry_problem(entry):
                found.append((entry, problem))
        return found
