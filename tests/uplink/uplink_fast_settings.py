"""Uplink settings with short timers so tests exercise timeouts and reconnects quickly."""

from __future__ import annotations

from appliance.uplink.settings import UplinkSettings


def fast_settings(url: str, **changes) -> UplinkSettings:
    """Settings with short timers so the tests exercise timeouts and reconnects quickly."""
    values = {"broker_url": url, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5, "ack_timeout_s": 1.0,
              "telemetry_interval_s": 0.5, "will_delay_s": 1, "session_expiry_s": 60, "window": 3,
              "keepalive_s": 5}
    values.update(changes)
    return UplinkSettings(**values)
