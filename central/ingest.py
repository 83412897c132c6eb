"""The central ingest worker: booth statuses, events and photos from MQTT into the store.

Each worker is one MQTT 5 connection (paho 2.x, callback API 2) in the shared-subscription group,
one thread and one DB connection. This module is its transport: the paho client, the dispatch by
topic, statuses, telemetry and events; photo reassembly is ``central.photo_assembler`` and the
group commit ``central.batch_commit``.

Callbacks only put the message on the worker's queue (``boothcore.commit_then_ack``); the worker
thread takes every message already queued (up to ``_BATCH_MAX``), handles them, commits the batch
(photo files fsynced, all rows in one transaction), sends the "stored" acks, and only then PUBACKs
the messages (manual ack), so the broker's in-flight window bounds the queue and a killed worker
gets them delivered again.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from boothcore import protocol as p
from boothcore.commit_then_ack import CommitThenAck
from boothcore.durable import remove_stale_temps
from boothcore.link import LinkWatch
from boothcore.mqtt import make_client
from boothcore.names import printable
from boothcore.privacy import MaskIdNumbers
from central.batch_commit import BatchCommit, ReadyPhoto
from central.commands import build_command
from central.config import BrokerSection, CentralConfig
from central.paths import UnsafePathError
from central.photo_assembler import PhotoAssembler, Rejected
from central.photos import PhotoArchive, StoreResult
from central.staging import Staging
from central.store import BoothStatus, CommandRecord, EventRecord, PhotoRecord, StatusOutcome, Store, open_store

log = logging.getLogger("central.ingest")
# A temp file younger than this may be another worker's write in progress (this process's other
# workers, or another host's on the shared data folder): a write and rename takes milliseconds.
STALE_TEMP_S = 600.0
log.addFilter(MaskIdNumbers())  # exception texts (a photo's path) and peers' payloads carry ID numbers

_SHARED_SUB_ID, _SNAPSHOT_SUB_ID = 1, 2
_CLEAN_INTERVAL_S = 300.0
_BATCH_MAX = 64  # messages handled before one group commit
# Reconnect waits double from 1 s up to this cap: after the broker comes back, the workers are
# connected (and the booths' backlog flows) within about this long. A few connects every 2 s to a
# broker that is down cost it nothing.
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 2
_SHARE_GROUP_CONTEXT = b"diploma-booth central share group v1"


def share_group(broker: BrokerSection) -> str:
    """The shared-subscription group of the ingest workers.

    ``broker.share_group`` when set; otherwise, under TLS, a name derived (HMAC-SHA256) from
    central's private key, which no booth holds: mosquitto 2.0's acl_file does not check
    SUBSCRIBE, so a booth that knew the group could join it and black-hole the messages the
    broker hands it (its read is denied at delivery). Without TLS (tests, the demo): "ingest".
    """
    if broker.share_group:
        return broker.share_group
    if broker.tls is None:
        return "ingest"
    digest = hmac.new(broker.tls.key.read_bytes(), _SHARE_GROUP_CONTEXT, hashlib.sha256).hexdigest()
    return f"ingest-{digest[:32]}"


@dataclass
class _Message:
    topic: str
    payload: bytes
    qos: int
    mid: int
    retain: bool
    sub_ids: tuple[int, ...]


def _printable_data(value: Any) -> Any:
    """An event's data with every text ``printable``: escape codes are stored as text, never raw."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(key)): _printable_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable_data(item) for item in value]
    return value


