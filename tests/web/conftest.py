"""Fixtures for the dashboard and export tests: a central store with a roster of two colleges,
real CHSI photos stored through ``PhotoArchive``, and one user of each role.

Every test's log is scanned: no full ID number may reach it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from appliance.quality.chsi_file import encode_chsi_jpeg
from boothcore.chsi import OutputSection
from boothcore.idnumber import make_id_number
from boothcore.roster import RosterEntry
from central.config import CentralConfig, parse_central_config
from central.photos import PhotoArchive
from central.store import PhotoRecord, SqlStore, open_store
from central.users import Users
from tests.central.conftest import store_one

PASSWORD = "correct horse 1"
COLLEGES = {"信息学院": ["计科2301", "计科2302"], "外语学院": ["英语2301"]}
CLASS_SIZE = 6
PHOTOGRAPHED = 4  # of each class's students, the first ones by student number


@functools.cache
def chsi_jpeg(seed: int) -> bytes:
    """A real 480x640 CHSI file (300 dpi, size in the booth's range), different for every seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:640, 0:480]
    base = np.stack([(x * 255 // 480), (y * 255 // 640), np.full_like(x, 90 + seed % 100)], axis=-1)
    noisy = np.clip(base + rng.normal(0, 14, base.shape), 0, 255).astype(np.uint8)
    return encode_chsi_jpeg(noisy, OutputSection())


@dataclass
class Office:
    config: CentralConfig
    store: SqlStore
    roster: list[RosterEntry]
    photographed: set[str]

    def of(self, college: str, class_name: str) -> list[RosterEntry]:
        return [e for e in self.roster if e.college == college and e.class_name == class_name]


def make_roster() -> list[RosterEntry]:
    entries = []
    seq = 0
    for college, classes in COLLEGES.items():
        for class_name in classes:
            for index in range(CLASS_SIZE):
                seq += 1
                entries.append(RosterEntry(
                    id_number=make_id_number("110105", dt.date(2003, 1, 1) + dt.timedelta(days=seq), seq),
                    name=f"张{'三四五六七八'[index]}{seq}", student_no=f"2023{seq:05d}", college=college,
                    class_name=class_name, graduation_year=2027, level="本科", category="普通",
                    captured_before=False))
    return entries


def photograph(store: SqlStore, archive: PhotoArchive, entry: RosterEntry, booth: str = "booth-01",
               seed: int = 0, booth_checks: dict | None = None) -> PhotoRecord:
    data = chsi_jpeg(seed or int(entry.student_no))
    record = PhotoRecord(photo_id=uuid.uuid4().hex, booth=booth, id_number=entry.id_number,
                         student_no=entry.student_no, college=entry.college, class_name=entry.class_name,
                         session_id="s-1", attempt=1, captured_at="2026-11-30T09:00:00+08:00", size=len(data),
                         sha256=hashlib.sha256(data).hexdigest(), path="", booth_checks=booth_checks)
    return store_one(archive, store, record, data).record


def build_office(data_dir: Path, db_url: str = "sqlite:central.db", **config: dict) -> Office:
    """A store (``db_url``, files in ``data_dir``) with the roster, the first students of each class
    photographed, and users admin, viewer and sec (secretary of 外语学院), all with ``PASSWORD``."""
    config = parse_central_config({"storage": {"data_dir": str(data_dir), "db_url": db_url},
                                   "ingest": {"known_booths": ["booth-01", "booth-09"]}, **config})
    data_dir.mkdir(parents=True)
    store = open_store(db_url, base=data_dir)
    roster = make_roster()
    store.import_roster(roster)
    archive = PhotoArchive(data_dir)
    photographed = set()
    for college, classes in COLLEGES.items():
        for class_name in classes:
            members = sorted((e for e in roster if e.college == college and e.class_name == class_name),
                             key=lambda e: e.student_no)
            for entry in members[:PHOTOGRAPHED]:
                photograph(store, archive, entry)
                photographed.add(entry.id_number)
    users = Users(store.conn)
    users.add("admin", "admin", PASSWORD)
    users.add("viewer", "viewer", PASSWORD)
    users.add("sec", "secretary", PASSWORD, "外语学院")
    return Office(config, store, roster, photographed)


@pytest.fixture
def office(tmp_path: Path, db_url: str) -> Iterator[Office]:
    """The office on each engine (``db_url``)."""
    built = build_office(tmp_path / "central", db_url)
    yield built
    built.store.close()
