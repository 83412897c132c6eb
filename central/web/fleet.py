"""The fleet as the office sees it: each booth online, stale, offline or never seen, with its vitals.

Offline comes only from the store's booth row (the Will, state "lost", or a clean stop, online
false); ``Store.record_status`` already drops a late Will from an older boot (Sparkplug's bdSeq
rule), so a reconnected booth stays online here. Stale: online, but no status or telemetry
received for twice the booths' telemetry interval (``web.telemetry_interval_s``).

Two warnings (issue 9 items 4 and 10): "two devices use this booth id" (see ``duplicate_id``) and
the data resets central counted for the booth (``SqlStore.record_status``, a new install id).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from boothcore.link import STABLE_S
from boothcore.privacy import mask_ids_in
from central.store import SqlStore

ONLINE, STALE, OFFLINE, NEVER = "online", "stale", "offline", "never"
CONDITIONS = (ONLINE, STALE, OFFLINE, NEVER)
# The code of the ``error`` event a booth sends when the broker keeps handing its session to another
# device with the same id (appliance/uplink/client.py, docs/trust-model.md).
DUPLICATE_ID = "duplicate_booth_id"


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
    duplicate_id: bool = False  # see ``duplicate_id``
    resets: int = 0  # data resets central counted (a new install id)
    reset_at: str = ""  # central's receive time of the latest reset, UTC


def duplicate_id(reported_at: str | None, last_seen: str) -> bool:
    """True while "two devices use this booth id" stands: the booth's latest ``duplicate_booth_id``
    error (``reported_at``, central's receive time) is newer than its last clean period.

    A clean period is ``STABLE_S`` (120 s, boothcore.link: how long the booth's own connection must
    last before it clears its "two devices" state) of hearing from the booth after the report:
    the warning clears once ``last_seen`` (status or telemetry, as for the condition) is at least
    ``STABLE_S`` past it, and stays on a booth that went silent right after reporting (it backs off
    ``uplink.takeover_backoff_s``). The booth reports on its next connection after backing off, and
    again only after a clean connection, so a clone that keeps returning raises it again. Known
    limit: ``last_seen`` may be the booth's telemetry time (its own clock), so a booth clock
    running 2 min ahead clears the warning at once, one running behind holds it longer.
    """
    if not reported_at:
        return False
    return _parse(last_seen) - _parse(reported_at) < dt.timedelta(seconds=STABLE_S)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def fleet(store: SqlStore, *, known_booths: list[str], telemetry_interval_s: float,
          now: dt.datetime | None = None) -> list[BoothView]:
    """Every booth the store has seen, plus ``known_booths`` it has not (as never seen), by name."""
    now = now or dt.datetime.now(dt.UTC)
    stale_after = dt.timedelta(seconds=2 * telemetry_interval_s)
    conn = store.conn
    last_photo = dict(conn.execute("SELECT booth, MAX(stored_at) FROM photos GROUP BY booth").fetchall())
    # Each booth's latest error, and when central last received a duplicate-booth-id one.
    last_error = {row[0]: row[1] or "" for row in conn.execute(
        f"SELECT booth, message FROM (SELECT booth, {conn.json_text('data_json', 'message')} AS message,"
        "  ROW_NUMBER() OVER (PARTITION BY booth ORDER BY ts DESC) AS newest FROM events WHERE kind = 'error')"
        " AS errors WHERE newest = 1")}
    duplicate_reported = dict(conn.execute(
        "SELECT booth, MAX(received_at) FROM events WHERE kind = 'error'"
        f" AND {conn.json_text('data_json', 'code')} = ? GROUP BY booth", (DUPLICATE_ID,)).fetchall())
    views: dict[str, BoothView] = {}
    for row in conn.execute("SELECT booth, boot, online, state, session_json, queue_depth, disk_free_mb,"
                            " cpu_temp_c, version, status_received_at, telemetry_ts, resets, reset_at FROM booths"):
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
            last_seen=seen, duplicate_id=duplicate_id(duplicate_reported.get(row["booth"]), seen),
            resets=row["resets"], reset_at=row["reset_at"] or "")
    for booth in known_booths:
        views.setdefault(booth, BoothView(booth=booth, condition=NEVER))
    return [views[name] for name in sorted(views)]


def _session(text: str | None) -> dict[str, str]:
    return json.loads(text) if text else {}
