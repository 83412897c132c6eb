"""The booth's broker link in trouble (issue 9 item 4, issue 10 items 6 and 8), with a real mosquitto.

Two devices with one booth id (the production TLS listeners and ACL, certificates made here), a
broker whose Maximum Packet Size is below the chunk size (through the real central ingest), and a
broker that is down: logged once, then at a falling rate, and shown in the header.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from pathlib import Path

import pytest

from appliance.uplink.client import Uplink
from boothcore.durable import write_atomic
from boothcore.link import FIRST_REPEAT_S, MAX_REPEAT_S, LinkWatch
from boothcore.text import Text
from central.certs import make_fleet
from central.local_broker import PRODUCTION_ACL, LocalBroker, free_port
from tests.uplink.uplink_fake_central import FakeCentral, wait_for
from tests.uplink.uplink_fast_settings import fast_settings
from tests.uplink.uplink_photos import photo_bytes, photo_meta
from tests.uplink.uplink_real_central import RealCentral
from tests.uplink.uplink_silent_limit_proxy import SilentLimitProxy


def idle() -> dict[str, object]:
    """The status the booth reports."""
    return {"state": "idle"}


def make_uplink(settings, booth: str, folder: Path) -> Uplink:
    return Uplink(settings, booth, folder / "booth.db", on_command=lambda command: None)


def queue_photo(uplink: Uplink, folder: Path, **size) -> tuple[str, bytes]:
    photo_id = uuid.uuid4().hex
    data = photo_bytes(photo_id, **size)
    path = write_atomic(folder / f"{photo_id}.jpg", data)
    uplink.photo_saved(photo_id, path, photo_meta(photo_id))
    return photo_id, data


def test_two_devices_with_one_booth_id_notice_it_say_so_and_back_off(tmp_path: Path, caplog) -> None:
    fleet = make_fleet(tmp_path / "certs", ["booth-01"])
    cert = fleet["booth-01"]  # a cloned SD card: the same certificate and booth id twice
    with LocalBroker(tmp_path / "broker", tls=fleet["broker"], acl_file=PRODUCTION_ACL) as broker:
        central = FakeCentral(broker.host, broker.central_port, tmp_path / "central", tls=fleet["central"]).start()
        settings = fast_settings(broker.url, ca_file=str(cert.ca), cert_file=str(cert.cert),
                                 key_file=str(cert.key), takeover_backoff_s=60.0)
        devices = [make_uplink(settings, "booth-01", tmp_path / name) for name in ("a", "b")]
        caplog.set_level(logging.INFO, logger="appliance.uplink.client")
        started = time.monotonic()
        for device in devices:
            device.start(idle)
        try:
            wait_for(lambda: any(d.link_problem() for d in devices), timeout=30, what="a takeover noticed")
            print(f"takeover noticed after {time.monotonic() - started:.1f} s and "
                  f"{broker.log_path.read_text().count('already connected')} session handovers")
            noticed = next(d for d in devices if d.link_problem())
            assert noticed.link_problem() == Text("两台设备使用同一编号 booth-01,请联系办公室",
                                                  "two devices use booth id booth-01: call the office")
            assert "uplink: two devices use booth id booth-01" in caplog.text
            events = [json.loads(payload) for _, payload in noticed.outbox.pending_events(100)]
            assert any(e["kind"] == "error" and e["data"]["code"] == "duplicate_booth_id" for e in events)
            # Backed off: the broker stops handing the session back and forth.
            time.sleep(1.0)
            takeovers = broker.log_path.read_text().count("already connected")
            time.sleep(3.0)
            assert broker.log_path.read_text().count("already connected") == takeovers
        finally:
            for device in devices:
                device.stop()
            central.stop()


def test_a_short_takeover_backoff_lets_the_event_reach_central(tmp_path: Path) -> None:
    fleet = make_fleet(tmp_path / "certs", ["booth-01"])
    cert = fleet["booth-01"]
    with LocalBroker(tmp_path / "broker", tls=fleet["broker"], acl_file=PRODUCTION_ACL) as broker:
        central = FakeCentral(broker.host, broker.central_port, tmp_path / "central", tls=fleet["central"]).start()
        settings = fast_settings(broker.url, ca_file=str(cert.ca), cert_file=str(cert.cert),
                                 key_file=str(cert.key), takeover_backoff_s=1.0)
        devices = [make_uplink(settings, "booth-01", tmp_path / name) for name in ("a", "b")]
        for device in devices:
            device.start(idle)
        try:
            wait_for(lambda: any(e.kind == "error" and e.data.get("code") == "duplicate_booth_id"
                                 for e in list(central.events.values())), timeout=60,
                     what="central told about the duplicate booth id")
        finally:
            for device in devices:
                device.stop()
            central.stop()


def test_chunks_fit_the_brokers_maximum_packet_size(tmp_path: Path, caplog) -> None:
    # An office broker with max_packet_size 32768, below the booth's 64 KiB chunks.
    with LocalBroker(tmp_path / "broker", extra=["max_packet_size 32768"]) as broker:
        central = RealCentral(broker, tmp_path / "central").start()
        uplink = make_uplink(fast_settings(broker.url, chunk_size=65536), "booth-01", tmp_path / "booth")
        caplog.set_level(logging.INFO, logger="appliance.uplink.client")
        uplink.start(idle)
        try:
            photos = [queue_photo(uplink, tmp_path / "photos", min_size=70_000, max_size=150_000)
                      for _ in range(3)]
            wait_for(lambda: uplink.backlog() == 0, timeout=60, what="photos stored through a 32 KiB broker")
        finally:
            uplink.stop()
            central.stop()
    for photo_id, data in photos:
        assert central.photo_file(photo_id) == data
    assert "Maximum Packet Size is 32768 bytes" in caplog.text
    assert "Packet too large" not in caplog.text  # no packet was ever refused
    assert "disconnected due to oversize packet" not in broker.log_path.read_text()


def test_a_broker_that_drops_large_packets_unannounced_gets_one_error(tmp_path: Path, caplog) -> None:
    # mosquitto with max_packet_size 32768 behind a proxy that removes the limit from CONNACK.
    with LocalBroker(tmp_path / "broker", extra=["max_packet_size 32768"]) as broker, \
            SilentLimitProxy(broker.port) as proxy:
        central = RealCentral(broker, tmp_path / "central").start()
        uplink = make_uplink(fast_settings(f"mqtt://127.0.0.1:{proxy.port}", chunk_size=65536), "booth-01",
                             tmp_path / "booth")
        caplog.set_level(logging.INFO, logger="appliance.uplink.client")
        uplink.start(idle)
        try:
            photos = [queue_photo(uplink, tmp_path / "photos", min_size=70_000, max_size=150_000)
                      for _ in range(2)]
            wait_for(lambda: uplink.backlog() == 0, timeout=60, what="photos stored after smaller chunks")
        finally:
            uplink.stop()
            central.stop()
    assert proxy.stripped >= 1
    assert "disconnected due to oversize packet" in broker.log_path.read_text()  # the limit was hit
    errors = [r.getMessage() for r in caplog.records if "uplink.chunk_size" in r.getMessage()]
    # One line: what is wrong, what to do, the chunk size set and the one tried next (review: it was three
    # sentences that named no size tried).
    assert len(errors) == 1 and "\n" not in errors[0], errors
    assert "announces no packet limit: set uplink.chunk_size (now 65536) below it in booth.toml" in errors[0]
    assert errors[0].endswith("trying 32768-byte chunks"), errors
    for photo_id, data in photos:
        assert central.photo_file(photo_id) == data


def test_drops_after_a_too_large_one_without_a_reason_still_shrink_the_chunks(tmp_path: Path, caplog) -> None:
    # Only the first "Packet too large" reaches the booth; later the socket closes first (as it does when
    # the broker's DISCONNECT is lost). Those quick drops are the same limit, not another device.
    with LocalBroker(tmp_path / "broker", extra=["max_packet_size 32768"]) as broker, \
            SilentLimitProxy(broker.port, disconnects_passed=1) as proxy:
        central = RealCentral(broker, tmp_path / "central").start()
        uplink = make_uplink(fast_settings(f"mqtt://127.0.0.1:{proxy.port}", chunk_size=65536), "booth-01",
                             tmp_path / "booth")
        uplink.start(idle)
        try:
            photo_id, data = queue_photo(uplink, tmp_path / "photos", min_size=70_000, max_size=150_000)
            wait_for(lambda: uplink.backlog() == 0, timeout=60, what="the photo stored after smaller chunks")
        finally:
            uplink.stop()
            central.stop()
    assert "closed the link during a " in caplog.text  # the first drop, or a later one
    assert "two devices use booth id" not in caplog.text
    assert central.photo_file(photo_id) == data


def test_a_broker_too_small_for_any_chunk_keeps_photos_in_the_outbox(tmp_path: Path, caplog) -> None:
    with LocalBroker(tmp_path / "broker", extra=["max_packet_size 2048"]) as broker:
        uplink = make_uplink(fast_settings(broker.url), "booth-01", tmp_path / "booth")
        uplink.start(idle)
        try:
            queue_photo(uplink, tmp_path / "photos")
            wait_for(lambda: "too small for the smallest photo chunk" in caplog.text, timeout=20,
                     what="the error naming the broker's limit")
            time.sleep(1.0)
            assert uplink.backlog() == 1 and uplink.connected
        finally:
            uplink.stop()
    assert "disconnected due to oversize packet" not in broker.log_path.read_text()


def test_a_broker_down_is_logged_once_then_shown_and_recovered(tmp_path: Path, caplog) -> None:
    port = free_port()
    caplog.set_level(logging.INFO, logger="appliance.uplink.client")
    uplink = make_uplink(fast_settings(f"mqtt://127.0.0.1:{port}", will_delay_s=1), "booth-01", tmp_path)
    start = dt.datetime.now()
    uplink.start(idle)
    try:
        wait_for(lambda: uplink.link_problem() is not None, timeout=20, what="the header notice")
        problem = uplink.link_problem()
        assert problem is not None
        english, chinese = problem.en, problem.zh
        assert english in {f"office link down since {t:%H:%M}" for t in (start, dt.datetime.now())}
        assert chinese.startswith("与办公室断开")
        time.sleep(2.0)  # about a dozen reconnect attempts at 0.1-0.5 s
        lines = [r.getMessage() for r in caplog.records if "link down" in r.getMessage()]
        assert len(lines) == 1, lines
        assert f"uplink: broker mqtt://127.0.0.1:{port}: link down (cannot connect)" in lines[0]
        with LocalBroker(tmp_path / "broker", port=port):
            wait_for(lambda: uplink.connected, timeout=20, what="the reconnect")
            assert uplink.link_problem() is None
            assert "link back after" in caplog.text
    finally:
        uplink.stop()


def test_link_watch_repeats_at_a_falling_rate() -> None:
    now = [0.0]
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("test.linkwatch")
    logger.addHandler(Collect())
    logger.propagate = False
    watch = LinkWatch(logger, "broker X", clock=lambda: now[0])
    for _ in range(3 * 3600):  # three hours of a failed attempt every second
        watch.failed("cannot connect")
        now[0] += 1.0
    # The first line, then at 1, 3, 7, 15, 31, 63 minutes, then hourly (capped at MAX_REPEAT_S).
    expected, t, repeat = [0.0], 0.0, FIRST_REPEAT_S
    while True:
        t += repeat
        repeat = min(MAX_REPEAT_S, repeat * 2)
        if t >= 3 * 3600:
            break
        expected.append(t)
    assert len(lines) == len(expected) == 8
    assert "link down (cannot connect)" in lines[0] and "link still down since" in lines[1]
    watch.connected()
    assert lines[-1].startswith("broker X: link back after 10800 s")


@pytest.mark.parametrize("code", [0x8E, 0x80])
def test_takeover_needs_repeats_right_after_connects(code: int) -> None:
    from boothcore.link import QUICK_DROP_S, TakeoverWatch

    now = [0.0]
    watch = TakeoverWatch(clock=lambda: now[0])
    watch.connected()
    now[0] += 3600
    assert not watch.dropped(code)  # one drop of a long connection: a broker restart, say
    results = []
    for _ in range(3):
        now[0] += 1.0
        watch.connected()
        now[0] += 1.0
        results.append(watch.dropped(code))
    # 0x8E (the broker says "taken over") counts at any age: twice is enough; a bare close three times.
    assert results == ([True, True, True] if code == 0x8E else [False, False, True])
    assert watch.duplicate
    assert ("reason 0x8E" if code == 0x8E else "closed the connection 3 times") in watch.evidence()
    watch.connected()
    now[0] += QUICK_DROP_S * 100
    assert watch.stable() and not watch.duplicate
