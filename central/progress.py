"""Each class's progress as the office sees it: photographed and missing, refusals by reason, the
retake rate, and its standing against the schedule (``central.schedule.standing``); and each
college's totals with how many of its classes stand where (the dashboard's first progress page:
ten rows instead of a thousand, each college's classes one click further).

Refusals come from the booths' ``card_refused`` events: each names its session, and the session's
``class_opened`` event names the class, so a refusal counts for the class whose session refused
the card (a make-up session has no class: its refusals count for no class). The retake rate is
the share of the class's current photos that took more than one attempt at the booth (the booth's
checks asked for a retake first; ``PhotoRecord.attempt``).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote

from central.schedule import standing
from central.store import ScheduleSlot, Store, utc

ClassKey = tuple[str, str]


class _Counts:
    """What a class row and a college row derive alike from their roster, photo and retake counts."""

    roster_size: int
    photographed: int
    retaken: int

    @property
    def missing(self) -> int:
        return self.roster_size - self.photographed

    @property
    def percent(self) -> int:
        return round(100 * self.photographed / self.roster_size) if self.roster_size else 0

    @property
    def retake_rate(self) -> int:
        """Percent of the current photos that needed a retake at the booth."""
        return round(100 * self.retaken / self.photographed) if self.photographed else 0


@dataclass(frozen=True)
class ClassRow(_Counts):
    college: str
    class_name: str
    roster_size: int
    photographed: int
    retaken: int
    refused: tuple[tuple[str, int], ...]  # (reason code, count), most frequent first
    standing: str  # central.schedule's DONE, IN_PROGRESS, ...
    slot: str  # the slot that matters now (current, else next, else last), in local time; "" if none
    last_activity: str

    @property
    def refused_total(self) -> int:
        return sum(count for _, count in self.refused)

    @functools.cached_property
    def url(self) -> str:
        """The class page (quoted once per row: the progress table links it twice)."""
        return f"/classes/{quote(self.college)}/{quote(self.class_name)}"

    def as_json(self) -> dict[str, object]:
        return {"college": self.college, "class": self.class_name, "roster_size": self.roster_size,
                "photographed": self.photographed, "missing": self.missing, "percent": self.percent,
                "retaken": self.retaken, "retake_rate": self.retake_rate, "refused": dict(self.refused),
                "standing": self.standing, "slot": self.slot, "last_activity": self.last_activity,
                "url": self.url}


def refusals_by_class(store: Store) -> dict[ClassKey, Counter[str]]:
    """Refused cards per class, by reason code (module docstring)."""
    sessions = {(booth, session): (college or "", klass or "")
                for booth, session, college, klass, _ in store.event_tally("class_opened",
                                                                          ("session_id", "college", "class"))}
    counts: dict[ClassKey, Counter[str]] = {}
    for booth, session, reason, count in store.event_tally("card_refused", ("session_id", "reason")):
        key = sessions.get((booth, session))
        if key is not None and key[0]:
            counts.setdefault(key, Counter())[str(reason or "?")] += count
    return counts


def _slot_text(slots: list[ScheduleSlot], now: str) -> str:
    if not slots:
        return ""
    current = [s for s in slots if s.starts_at <= now < s.ends_at]
    ahead = [s for s in slots if s.starts_at > now]
    slot = (current or ahead or slots[-1:])[0]
    return f"{slot.slot_date} {slot.start_time}-{slot.end_time} {slot.booth}"


def class_rows(store: Store, now: dt.datetime | None = None, college: str | None = None) -> list[ClassRow]:
    """Every class on the roster (or ``college``'s) with its progress, refusals, retakes and standing."""
    moment = utc((now or dt.datetime.now(dt.UTC)).isoformat())
    refused = refusals_by_class(store)
    slots: dict[ClassKey, list[ScheduleSlot]] = {}
    for slot in store.schedule(college=college):
        slots.setdefault((slot.college, slot.class_name), []).append(slot)
    open_now = {(b.session.get("college", ""), b.session.get("class", "")) for b in store.booths()
                if b.online and b.session and b.session.get("kind") == "class"}
    rows = []
    for progress in store.class_progress(college):
        key = (progress.college, progress.class_name)
        own = slots.get(key, [])
        rows.append(ClassRow(college=progress.college, class_name=progress.class_name,
                             roster_size=progress.roster_size, photographed=progress.photographed,
                             retaken=progress.retaken, refused=tuple(refused.get(key, Counter()).most_common()),
                             standing=standing(progress, own, key in open_now, moment),
                             slot=_slot_text(own, moment), last_activity=progress.last_activity))
    return rows


@dataclass(frozen=True)
class CollegeRow(_Counts):
    college: str
    classes: int
    roster_size: int
    photographed: int
    retaken: int
    refused: tuple[tuple[str, int], ...]  # (reason code, count) over its classes, most frequent first
    standings: dict[str, int]  # how many of its classes stand DONE, LATE, ... (central.schedule)
    last_activity: str

    @property
    def url(self) -> str:
        """The page of its classes."""
        return f"/progress/{quote(self.college)}"


def college_rows(classes: list[ClassRow]) -> list[CollegeRow]:
    """The totals of each college among ``classes``, in the classes' order."""
    grouped: dict[str, list[ClassRow]] = {}
    for row in classes:
        grouped.setdefault(row.college, []).append(row)
    totals = []
    for college, own in grouped.items():
        refused: Counter[str] = Counter()
        for row in own:
            refused.update(dict(row.refused))
        totals.append(CollegeRow(college=college, classes=len(own), roster_size=sum(r.roster_size for r in own),
                                 photographed=sum(r.photographed for r in own), retaken=sum(r.retaken for r in own),
                                 refused=tuple(refused.most_common()),
                                 standings=dict(Counter(r.standing for r in own)),
                                 last_activity=max(r.last_activity for r in own)))
    return totals
