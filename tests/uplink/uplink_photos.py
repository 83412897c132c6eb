"""Deterministic test photos: the bytes and metadata follow from the photo_id, so any copy can be checked."""

from __future__ import annotations

import datetime as dt
import random

from boothcore.idnumber import make_id_number


def photo_bytes(photo_id: str, min_size: int = 20_000, max_size: int = 150_000) -> bytes:
    rng = random.Random(photo_id)
    return b"\xff\xd8" + rng.randbytes(rng.randint(min_size, max_size) - 4) + b"\xff\xd9"


def photo_meta(photo_id: str) -> dict:
    # A distinct person per photo (central keeps one file per ID number: the latest wins).
    seq = int(photo_id[:6], 16) % 1000
    birth = dt.date(2000, 1, 1) + dt.timedelta(days=int(photo_id[6:12], 16) % 3000)
    return {"id_number": make_id_number("110105", birth, seq), "student_no": f"2023{seq:04d}",
            "college": "计算机学院", "class": "软件2301", "session_id": "s-1", "attempt": 1,
            "captured_at": "2027-06-01T08:00:00.000Z"}
