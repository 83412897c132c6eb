"""The colleges' schedule: which class is at which booth when (CSV import), and each class's standing.

The CSV has the columns ``college, class, booth, date, start, end`` (``2027-05-20``, ``08:30``,
``09:10``; also as Excel in a Chinese locale saves date and time cells, ``2027/5/20``, ``8:30`` or
``8:30:00``, and with full-width digits and colon), one slot per line, in the office's local time
(``web.timezone``); UTF-8 with or without a BOM, or GB18030, as Excel saves it. It is checked as a
whole, like the roster: every bad line is
named by its line number and nothing is imported. A class must be on the roster, a booth id must
be valid, a slot must end after it starts on its own date, and one booth cannot hold two
overlapping slots. An import replaces the slots of every college it names (a college sends its
whole schedule).

A slot never crosses midnight (22:00-01:00 is refused, naming the line and the fix): the booths
open a class only within a day's service hours (``appliance.config.TimeWindow``, which do not cross
midnight either), photo sessions are daytime, and an end before its start is far more often a slip
(a 12-hour time, 09:00-01:00 for 13:00; swapped columns) than a night session; read as the next day
it would hold the booth for 16 hours and show the class as due all night. A session that does run
overnight is two lines, the first ending at 24:00 (the end of its date, as the booth's hours allow).

A class's standing against the schedule (``standing``), first that applies:
done (nobody left to photograph), in progress (a booth online has the class open), due (now is
inside one of its slots, but no booth has it open), late (its last slot ended with students
missing), upcoming (its next slot is ahead), unscheduled (no slot).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

from boothcore.names import BadName, check_name, normalize_name
from boothcore.protocol import BOOTH_ID_PATTERN
from boothcore.roster import RosterImportError, RowProblem, decode_csv
from central.store import ClassProgress, ScheduleSlot, utc

COLUMNS = ("college", "class", "booth", "date", "start", "end")
_BOOTH = re.compile(BOOTH_ID_PATTERN)
# 2027-05-20, or as Excel in a Chinese locale saves a date cell (2027/5/20).
_DATE = re.compile(r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})$")
# 08:30, or as Excel saves a time cell (8:30, 8:30:00).
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")

DONE, IN_PROGRESS, DUE, LATE, UPCOMING, UNSCHEDULED = "done", "in_progress", "due", "late", "upcoming", "unscheduled"
STANDING_LABELS = {DONE: ("已完成", "done"), IN_PROGRESS: ("拍摄中", "in progress"), DUE: ("应到场", "due now"),
                   LATE: ("逾期", "late"), UPCOMING: ("待拍", "upcoming"), UNSCHEDULED: ("未排期", "not scheduled")}


class ScheduleImportError(RosterImportError):
    """The schedule file was refused as a whole; reported like a roster import (``report()``)."""


def _moment(day: str, clock: str, zone: ZoneInfo) -> str:
    """``clock`` (HH:MM, or 24:00 = the end of ``day``) on ``day`` in ``zone``, as sortable UTC."""
    hour, minute = (int(part) for part in clock.split(":"))
    local = dt.datetime.fromisoformat(day).replace(tzinfo=zone) + dt.timedelta(hours=hour, minutes=minute)
    return utc(local.isoformat())


def _parse_line(line: int, row: dict[str, str], classes: set[tuple[str, str]], zone: ZoneInfo,
                problems: list[RowProblem], college: str | None) -> ScheduleSlot | None:
    raw = {key: normalize_name(row.get(key) or "") for key in COLUMNS}
    for key in ("date", "start", "end"):  # full-width digits and colon, as a Chinese input method types them
        raw[key] = unicodedata.normalize("NFKC", raw[key])
    missing = [key for key in COLUMNS if not raw[key]]
    if missing:
        problems.append(RowProblem(line, f"missing field(s): {', '.join(missing)}"))
        return None
    before = len(problems)
    names = {}
    for key in ("college", "class"):
        try:
            names[key] = check_name(raw[key])
        except BadName as error:
            problems.append(RowProblem(line, f"bad {key}: {error.reason}"))
    if college is not None and names.get("college", college) != college:
        problems.append(RowProblem(line, f"college {names['college']}: a secretary of {college} imports only "
                                         f"{college}'s slots"))
    elif len(names) == 2 and (names["college"], names["class"]) not in classes:
        problems.append(RowProblem(line, f"class {names['college']} / {names['class']} is not on the roster "
                                         "(import the roster first, or fix the names)"))
    if not _BOOTH.match(raw["booth"]):
        problems.append(RowProblem(line, f"bad booth '{raw['booth'][:40]}': a-z, 0-9, '-', up to 32"))
    try:
        if not (date := _DATE.match(raw["date"])):
            raise ValueError
        raw["date"] = dt.date(int(date[1]), int(date[3]), int(date[4])).isoformat()
    except ValueError:
        problems.append(RowProblem(line, f"bad date '{raw['date'][:20]}': use YYYY-MM-DD, e.g. 2027-05-20"))
    for key in ("start", "end"):
        if clock := _TIME.match(raw[key]):
            raw[key] = f"{int(clock[1]):02d}:{clock[2]}"
        end_of_day = key == "end" and raw[key] == "24:00"
        if not (clock and ((int(clock[1]) < 24 and int(clock[2]) < 60) or end_of_day)):
            problems.append(RowProblem(line, f"bad {key} '{raw[key][:20]}': use HH:MM (24-hour), e.g. 08:30"
                                             + (" (24:00 for the end of the day)" if key == "end" else "")))
    if len(problems) > before:
        return None
    start, end = raw["start"], raw["end"]
    if end == start:
        problems.append(RowProblem(line, f"end {end} is not after start {start}"))
        return None
    if end < start:
        next_day = dt.date.fromisoformat(raw["date"]) + dt.timedelta(days=1)
        problems.append(RowProblem(line, f"end {end} is before start {start}: a slot cannot cross midnight (a booth "
                                         "opens a class only within one day's hours); if the session really runs "
                                         f"overnight, write two lines, {raw['date']} {start}-24:00 and {next_day} "
                                         f"00:00-{end}; otherwise fix the time (24-hour clock: 13:00 for 1 pm)"))
        return None
    return ScheduleSlot(college=names["college"], class_name=names["class"], booth=raw["booth"],
                        slot_date=raw["date"], start_time=start, end_time=end,
                        starts_at=_moment(raw["date"], start, zone), ends_at=_moment(raw["date"], end, zone))


def parse_schedule(text: str, classes: set[tuple[str, str]], zone: ZoneInfo, source: str = "schedule",
                   college: str | None = None) -> list[ScheduleSlot]:
    """Parse CSV text; ScheduleImportError lists every bad line (numbered as in the file).

    ``college``: only this college's slots are allowed (a secretary's import).
    """
    if not text.strip():
        raise ScheduleImportError(source, [RowProblem(1, "the file is empty (no header, no slots)")])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [normalize_name(name) for name in (reader.fieldnames or [])]
    absent = [column for column in COLUMNS if column not in header]
    if absent:
        raise ScheduleImportError(source, [RowProblem(1, f"header lacks column(s): {', '.join(absent)} "
                                                         f"(expected {', '.join(COLUMNS)})")])
    reader.fieldnames = header
    problems: list[RowProblem] = []
    slots: list[tuple[int, ScheduleSlot]] = []
    for row in reader:
        line = reader.line_num
        if not any(normalize_name(value) for value in row.values() if isinstance(value, str)):
            continue  # a blank line
        if None in row:
            problems.append(RowProblem(line, "more fields than the header"))
            continue
        slot = _parse_line(line, row, classes, zone, problems, college)
        if slot is not None:
            slots.append((line, slot))
    problems += _overlaps(slots)
    if problems:
        raise ScheduleImportError(source, sorted(problems, key=lambda problem: problem.line))
    if not slots:
        raise ScheduleImportError(source, [RowProblem(2, "the file has a header but no slots")])
    return [slot for _, slot in slots]


def _overlaps(slots: list[tuple[int, ScheduleSlot]]) -> list[RowProblem]:
    """A booth holds one class at a time: a slot that overlaps an earlier one of its booth."""
    problems = []
    by_booth: dict[str, list[tuple[int, ScheduleSlot]]] = {}
    for line, slot in slots:
        by_booth.setdefault(slot.booth, []).append((line, slot))
    for booth, held in by_booth.items():
        held.sort(key=lambda item: item[1].starts_at)
        first_line, first = held[0]  # of the slots so far, the one that ends last
        for line, slot in held[1:]:
            if slot.starts_at < first.ends_at:
                problems.append(RowProblem(line, f"booth {booth} is taken {first.slot_date} {first.start_time}-"
                                                 f"{first.end_time} by {first.college} / {first.class_name} (line "
                                                 f"{first_line}): give this slot another time or booth"))
            if slot.ends_at > first.ends_at:
                first_line, first = line, slot
    return problems


def read_schedule_file(path: str | Path, classes: set[tuple[str, str]], zone: ZoneInfo) -> list[ScheduleSlot]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ScheduleImportError(str(path), [RowProblem(0, f"cannot read file: {error.strerror}")]) from None
    return parse_upload(raw, classes, zone, str(path))


def parse_upload(raw: bytes, classes: set[tuple[str, str]], zone: ZoneInfo, source: str,
                 college: str | None = None) -> list[ScheduleSlot]:
    """The bytes of a schedule CSV (a file, or a dashboard upload) as slots (``college``: see parse_schedule)."""
    try:
        text = decode_csv(raw)
    except RosterImportError as error:
        raise ScheduleImportError(source, error.problems) from None
    return parse_schedule(text, classes, zone, source, college)


def standing(progress: ClassProgress, slots: Iterable[ScheduleSlot], open_now: bool, now: str) -> str:
    """The class's standing (module docstring); ``now`` and the slots' times are sortable UTC text."""
    if progress.roster_size and not progress.missing:
        return DONE
    if open_now:
        return IN_PROGRESS
    times = [(slot.starts_at, slot.ends_at) for slot in slots]
    if any(start <= now < end for start, end in times):
        return DUE
    if not times:
        return UNSCHEDULED
    return LATE if max(end for _, end in times) <= now else UPCOMING
