"""The fleet as the office sees it: each booth online, stale, offline or never seen, with its vitals.

Offline comes only from the store's booth row (the Will, state "lost", or a clean stop, online
false); ``Store.record_status`` already drops a late Will from an older boot (Sparkplug's bdSeq
rule), so a reconnected booth stays online here. Stale: online, but no status or telemetry
received for twice the booths' telemetry interval (``web.telemetry_interval_s``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from boothcore.privacy import mask_ids_in
from central.store import Store

ONLINE, STALE, OFFLINE, NEVER = "online", "stale", "offline", "never"
CONDITIONS = (ONLINE, STALE, OFFLINE, NEVER)


@dataclass(frozen=True)
class BoothView:
    booth: str
    condition: str
    state: str = ""
    college: str = ""
    class_name: str = ""
    backlog: int | None = None
    disk_free_mb: float | None = None
    cpu_temp_c: float | None = None
    version: str = ""
    boot: int | None = None
    last_photo: str = ""
    last_error: str = ""
    last_seen: str = ""


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def fleet(store: Store, *, known_booths: list[str], telemetry_interval_s: float,
          now: dt.datetime | None = None) -> list[BoothView]:
    """Every booth the store has seen, plus ``known_booths`` it has not (as never seen), by name."""
    now = now or dt.datetime.now(dt.UTC)
    stale_after = dt.timedelta(seconds=2 * telemetry_interval_s)
    conn = store.conn  # type: ignore[attr-defined]
    last_photo = dict(conn.execute("SELECT booth, MAX(stored_at) FROM photos GROUP BY booth").fetchall())
    # SQLite returns the bare column of the row that holds MAX(ts): each booth's latest error.
    last_error = {row[0]: row[2] or "" for row in conn.execute(
        "SELECT booth, MAX(ts), json_extract(data_json, '$.message') FROM events WHERE kind = 'error'"
        " GROUP BY booth")}
    views: dict[str, BoothView] = {}
    for row in conn.execute("SELECT booth, boot, online, state, session_json, queue_depth, disk_free_mb,"
                            " cpu_temp_c, version, status_received_at, telemetry_ts FROM booths"):
        seen = max(filter(None, (row["status_received_at"], row["telemetry_ts"])))
        if not row["online"]:
            condition = OFFLINE
        elif now - _parse(seen) > stale_after:
            condition = STALE
        else:
            condition = ONLINE
        session = _session(row["session_json"])
        views[row["booth"]] = BoothView(
            booth=row["booth"], condition=condition, state=row["state"], college=session.get("college", ""),
            class_name=session.get("class", ""), backlog=row["queue_depth"], disk_free_mb=row["disk_free_mb"],
            cpu_temp_c=row["cpu_temp_c"], version=row["version"] or "", boot=row["boot"],
            last_photo=last_photo.get(row["booth"]) or "", last_error=mask_ids_in(last_error.get(row["booth"], "")),
            last_seen=seen)
    for booth in known_booths:
        views.setdefault(booth, BoothView(booth=booth, condition=NEVER))
    return [views[name] for name in sorted(views)]


def _session(text: str | None) -> dict[str, str]:
    return json.loads(text) if text else {}
