"""Fixtures for the central tests: a real mosquitto, an ingest, and a protocol-level booth.

Every test here also has its log scanned: no full ID number may reach central's log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image

from boothcore import protocol as p
from boothcore.idnumber import make_id_number
from central.certs import TlsFiles
from central.config import CentralConfig, parse_central_config
from central.ingest import Ingest
from central.local_broker import LocalBroker
from central.photos import PhotoArchive, StoreResult
from central.store import PhotoRecord, SqlStore, open_store

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 30.0


def store_one(archive: PhotoArchive, store: SqlStore, record: PhotoRecord, data: bytes) -> StoreResult:
    """Store one verified photo (files, then its row) as the ingest's batch of one would."""
    result = archive.store_many(store, [(record, data)])[0]
    if isinstance(result, Exception):
        raise result
    return result


def jpeg_bytes(seed: int, size: tuple[int, int] = (120, 160)) -> bytes:
    """A real JPEG, different for every seed."""
    image = Image.effect_noise(size, 40 + seed % 50).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def id_number(seq: int) -> str:
    return make_id_number("110105", dt.date(2004, 1, 1) + dt.timedelta(days=seq // 900), seq % 900)


def make_init(booth: str, data: bytes, *, seq: int = 1, college: str = "信息学院", class_name: str = "计科2301",
              chunk_size: int = p.CHUNK_SIZE, photo_id: str | None = None, captured_at: str | None = None,
              ident: str | None = None) -> p.PhotoInit:
    return p.PhotoInit(booth=booth, photo_id=photo_id or uuid.uuid4().hex, id_number=ident or id_number(seq),
                       student_no=f"2023{seq:05d}", college=college, class_=class_name, session_id="s-1",
                       attempt=1, captured_at=captured_at or p.utc_now(), size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), chunk_size=chunk_size,
                       chunks=p.chunk_count(len(data), chunk_size))


def chunks_of(init: p.PhotoInit, data: bytes) -> list[bytes]:
    return [data[i * init.chunk_size:(i + 1) * init.chunk_size] for i in range(init.chunks)]


class MiniBooth:
    """A protocol-level booth: publishes raw topics and collects the acks addressed to it."""

    def __init__(self, broker: LocalBroker, booth: str, tls: TlsFiles | None = None) -> None:
        self.booth = booth
        self.acks: queue.Queue[p.Ack] = queue.Queue()
        self.refused: str | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{booth}-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        if tls:
            self.client.tls_set(ca_certs=str(tls.ca), certfile=str(tls.cert), keyfile=str(tls.key))
        self.client.on_message = lambda c, u, m: self.acks.put(p.decode("ack", m.payload)) \
            if m.topic == p.ack_topic(booth) else None
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(p.ack_topic(booth), qos=1)
        subscribed.wait(WAIT_S)  # an ack sent before the broker has the subscription would be lost

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)

    def send_photo(self, init: p.PhotoInit, data: bytes, *, skip: tuple[int, ...] = (),
                   fin: bool = True) -> None:
        self.publish(p.photo_init_topic(self.booth, init.photo_id), p.encode(init))
        for index, chunk in enumerate(chunks_of(init, data)):
            if index not in skip:
                self.publish(p.photo_chunk_topic(self.booth, init.photo_id, index), chunk)
        if fin:
            self.send_fin(init)

    def send_fin(self, init: p.PhotoInit) -> None:
        fin = p.PhotoFin(booth=self.booth, photo_id=init.photo_id, size=init.size, sha256=init.sha256,
                         chunks=init.chunks)
        self.publish(p.photo_fin_topic(self.booth, init.photo_id), p.encode(fin))

    def ack_for(self, ident: str, timeout: float = WAIT_S) -> p.Ack:
        deadline = time.monotonic() + timeout
        while True:
            ack = self.acks.get(timeout=max(0.01, deadline - time.monotonic()))
            if ack.id == ident:
                return ack

    def upload(self, init: p.PhotoInit, data: bytes, *, rounds: int = 20, ack_timeout: float = 5.0) -> p.Ack:
        """Send and answer "missing" acks (and silence, by re-sending the fin) until a final ack."""
        self.send_photo(init, data)
        return self.settle(init, data, rounds=rounds, ack_timeout=ack_timeout)

    def settle(self, init: p.PhotoInit, data: bytes, *, rounds: int = 20, ack_timeout: float = 5.0) -> p.Ack:
        """What a booth does after sending: re-send what central lists as missing, until a final ack."""
        for _ in range(rounds):
            try:
                ack = self.ack_for(init.photo_id, ack_timeout)
            except queue.Empty:
                self.send_fin(init)
                continue
            if ack.status != "missing":
                return ack
            if ack.resend == "init":
                self.send_photo(init, data)
                continue
            for index in ack.missing:
                self.publish(p.photo_chunk_topic(self.booth, init.photo_id, index), chunks_of(init, data)[index])
            self.send_fin(init)
        raise AssertionError(f"no final ack for {init.photo_id}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def central_config(data_dir: Path, broker: LocalBroker, *, db_url: str = "sqlite:central.db",
                   **ingest: Any) -> CentralConfig:
    return parse_central_config({
        "broker": {"url": f"mqtt://{broker.host}:{broker.port}"},
        "storage": {"data_dir": str(data_dir), "db_url": db_url},
        "ingest": {"missing_grace_s": 0.2, **ingest}})


def write_config_toml(path: Path, data_dir: Path, broker: LocalBroker, db_url: str = "sqlite:central.db") -> Path:
    path.write_text(
        f'[broker]\nurl = "mqtt://{broker.host}:{broker.port}"\n'
        f'[storage]\ndata_dir = "{data_dir}"\ndb_url = "{db_url}"\n'
        '[ingest]\nworkers = 1\nmissing_grace_s = 0.2\n', encoding="utf-8")
    return path


def spawn_serve(config_path: Path, client_id: str, log_path: Path) -> subprocess.Popen[bytes]:
    """``booth-central serve`` in its own process (so a test can SIGKILL it)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "central.cli", "-v", "serve", "--migrate", "--config",
                                 str(config_path), "--client-id", client_id], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "central"


@pytest.fixture
def ingest(broker: LocalBroker, data_dir: Path, db_url: str) -> Iterator[Ingest]:
    """Two ingest workers on the test's store, on each engine (``db_url``)."""
    with Ingest(central_config(data_dir, broker, db_url=db_url, workers=2)) as running:
        assert running.wait_connected()
        yield running


@pytest.fixture
def booth(broker: LocalBroker, ingest: Ingest) -> Iterator[MiniBooth]:
    mini = MiniBooth(broker, "booth-01")
    yield mini
    mini.close()


@pytest.fixture
def db(data_dir: Path, db_url: str, ingest: Ingest) -> Iterator[SqlStore]:
    """The ingest's store, read by the test on its own connection."""
    store = open_store(db_url, base=data_dir)
    yield store
    store.close()


@pytest.fixture
def store(tmp_path: Path, db_url: str) -> Iterator[SqlStore]:
    """A store without an ingest, on each engine."""
    opened = open_store(db_url, base=tmp_path)
    yield opened
    opened.close()
