"""Fleet conditions (online, stale, offline, never seen) and the SSE broadcaster (issue 12 item 1); the
warnings "two devices use this booth id" and "data reset" (issue 9 items 4 and 10)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

import pytest

from boothcore.link import STABLE_S
from central.store import BoothStatus, EventRecord, SqlStore
from central.web.fleet import NEVER, OFFLINE, ONLINE, STALE, fleet
from central.web.live import Broadcaster, sse
from tests.web.client import client_for
from tests.web.conftest import Office


def status(booth: str, boot: int, online: bool = True, state: str = "idle", at: dt.datetime | None = None,
           ) -> BoothStatus:
    ts = (at or dt.datetime.now(dt.UTC)).isoformat()
    if not online:
        return BoothStatus(booth=booth, boot=boot, online=False, state=state, ts=ts)
    return BoothStatus(booth=booth, boot=boot, online=True, state=state, ts=ts, queue_depth=2,
                       disk_free_mb=5120.0, cpu_temp_c=51.5, version="0.1.0",
                       session={"id": "s-1", "kind": "class", "college": "信息学院", "class": "计科2301"})


def conditions(store: SqlStore, **kwargs) -> dict[str, str]:
    return {b.booth: b.condition for b in fleet(store, known_booths=["booth-09"], telemetry_interval_s=30,
                                                **kwargs)}


def test_online_offline_never_seen_and_vitals(office: Office):
    store = office.store
    store.record_status(status("booth-01", 3))
    store.record_status(status("booth-02", 1))
    store.record_status(status("booth-02", 1, online=False, state="lost"))  # its Will
    store.record_event(EventRecord(event_id="e" * 32, booth="booth-01", ts=dt.datetime.now(dt.UTC).isoformat(),
                                   kind="error", data={"code": "camera", "message": "camera lost for "
                                                       + office.roster[0].id_number}))
    assert conditions(store) == {"booth-01": ONLINE, "booth-02": OFFLINE, "booth-09": NEVER}
    one = fleet(store, known_booths=[], telemetry_interval_s=30)[0]
    assert (one.state, one.class_name, one.backlog, one.disk_free_mb, one.cpu_temp_c, one.version, one.boot) == (
        "idle", "计科2301", 2, 5120.0, 51.5, "0.1.0", 3)
    assert one.last_photo and one.last_seen
    assert office.roster[0].id_number not in one.last_error and "camera lost for 110105" in one.last_error


def test_a_late_will_of_an_older_boot_never_marks_a_reconnected_booth_offline(office: Office):
    store = office.store
    store.record_status(status("booth-01", 4))
    store.record_status(status("booth-01", 5))  # rebooted and reconnected first
    store.record_status(status("booth-01", 4, online=False, state="lost"))  # then boot 4's Will arrives
    assert conditions(store)["booth-01"] == ONLINE
    store.record_status(status("booth-01", 5, online=False, state="lost"))
    assert conditions(store)["booth-01"] == OFFLINE


def test_no_status_or_telemetry_for_two_intervals_is_stale(office: Office):
    store = office.store
    store.record_status(status("booth-01", 1))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61)
    assert conditions(store, now=later)["booth-01"] == STALE
    store.conn.execute("UPDATE booths SET telemetry_ts = ?", (later.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))
    assert conditions(store, now=later)["booth-01"] == ONLINE


def test_sse_full_state_first_then_changes_pings_and_a_lagging_client_is_dropped():
    values = iter([1, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] + [13] * 1000)

    async def scenario() -> None:
        live = Broadcaster(lambda: next(values), poll_s=0.01)
        stream = live.stream(lambda v: f"value {v}\nline two", "fleet", ping_s=0.2)
        assert await anext(stream) == "event: fleet\ndata: value 1\ndata: line two\n\n"
        assert await anext(stream) == sse("fleet", "value 2\nline two")
        await asyncio.sleep(0.5)  # the client reads nothing while 3..13 arrive: its queue (8) overflows
        assert live.clients == set()
        with pytest.raises(StopAsyncIteration):  # the stream ends; the EventSource reconnects for the full state
            await anext(stream)
        quiet = Broadcaster(lambda: 0, poll_s=0.01)
        idle = quiet.stream(str, "fleet", ping_s=0.05)
        await anext(idle)
        assert await anext(idle) == ": ping\n\n"
        await idle.aclose()
        assert quiet.clients == set()
        await live.close()
        await quiet.close()

    asyncio.run(scenario())


def duplicate_reported(store: SqlStore, booth: str) -> None:
    """The event a booth whose session the broker keeps handing to a clone sends (appliance/uplink)."""
    store.record_event(EventRecord(event_id=uuid.uuid4().hex, booth=booth, ts=dt.datetime.now(dt.UTC).isoformat(),
                                   kind="error", data={"code": "duplicate_booth_id", "message":
                                                       f"two devices use booth id {booth}: this one keeps "
                                                       "losing its broker session to the other"}))


def fleet_row(html: str, booth: str) -> str:
    return re.search(rf'<tr id="booth-{booth}".*?</tr>', html, re.S).group(0)


def fleet_stream_text(client) -> str:
    """The SSE stream's first message (the full table); ``closing`` ends the stream after it."""
    client.app.state.dashboard.fleet_live.closing = True
    answer = client.get("/live/fleet")
    assert answer.status_code == 200 and answer.text.startswith("event: fleet\n")
    return "\n".join(line.removeprefix("data: ") for line in answer.text.splitlines())


