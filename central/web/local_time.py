"""Stored times (UTC ISO 8601 text) as the office reads them: in ``web.timezone``.

Everything central stores is UTC; pages, the proof sheet and its PDF show the office's local time,
so a secretary in Beijing reads 14:30, not 06:30, and the schedule (entered in local time) and the
activity beside it agree.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def local_time(text: str | None, zone: ZoneInfo) -> str:
    """``2027-05-20T06:30:05.123Z`` -> ``2027-05-20 14:30:05`` in ``zone``; "" for a missing time.

    A time without an offset is UTC (as ``central.store.utc`` writes it); text that is no time is
    shown as it is, so one odd row never breaks a page.
    """
    if not text:
        return ""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