class IngestWorker:
    """One ingest connection + thread. ``start()``, then ``stop()``; ``on_stored`` is for tests/bench."""

    def __init__(self, config: CentralConfig, index: int = 0, *,
                 on_stored: Callable[[PhotoRecord], None] | None = None) -> None:
        self.config = config
        self.index = index
        self.data_dir = config.storage.data_dir
        self.staging = Staging(self.data_dir / "staging")
        self.archive = PhotoArchive(self.data_dir)
        self.known = frozenset(config.ingest.known_booths)
        self.counters: dict[str, int] = {"stored": 0, "rejected": 0, "missing": 0, "events": 0,
                                         "refused_chunks": 0}
        self.batch = BatchCommit(self.archive, lambda: self.store, settle=self._settle, ack=self._ack, index=index)
        # Callbacks enqueue; the worker handles a batch, commits it, then PUBACKs its messages.
        self.inbox: CommitThenAck[_Message] = CommitThenAck(handle=self._handle, commit=self.batch.flush,
                                                            acknowledge=self._puback, limit=_BATCH_MAX)
        self.assembler = PhotoAssembler(self.staging, self.batch, lambda: self.store, ack=self._ack, defer=self._defer,
                                        counters=self.counters, grace_s=config.ingest.missing_grace_s,
                                        staging_limit=config.storage.staging_max_bytes_per_booth,
                                        on_stored=on_stored, index=index)
        self._deferred: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ingest-{index}", daemon=True)
        self._store: Store | None = None
        self.connected = threading.Event()
        self._subscribing: set[int | None] = set()  # None: not sent (the link dropped; on_connect runs again)
        self.share_group = share_group(config.broker)
        self.link = LinkWatch(log, f"worker {index}: broker {config.broker.url}")
        self.client = self._make_client()

    # --------------------------------------------------------------------------------- MQTT side
    def _make_client(self) -> mqtt.Client:
        broker = self.config.broker
        client = make_client(f"{broker.client_id}-{self.index}", tls=broker.client_tls, manual_ack=True,
                             reconnect_s=(RECONNECT_MIN_S, RECONNECT_MAX_S))
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_connect_fail = lambda client, userdata: self.link.failed("cannot connect")
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.link.failed(f"refused: {reason}")
            return
        self.link.connected()
        shared = Properties(PacketTypes.SUBSCRIBE)
        shared.SubscriptionIdentifier = _SHARED_SUB_ID
        group = self.share_group
        _, shared_mid = client.subscribe([(topic, 1) for topic in p.central_subscriptions(group)],
                                         properties=shared)
        # Shared subscriptions get no retained messages: a plain one delivers the retained statuses
        # (the fleet's state at start); its live copies are dropped in favour of the shared ones.
        snapshot = Properties(PacketTypes.SUBSCRIBE)
        snapshot.SubscriptionIdentifier = _SNAPSHOT_SUB_ID
        _, snapshot_mid = client.subscribe(f"{p.BOOTH_PREFIX}/+/status", qos=1, properties=snapshot)
        self._subscribing = {shared_mid, snapshot_mid}  # ``connected`` once the broker confirmed both
        log.info("worker %d connected to %s", self.index, self.config.broker.url)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        self._subscribing.discard(mid)
        if not self._subscribing:
            self.connected.set()  # subscribed: nothing published from now on passes this worker by

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            self.link.failed(f"connection lost: {reason}")

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        sub_ids = getattr(msg.properties, "SubscriptionIdentifier", None) or []
        self.inbox.put(_Message(msg.topic, bytes(msg.payload), msg.qos, msg.mid, bool(msg.retain),
                                 tuple(sub_ids)))

    def start(self) -> IngestWorker:
        broker = self.config.broker
        connect_props = Properties(PacketTypes.CONNECT)
        connect_props.SessionExpiryInterval = self.config.ingest.session_expiry_s
        self._thread.start()
        self.client.connect_async(broker.host, broker.port, keepalive=broker.keepalive_s,
                                  clean_start=self.config.ingest.session_expiry_s == 0,
                                  properties=connect_props)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.inbox.close()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.client.disconnect()
        self.client.loop_stop()

    # ------------------------------------------------------------------------------ worker side
    def _run(self) -> None:
        self._store = store = open_store(self.config.storage.db_url, base=self.data_dir)
        if self.index == 0:
            for folder in (self.archive.root, self.archive.captures, self.staging.root):
                remove_stale_temps(folder, min_age_s=STALE_TEMP_S)
            if not self.known and self.config.broker.tls is None:
                log.warning("ingest.known_booths is empty and the broker link has no TLS: no certificate binds"
                            " a booth id to its topics, so any client the broker admits is taken for a booth")
        next_clean = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                while self._deferred and self._deferred[0][0] <= now:
                    _, _, task = heapq.heappop(self._deferred)
                    self._guard(task)
                if self.index == 0 and now >= next_clean:
                    removed = self.staging.clean_stale(self.config.storage.staging_ttl_s)
                    if removed:
                        log.info("removed %d stale staging folder(s)", removed)
                    next_clean = now + _CLEAN_INTERVAL_S
                self.batch.flush()  # what the deferred tasks completed
                timeout = max(0.0, self._deferred[0][0] - now) if self._deferred else 1.0
                with store.held():  # one pool checkout for the batch's statements (PostgreSQL)
                    if not self.inbox.step(min(timeout, 1.0)):
                        return
        finally:
            store.close()

    def _handle(self, message: _Message) -> None:
        self._guard(lambda: self._dispatch(message))

    def _puback(self, message: _Message) -> None:
        """PUBACK a message once its batch is committed: a worker killed before this gets it again."""
        if message.qos > 0:
            self.client.ack(message.mid, message.qos)

    def _guard(self, task: Callable[[], None]) -> None:
        """Bad input never stops the worker: log and go on (the booth re-sends what is not acked)."""
        try:
            task()
        except Exception:
            log.exception("worker %d: unexpected error while handling a message", self.index)

    def _defer(self, delay_s: float, task: Callable[[], None]) -> None:
        heapq.heappush(self._deferred, (time.monotonic() + delay_s, next(self._seq), task))

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the store opens in the worker thread")
        return self._store

    def _dispatch(self, message: _Message) -> None:
        """Dispatch one message by topic kind; malformed ones are logged (and acked "rejected").

        Row writes and photo stores wait for the batch's commit; so do the acks they earn.
        """
        try:
            topic = p.parse_booth_topic(message.topic)
        except p.ProtocolError as error:
            log.warning("dropped message on a malformed topic: %s", error.reason)
            return
        if self.known and topic.booth not in self.known:
            # No ack: a booth missing from the list keeps its data until an operator adds it.
            log.warning("dropped %s from unknown booth %s (not in ingest.known_booths)", topic.kind, topic.booth)
            return
        if _SNAPSHOT_SUB_ID in message.sub_ids and _SHARED_SUB_ID not in message.sub_ids \
                and not message.retain:
            return  # the live copy of a status arrives through the shared subscription too
        handler = {"status": self._status, "telemetry": self._telemetry, "event": self._event,
                   "photo_init": self.assembler.init, "photo_chunk": self.assembler.chunk,
                   "photo_fin": self.assembler.fin}[topic.kind]
        try:
            handler(topic, message.payload)
        except (p.ProtocolError, Rejected, UnsafePathError) as error:
            reason = getattr(error, "reason", None) or str(error)
            self.counters["rejected"] += 1
            log.warning("rejected %s from %s (%s): %s", topic.kind, topic.booth, topic.ident or "-", reason)
            if topic.kind == "photo_init" and topic.ident:
                self.assembler.remember_refused(topic.ident, reason)
            if topic.kind in ("event", "photo_init", "photo_chunk", "photo_fin") and topic.ident:
                kind: p.AckKind = "event" if topic.kind == "event" else "photo"
                self._ack(topic.booth, kind, topic.ident, "rejected", reason=reason[:500])

    def _settle(self, item: ReadyPhoto, result: StoreResult | Exception) -> None:
        self.assembler.settle(item, result)

    def _ack(self, booth: str, kind: p.AckKind, ident: str, status: p.AckStatus, **fields: Any) -> None:
        if status == "missing":
            self.counters["missing"] += 1
        ack = p.Ack(kind=kind, id=ident, status=status, **fields)
        self.client.publish(p.ack_topic(booth), p.encode(ack), qos=p.QOS_CENTRAL)

    # ------------------------------------------------------------------------- status, events
    def _status(self, topic: p.BoothTopic, payload: bytes) -> None:
        status: p.Status = p.decode("status", payload)
        if status.booth != topic.booth:
            raise Rejected(f"status names booth {status.booth!r} on the topic of {topic.booth!r}")
        session = status.session.model_dump(by_alias=True) if status.session else None
        record = BoothStatus(
            booth=status.booth, boot=status.boot, online=status.online, state=status.state, ts=status.ts,
            session=session, queue_depth=status.queue_depth, disk_free_mb=status.disk_free_mb,
            cpu_temp_c=status.cpu_temp_c, version=status.version, install_id=status.install_id)

        def write() -> Callable[[], None]:
            outcome = self.store.record_status(record)
            return lambda: self._log_status(status, outcome)

        self.batch.later((status.booth, ""), write)

    @staticmethod
    def _log_status(status: p.Status, outcome: StatusOutcome) -> None:
        """The line a committed status is worth (none for the usual one, nor for a stale one: the
        workers share one subscription, so a booth's statuses a few ms apart (idle, then ready at the
        next card) reach two workers and commit in either order; the store keeps the newer)."""
        if outcome is StatusOutcome.STALE:
            log.debug("ignored a stale status of %s (boot %d)", status.booth, status.boot)
        elif outcome is StatusOutcome.RETIRED:
            log.warning("ignored a status of %s from install %s, which a newer install replaced (boot %d)",
                        status.booth, status.install_id, status.boot)
        elif outcome is StatusOutcome.RESET:
            log.warning("booth %s was reset: install %s starts a new boot sequence at boot %d (its data"
                        " folder was replaced; earlier boots are history)", status.booth, status.install_id,
                        status.boot)

    def _telemetry(self, topic: p.BoothTopic, payload: bytes) -> None:
        telemetry: p.Telemetry = p.decode("telemetry", payload)
        if telemetry.booth != topic.booth:
            raise Rejected("telemetry names another booth")
        data = telemetry.model_dump(mode="json")
        self.batch.later((topic.booth, ""), lambda: self.store.record_telemetry(topic.booth, telemetry.ts, data))

    def _event(self, topic: p.BoothTopic, payload: bytes) -> None:
        event: p.Event = p.decode("event", payload)
        if event.booth != topic.booth or event.event_id != topic.ident:
            raise Rejected("event booth/event_id differ from its topic")
        data = _printable_data(dict(event.data))
        record = EventRecord(event_id=event.event_id, booth=event.booth, ts=event.ts, kind=event.kind, data=data)

        def write() -> Callable[[], None] | None:
            if not self.store.record_event(record):
                return None  # a re-send: recorded before, acked again
            if event.kind == "command_result":
                result = p.CommandResultData.model_validate(event.data)
                self.store.record_command_result(result.command_id, result.ok, printable(result.message))
            if event.kind == "class_closed":
                answer = self._class_photographed(event.booth, p.ClassClosedData.model_validate(event.data))
                if answer is not None:
                    return lambda: self._count_and_send(event.booth, answer)
            return self._count_event

        self.batch.later((event.booth, event.event_id), write, (topic.booth, "event", event.event_id, {}))

    def _class_photographed(self, booth: str, closed: p.ClassClosedData) -> p.Command | None:
        """The answer to a class session's close, recorded with the event: who of the class has a
        current photo here, from any booth (the booth's summary knows only its own photos)."""
        if not closed.college:
            return None  # a make-up session lists nobody missing
        photos = self.store.photos(college=closed.college, class_name=closed.class_)
        command = build_command("class_photographed", {"session_id": closed.session_id,
                                                       "id_numbers": sorted({photo.id_number for photo in photos})})
        self.store.record_command(CommandRecord(command_id=command.command_id, booth=booth, kind=command.kind,
                                                data=dict(command.data)))
        return command

    def _count_and_send(self, booth: str, command: p.Command) -> None:
        """After the commit of the event that asked for ``command``: count the event, send the command."""
        self._count_event()
        self.client.publish(p.command_topic(booth, command.command_id), p.encode(command), qos=p.QOS_CENTRAL)

    def _count_event(self) -> None:
        """Once per event whose batch committed (a batch PostgreSQL aborted runs its writes again)."""
        self.counters["events"] += 1


class Ingest:
    """``workers`` IngestWorkers in this process (the ``booth-central serve`` entry point)."""

    def __init__(self, config: CentralConfig, workers: int | None = None, *,
                 on_stored: Callable[[PhotoRecord], None] | None = None) -> None:
        count = workers or config.ingest.workers
        self.workers = [IngestWorker(config, index, on_stored=on_stored) for index in range(count)]

    def start(self) -> Ingest:
        for worker in self.workers:
            worker.start()
        return self

    def wait_connected(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        return all(w.connected.wait(max(0.0, deadline - time.monotonic())) for w in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def __enter__(self) -> Ingest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_ingest(config: CentralConfig, workers: int | None = None,
               stop: threading.Event | None = None) -> int:
    """Run the ingest until ``stop`` is set (or forever); return an exit code."""
    stop = stop or threading.Event()
    with Ingest(config, workers):
        stop.wait()
    return 0