DUPLICATE = "两台设备使用同一编号 <span class=\"en\">two devices use this booth id</span>"


def test_two_devices_with_one_booth_id_are_shown_until_a_clean_period(office: Office):
    store = office.store
    store.record_status(status("booth-01", 3))
    store.record_status(status("booth-02", 1))
    store.record_event(EventRecord(event_id=uuid.uuid4().hex, booth="booth-02", ts=dt.datetime.now(dt.UTC).isoformat(),
                                   kind="error", data={"code": "camera", "message": "camera lost"}))
    duplicate_reported(store, "booth-01")
    for name in ("viewer", "admin", "sec"):
        client = client_for(office, name)
        for html in (client.get("/").text, fleet_stream_text(client)):
            assert DUPLICATE in fleet_row(html, "booth-01")
            assert "两台设备" not in fleet_row(html, "booth-02")  # another error is no duplicate
        flags = {b["booth"]: b["duplicate_id"] for b in client.get("/api/fleet.json").json()}
        assert flags == {"booth-01": True, "booth-02": False, "booth-09": False}
    # Heard from for STABLE_S after the report: the booth's connection held, the warning clears ...
    reported = store.conn.execute("SELECT MAX(received_at) FROM events").fetchone()[0]
    clean = dt.datetime.fromisoformat(reported.replace("Z", "+00:00")) + dt.timedelta(seconds=STABLE_S)
    store.record_telemetry("booth-01", (clean - dt.timedelta(seconds=1)).isoformat(), {"queue_depth": 0})
    assert fleet(store, known_booths=[], telemetry_interval_s=30, now=clean)[0].duplicate_id
    store.record_telemetry("booth-01", clean.isoformat(), {"queue_depth": 0})
    assert not fleet(store, known_booths=[], telemetry_interval_s=30, now=clean)[0].duplicate_id
    assert DUPLICATE not in client_for(office, "admin").get("/").text
    # ... and a new report (the clone came back) raises it again, also on a booth that then went silent.
    duplicate_reported(store, "booth-01")
    store.record_status(status("booth-01", 3, online=False, state="lost"))
    one = fleet(store, known_booths=[], telemetry_interval_s=30)[0]
    assert (one.condition, one.duplicate_id) == (OFFLINE, True)


def test_a_data_reset_is_shown_with_its_time_and_count(office: Office):
    store = office.store
    for boot, install in ((7, uuid.uuid4().hex), (1, uuid.uuid4().hex)):  # a new SD card: boot back to 1
        store.record_status(dataclasses.replace(status("booth-01", boot), install_id=install))
    store.record_status(dataclasses.replace(status("booth-02", 2), install_id=uuid.uuid4().hex))
    reset_at = store.booths()[0].reset_at
    at = f"{dt.datetime.fromisoformat(reset_at).astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M:%S}"
    for name in ("viewer", "admin"):
        client = client_for(office, name)
        for html in (client.get("/").text, fleet_stream_text(client)):
            assert f"数据已重置 {at}（1 次） <span class=\"en\">data reset at {at} (1 reset)</span>" \
                in fleet_row(html, "booth-01")
            assert "数据已重置" not in fleet_row(html, "booth-02")  # its first install id is no reset
        answer = {b["booth"]: (b["resets"], b["reset_at"]) for b in client.get("/api/fleet.json").json()}
        assert answer["booth-01"] == (1, reset_at) and answer["booth-02"] == (0, "")
    store.record_status(dataclasses.replace(status("booth-01", 1), install_id=uuid.uuid4().hex))
    assert "(2 resets)" in fleet_row(client_for(office, "admin").get("/").text, "booth-01")
