"""The production TLS settings and ACL (config/mosquitto/) with certificates made by central.certs."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from boothcore import protocol as p
from central.certs import TlsFiles, issue, make_ca, make_fleet
from central.config import parse_central_config
from central.ingest import Ingest
from central.local_broker import PRODUCTION_ACL, LocalBroker
from central.store import SqliteStore
from tests.central.conftest import MiniBooth, jpeg_bytes, make_init


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TlsFiles]:
    return make_fleet(tmp_path_factory.mktemp("certs"), ["booth-01", "booth-02"])


@pytest.fixture
def tls_broker(tmp_path: Path, fleet: dict[str, TlsFiles]) -> Iterator[LocalBroker]:
    with LocalBroker(tmp_path / "broker", tls=fleet["broker"], acl_file=PRODUCTION_ACL) as broker:
        yield broker


@pytest.fixture
def tls_ingest(tmp_path: Path, tls_broker: LocalBroker, fleet: dict[str, TlsFiles]) -> Iterator[Ingest]:
    central = fleet["central"]
    config = parse_central_config({
        "broker": {"url": tls_broker.central_url, "ca_file": str(central.ca), "cert_file": str(central.cert),
                   "key_file": str(central.key)},
        "storage": {"data_dir": str(tmp_path / "central")}, "ingest": {"workers": 2, "missing_grace_s": 0.2}})
    with Ingest(config) as ingest:
        assert ingest.wait_connected()
        yield ingest


def connects(broker: LocalBroker, tls: TlsFiles | None, ca: Path, port: int | None = None) -> bool:
    """True when the broker answers CONNECT with success (False: refused or the connection dropped)."""
    result: queue.Queue[bool] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:6]}",
                         protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(ca), certfile=str(tls.cert) if tls else None,
                   keyfile=str(tls.key) if tls else None)
    client.on_connect = lambda c, u, f, reason, props: result.put(not reason.is_failure)
    client.on_disconnect = lambda c, u, f, reason, props: result.put(False)
    try:
        client.connect(broker.host, port or broker.port)
    except OSError:
        return False
    client.loop_start()
    try:
        return result.get(timeout=10)
    except queue.Empty:
        return False
    finally:
        client.disconnect()
        client.loop_stop()


def test_booth_uploads_through_tls_and_the_acl(tmp_path: Path, tls_broker: LocalBroker,
                                               tls_ingest: Ingest, fleet: dict[str, TlsFiles]) -> None:
    booth = MiniBooth(tls_broker, "booth-01", tls=fleet["booth-01"])
    try:
        data = jpeg_bytes(30)
        init = make_init("booth-01", data)
        assert booth.upload(init, data).status == "stored"
    finally:
        booth.close()
    store = SqliteStore(tmp_path / "central" / "central.db")
    try:
        assert store.photo(init.photo_id) is not None
    finally:
        store.close()


def test_booth_cannot_publish_to_another_booths_topics(tmp_path: Path, tls_broker: LocalBroker,
                                                       tls_ingest: Ingest, fleet: dict[str, TlsFiles]) -> None:
    intruder = MiniBooth(tls_broker, "booth-01", tls=fleet["booth-01"])
    try:
        data = jpeg_bytes(31)
        forged = make_init("booth-02", data)
        intruder.send_photo(forged, data)  # booth-01's certificate, booth-02's topics
        forged_event = p.Event(booth="booth-02", event_id=uuid.uuid4().hex, ts=p.utc_now(), kind="error",
                               data={"code": "x", "message": "forged"})
        intruder.publish(p.event_topic("booth-02", forged_event.event_id), p.encode(forged_event))
        # Its own photo, sent afterwards on the same connection, is the barrier: once it is stored,
        # the forged messages would have been handled too had the broker let them through.
        own = make_init("booth-01", data)
        assert intruder.upload(own, data).status == "stored"
    finally:
        intruder.close()
    store = SqliteStore(tmp_path / "central" / "central.db")
    try:
        assert [r.booth for r in store.photos(current_only=False)] == ["booth-01"]
        assert store.events(booth="booth-02") == []
    finally:
        store.close()


def test_booth_cannot_read_another_booths_commands(tls_broker: LocalBroker, fleet: dict[str, TlsFiles]) -> None:
    got: dict[str, queue.Queue[str]] = {"booth-01": queue.Queue(), "booth-02": queue.Queue()}
    clients = []
    for name in got:
        tls = fleet[name]
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-spy", protocol=mqtt.MQTTv5)
        client.tls_set(ca_certs=str(tls.ca), certfile=str(tls.cert), keyfile=str(tls.key))
        client.on_message = lambda c, u, m, name=name: got[name].put(m.topic)
        subscribed = threading.Event()
        client.on_subscribe = lambda c, u, mid, codes, props, ev=subscribed: ev.set()
        client.connect(tls_broker.host, tls_broker.port)
        client.loop_start()
        # Both booths try to read booth-02's commands (and their own).
        client.subscribe([("central/v1/booth-02/command/+", 1), (f"central/v1/{name}/command/+", 1)])
        assert subscribed.wait(10)
        clients.append(client)
    central = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central-cmd", protocol=mqtt.MQTTv5)
    tls = fleet["central"]
    central.tls_set(ca_certs=str(tls.ca), certfile=str(tls.cert), keyfile=str(tls.key))
    central.connect(tls_broker.host, tls_broker.central_port)
    central.loop_start()
    try:
        secret = p.command_topic("booth-02", "cmd-for-02")
        central.publish(secret, b"{}", qos=1).wait_for_publish(10)
        barrier = p.command_topic("booth-01", "cmd-for-01")
        central.publish(barrier, b"{}", qos=1).wait_for_publish(10)
        assert got["booth-02"].get(timeout=10) == secret
        assert got["booth-01"].get(timeout=10) == barrier  # its own command arrives, the other's never
        assert got["booth-01"].empty()
    finally:
        for client in [*clients, central]:
            client.disconnect()
            client.loop_stop()


def test_unknown_clients_are_refused(tmp_path: Path, tls_broker: LocalBroker, fleet: dict[str, TlsFiles]) -> None:
    ca = fleet["ca"].ca
    assert connects(tls_broker, fleet["booth-01"], ca)  # the probe itself works
    assert not connects(tls_broker, None, ca)  # no client certificate
    foreign_ca = make_ca(tmp_path / "foreign")
    foreign = issue(foreign_ca, tmp_path / "foreign", "booth-01")  # right name, wrong CA
    assert not connects(tls_broker, foreign, ca)


class Watcher:
    """A paho client that records its connects, drops and messages."""

    def __init__(self, broker: LocalBroker, tls: TlsFiles, client_id: str, port: int | None = None) -> None:
        self.drops: queue.Queue[str] = queue.Queue()
        self.messages: queue.Queue[str] = queue.Queue()
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.tls_set(ca_certs=str(tls.ca), certfile=str(tls.cert), keyfile=str(tls.key))
        self.client.on_disconnect = lambda c, u, f, reason, props: self.drops.put(str(reason))
        self.client.on_message = lambda c, u, m: self.messages.put(m.topic)
        self.client.on_subscribe = lambda *args: self.ready.set()
        self.client.connect(broker.host, port or broker.port, clean_start=False)
        self.client.loop_start()

    def subscribe(self, *topics: str) -> None:
        self.ready.clear()
        self.client.subscribe([(topic, 1) for topic in topics])
        assert self.ready.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_booth_certificate_cannot_take_another_booths_session(tls_broker: LocalBroker,
                                                               fleet: dict[str, TlsFiles]) -> None:
    owner = Watcher(tls_broker, fleet["booth-02"], "booth-02")
    owner.subscribe("central/v1/booth-02/command/+")
    thief = Watcher(tls_broker, fleet["booth-01"], "booth-02")  # booth-01's certificate, booth-02's id
    central = Watcher(tls_broker, fleet["central"], "central-cmd", port=tls_broker.central_port)
    try:
        thief.subscribe("central/v1/booth-02/command/+")
        topic = p.command_topic("booth-02", "cmd-for-02")
        central.client.publish(topic, b"{}", qos=1).wait_for_publish(10)
        assert owner.messages.get(timeout=10) == topic
        with pytest.raises(queue.Empty):
            owner.drops.get(timeout=1.0)  # the owner was never knocked off
        assert thief.messages.empty()
        # The broker named the thief's connection after its certificate, not the id it asked for.
        assert "as booth-01 " in tls_broker.log_path.read_text()
    finally:
        for watcher in (owner, thief, central):
            watcher.close()


def test_only_central_certificates_reach_centrals_listener(tls_broker: LocalBroker,
                                                           fleet: dict[str, TlsFiles]) -> None:
    ca = fleet["ca"].ca
    assert connects(tls_broker, fleet["central"], ca, port=tls_broker.central_port)
    assert not connects(tls_broker, fleet["booth-01"], ca, port=tls_broker.central_port)
    assert not connects(tls_broker, fleet["central"], ca)  # central's certificate is not a booth's


def test_a_booth_in_centrals_default_share_group_steals_nothing(tmp_path: Path, tls_broker: LocalBroker,
                                                                tls_ingest: Ingest,
                                                                fleet: dict[str, TlsFiles]) -> None:
    # mosquitto 2.0's acl_file lets any client join any shared group; the messages handed to a
    # booth there are dropped (read denied). Central's group name comes from its key instead.
    spy = Watcher(tls_broker, fleet["booth-01"], "booth-01")
    sender = MiniBooth(tls_broker, "booth-02", tls=fleet["booth-02"])
    try:
        spy.subscribe("$share/ingest/booth/v1/#", "$share/ingest/booth/v1/+/event/+")
        assert tls_ingest.workers[0].share_group.startswith("ingest-")
        sent = []
        for n in range(12):
            event = p.Event(booth="booth-02", event_id=uuid.uuid4().hex, ts=p.utc_now(), kind="error",
                            data={"code": "probe", "message": f"event {n}"})
            sender.publish(p.event_topic("booth-02", event.event_id), p.encode(event))
            sent.append(event.event_id)
        acked: set[str] = set()
        with contextlib.suppress(queue.Empty):  # acks come in any order; 10 s without one ends it
            while acked != set(sent):
                acked.add(sender.acks.get(timeout=10).id)
        assert acked == set(sent)
    finally:
        spy.close()
        sender.close()
    store = SqliteStore(tmp_path / "central" / "central.db")
    try:
        assert {e.event_id for e in store.events(booth="booth-02")} == set(sent)
    finally:
        store.close()


def test_a_revoked_booth_certificate_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    fleet = make_fleet(folder, ["booth-01", "booth-02"])
    with LocalBroker(tmp_path / "broker", tls=fleet["broker"], acl_file=PRODUCTION_ACL) as broker:
        assert connects(broker, fleet["booth-02"], fleet["ca"].ca)
        result = subprocess.run([sys.executable, "-m", "central.certs", str(folder), "--revoke", "booth-02"],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "restart mosquitto" in result.stdout
        broker.stop()
        broker.start()  # the booth listener reads its crlfile at start
        assert not connects(broker, fleet["booth-02"], fleet["ca"].ca)
        assert connects(broker, fleet["booth-01"], fleet["ca"].ca)
        assert connects(broker, fleet["central"], fleet["ca"].ca, port=broker.central_port)
    again = subprocess.run([sys.executable, "-m", "central.certs", str(folder), "--revoke", "booth-02"],
                           capture_output=True, text=True, check=False)
    assert again.returncode == 2 and "already revoked" in again.stderr.lower()
