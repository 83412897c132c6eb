"""Service hours: class sessions and make-up sessions each have their own daily windows."""

from __future__ import annotations

import datetime as dt

from appliance.config import HoursSection
from appliance.ledger import SessionKind


class ServiceHours:
    def __init__(self, hours: HoursSection) -> None:
        self.hours = hours
        self._windows = {"class": hours.windows("service"), "makeup": hours.windows("makeup")}

    def is_open(self, kind: SessionKind, now: dt.datetime) -> bool:
        if not self.hours.enforce:
            return True
        if kind == "makeup" and self.hours.makeup_weekdays_only and now.weekday() >= 5:
            return False
        return any(window.contains(now.time()) for window in self._windows[kind])

    def describe(self, kind: SessionKind) -> str:
        return ", ".join(str(window) for window in self._windows[kind])
