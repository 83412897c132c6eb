"""The broker address both programs configure: ``mqtt://host[:port]``, or ``mqtts://host[:port]``
for TLS. Plain MQTT's default port is 1883 (IANA); the TLS port is the caller's (8883, IANA's
secure-mqtt, on the booth; 8884 for the office's own listener)."""

from __future__ import annotations

from urllib.parse import urlsplit

MQTT_PORT = 1883


def check_broker_url(value: str, *, tls_port: int) -> str:
    """``value`` unchanged if it is an mqtt:// or mqtts:// URL with a host and a valid port, else
    ValueError with the line the configuration error shows."""
    parts = urlsplit(value)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"must look like mqtt://host:{MQTT_PORT} or mqtts://host:{tls_port}")
    try:
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError("has a bad port") from None
    return value


def broker_port(url: str, *, tls_port: int) -> int:
    """The URL's port, or the scheme's default (``tls_port`` for mqtts)."""
    parts = urlsplit(url)
    return parts.port or (tls_port if parts.scheme == "mqtts" else MQTT_PORT)
