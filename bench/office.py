"""The office dashboard at a university's scale: page times and the registry export rate.

    .venv/bin/python bench/office.py [--booths 200] [--students 50000] [--photos 60000] [--export 10000]
                                     [--store sqlite|postgresql]

Builds a central store of ``--booths`` booths (statuses, telemetry, some error events),
``--students`` roster rows in classes of 50 over 10 colleges (each class opened once with three
refused cards, and one schedule slot), and ``--photos`` photo rows (the
first 80 % of each class photographed, some of them twice, so retakes exist); every stored photo
file is a hard link to one real CHSI JPEG (the bytes are what the export reads and verifies).
Then it times, through Starlette's TestClient as an admin, the median of ``--repeat`` requests of
the fleet page, the progress page (every college's totals), one college's progress page (its
classes), one class's missing list (CSV), one class page (its roster
with who is photographed), one proof-sheet page and its PDF (40 photos embedded), the schedule
page (every slot, each class's standing), one photo page (the file re-checked), and the
registry export of the ``--export`` photos of whole classes (photos/s). Issue 12's targets: the
fleet, progress (both levels), missing-list and proof-sheet pages under 100 ms each, the export at least 500
photos/s. ``--store postgresql`` runs the same on a private PostgreSQL server (Debian's package,
durable settings, started and removed by the bench; tests/postgres_server.py), vacuumed and analysed
after the load as its autovacuum would. Printed, not asserted: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from starlette.testclient import TestClient  # noqa: E402

from boothcore.idnumber import make_id_number  # noqa: E402
from central.config import parse_central_config  # noqa: E402
from central.export import export_chsi  # noqa: E402
from central.sql import POOLS  # noqa: E402
from central.store import SqlStore, open_store, utc  # noqa: E402
from central.users import Users  # noqa: E402
from central.web.app import create_app  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402
from tests.web.conftest import chsi_jpeg  # noqa: E402

CLASS_SIZE = 50
COLLEGES = 10
PASSWORD = "bench password"


def build(store: SqlStore, data_dir: Path, booths: int, students: int, photos: int) -> tuple[str, str, int]:
    """Fill the store; return (college, class) of one class and how many photos the first classes hold."""
    jpeg = chsi_jpeg(7)
    digest = hashlib.sha256(jpeg).hexdigest()
    source = data_dir / "source.jpg"
    source.write_bytes(jpeg)
    now = utc()
    conn = store.conn
    with conn.transaction():
        for index in range(booths):
            booth = f"booth-{index:03d}"
            session = {"id": f"s-{index}", "kind": "class", "college": f"学院{index % COLLEGES}",
                       "class": f"班{index:04d}"}
            conn.execute("INSERT INTO booths (booth, boot, online, state, session_json, queue_depth, disk_free_mb,"
                         " cpu_temp_c, version, status_ts, status_received_at, telemetry_ts)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         (booth, 3, int(index % 17 != 0), "ready", json.dumps(session, ensure_ascii=False), 0,
                          5000.0, 50.0, "0.1.0", now, now, now))
            for event in range(20):
                kind = "error" if event % 10 == 0 else "photo_accepted"
                conn.execute("INSERT INTO events (event_id, booth, ts, kind, data_json, received_at)"
                             " VALUES (?,?,?,?,?,?)", (uuid.uuid4().hex, booth, now, kind,
                                                       json.dumps({"code": "x", "message": "camera"}), now))
        # Every class opened once on a booth, with 3 refused cards each (progress's refusals by reason),
        # and one slot each on the schedule (its standing).
        for klass in range(students // CLASS_SIZE):
            booth, session = f"booth-{klass % booths:03d}", f"c-{klass}"
            opened = {"session_id": session, "college": f"学院{klass % COLLEGES}", "class": f"班{klass:04d}"}
            events = [(uuid.uuid4().hex, booth, now, "class_opened", json.dumps(opened, ensure_ascii=False), now)]
            events += [(uuid.uuid4().hex, booth, now, "card_refused",
                        json.dumps({"reason": reason, "session_id": session}), now)
                       for reason in ("not_on_roster", "other_class", "not_on_roster")]
            conn.executemany("INSERT INTO events (event_id, booth, ts, kind, data_json, received_at)"
                             " VALUES (?,?,?,?,?,?)", events)
            day = dt.date(2027, 5, 10) + dt.timedelta(days=klass // (booths * 10))
            start = 8 * 60 + (klass // booths) % 10 * 45
            conn.execute("INSERT INTO schedule_slots (college, class_name, booth, slot_date, start_time, end_time,"
                         " starts_at, ends_at, imported_at) VALUES (?,?,?,?,?,?,?,?,?)",
                         (f"学院{klass % COLLEGES}", f"班{klass:04d}", booth, day.isoformat(),
                          f"{start // 60:02d}:{start % 60:02d}", f"{(start + 40) // 60:02d}:{(start + 40) % 60:02d}",
                          f"{day.isoformat()}T{start // 60:02d}:{start % 60:02d}:00.000000Z",
                          f"{day.isoformat()}T{(start + 40) // 60:02d}:{(start + 40) % 60:02d}:00.000000Z", now))
        roster = []
        for seq in range(students):
            klass = seq // CLASS_SIZE
            roster.append((make_id_number("110105", dt.date(2000, 1, 1) + dt.timedelta(days=seq // 900), seq % 900),
                           f"学生{seq}", f"2023{seq:06d}", f"学院{klass % COLLEGES}", f"班{klass:04d}", 2027, "本科",
                           "普通", 0))
        conn.executemany("INSERT INTO roster (id_number, name, student_no, college, class_name, graduation_year,"
                         " level, category, captured_before) VALUES (?,?,?,?,?,?,?,?,?)", roster)
        photographed = [row for seq, row in enumerate(roster) if seq % CLASS_SIZE < CLASS_SIZE * 8 // 10]
        rows, files = [], 0
        for n in range(photos):
            person = photographed[n % len(photographed)]
            retake = n >= len(photographed)
            path = f"{person[3]}/{person[4]}/{person[0]}.jpg"
            if not retake:
                target = data_dir / "photos" / path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(source, target)
                files += 1
            rows.append((uuid.uuid4().hex, f"booth-{n % booths:03d}", person[0], person[2], person[3], person[4],
                         "s-1", 2 if retake else 1, now, len(jpeg), digest, path, int(not retake), now))
        conn.executemany("INSERT INTO photos (photo_id, booth, id_number, student_no, college, class_name,"
                         " session_id, attempt, captured_at, size, sha256, path, is_current, stored_at)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.execute("UPDATE photos SET is_current = 0 WHERE attempt = 2")
    Users(conn).add("admin", "admin", PASSWORD)
    if conn.dialect == "postgresql":
        conn.execute("VACUUM ANALYZE")
    return roster[0][3], roster[0][4], files


def median_ms(client: TestClient, path: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--booths", type=int, default=200)
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--photos", type=int, default=60_000)
    parser.add_argument("--export", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-office-") as folder, contextlib.ExitStack() as servers:
        data_dir = Path(folder) / "central"
        (data_dir / "photos").mkdir(parents=True)
        if args.store == "postgresql":
            db_url = servers.enter_context(PostgresServer(durable=True)).create_database()
            servers.callback(POOLS.close_all)  # the dashboard threads' connections, before the server stops
        else:
            db_url = f"sqlite:///{data_dir / 'central.db'}"
        store = open_store(db_url, migrate=True)
        started = time.perf_counter()
        college, class_name, files = build(store, data_dir, args.booths, args.students, args.photos)
        print(f"store ({args.store}): {args.booths} booths, {args.students:,} students, {args.photos:,} photo rows "
              f"({files:,} current files) built in {time.perf_counter() - started:.1f} s")
        config = parse_central_config({"storage": {"data_dir": str(data_dir), "db_url": db_url}})
        client = TestClient(create_app(config))
        page = client.get("/login")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        assert client.post("/login", data={"name": "admin", "password": PASSWORD, "csrf": token},
                           follow_redirects=False).status_code == 303
        klass = f"/classes/{quote(college)}/{quote(class_name)}"
        photo_id = store.photos(college=college, class_name=class_name)[0].photo_id
        for name, path, target in (("fleet page", "/", "< 100 ms"),
                                   ("progress page (colleges' summary)", "/progress", "< 100 ms"),
                                   ("one college's progress (its classes)", f"/progress/{quote(college)}",
                                    "< 100 ms"),
                                   ("one class's missing list (CSV)", klass + "/missing.csv", "< 100 ms"),
                                   ("one class page (roster + photos)", klass, "none set"),
                                   ("one proof-sheet page", klass + "/proof", "< 100 ms"),
                                   ("one proof-sheet PDF", klass + "/proof.pdf", "none set"),
                                   ("schedule page (every slot)", "/schedule", "none set"),
                                   ("one photo page (with its checks)", f"/photos/{photo_id}", "none set")):
            print(f"{name:38s} median {median_ms(client, path, args.repeat):8.1f} ms  (target {target})")
        classes = (args.export + CLASS_SIZE * 8 // 10 - 1) // (CLASS_SIZE * 8 // 10)
        wanted = {f"班{k:04d}" for k in range(classes)}
        exported = 0
        started = time.perf_counter()
        for klass_name in sorted(wanted):
            report = export_chsi(store, data_dir, Path(folder) / "export" / klass_name,
                                 college=f"学院{int(klass_name[1:]) % COLLEGES}", class_name=klass_name)
            assert not report.refused, report.refused[:3]
            exported += report.written
        elapsed = time.perf_counter() - started
        print(f"registry export: {exported:,} photos in {elapsed:.1f} s = {exported / elapsed:,.0f} photos/s "
              "(target >= 500/s)")
        store.close()


if __name__ == "__main__":
    main()
