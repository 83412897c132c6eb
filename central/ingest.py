"""The central ingest worker: booth statuses, events and photos from MQTT into the store.

Each worker is one MQTT 5 connection (paho 2.x, callback API 2) in the shared-subscription group,
one thread and one DB connection. Callbacks only put the message on the worker's queue; the
worker thread handles it and only then PUBACKs it (manual ack), so the broker's in-flight window
bounds the queue. Photo reassembly lives on disk (central.staging), so several workers, in one
process or many, can share the traffic: whichever sees the set complete stores it. "stored" is
acked only after the file is fsynced and the row committed.

Group commit: the worker takes every message already queued (up to ``_BATCH_MAX``), handles them,
then stores the photos completed among them (each file fsynced) and commits all their rows, the
statuses and the events in one transaction; only then does it send the "stored" acks and PUBACK
the messages. Under load that is one database sync per batch instead of one per message.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import hmac
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from boothcore import protocol as p
from boothcore.durable import remove_stale_temps
from boothcore.link import LinkWatch
from boothcore.mqtt import make_client
from boothcore.names import printable
from boothcore.privacy import MaskIdNumbers, mask_id
from central.config import BrokerSection, CentralConfig
from central.paths import UnsafePathError, safe_segment
from central.photos import PhotoArchive, StoreResult, store_batch
from central.staging import Staging
from central.store import BoothStatus, EventRecord, PhotoRecord, StatusOutcome, Store, open_store

log = logging.getLogger("central.ingest")
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


@dataclass
class _Ready:
    """A verified photo waiting for the batch's commit; ``ack``: its fin was seen, ack "stored"."""

    booth: str
    init: p.PhotoInit
    record: PhotoRecord
    data: bytes
    ack: bool


_AckArgs = tuple[str, p.AckKind, str, dict[str, Any]]  # booth, kind, id, fields of a "stored" ack


def _printable_data(value: Any) -> Any:
    """An event's data with every text ``printable``: escape codes are stored as text, never raw."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(key)): _printable_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable_data(item) for item in value]
    return value


class Rejected(Exception):
    """A payload refused for a reason that is logged (and sent back in a "rejected" ack)."""


class IngestWorker:
    """One ingest connection + thread. ``start()``, then ``stop()``; ``on_stored`` is for tests/bench."""

    def __init__(self, config: CentralConfig, index: int = 0, *,
                 on_stored: Callable[[PhotoRecord], None] | None = None) -> None:
        self.config = config
        self.index = index
        self.on_stored = on_stored
        self.data_dir = config.storage.data_dir
        self.staging = Staging(self.data_dir / "staging")
        self.archive = PhotoArchive(self.data_dir)
        self.known = frozenset(config.ingest.known_booths)
        self.grace_s = config.ingest.missing_grace_s
        self.staging_limit = config.storage.staging_max_bytes_per_booth
        self.counters: dict[str, int] = {"stored": 0, "rejected": 0, "missing": 0, "events": 0,
                                         "refused_chunks": 0}
        self._warned_no_roster = False
        self._held: dict[str, int] = {}  # booth -> bytes of unannounced chunks held (``_hold``)
        # photo_id -> why its init was rejected: its chunks are dropped quietly, its fin answered the same.
        self._refused: dict[str, str] = {}
        self._queue: queue.Queue[_Message | None] = queue.Queue()
        self._deferred: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ingest-{index}", daemon=True)
        self._store: Store | None = None
        self._inits: dict[bytes, p.PhotoInit] = {}  # parsed staged inits (validation is not free)
        # The current batch: photos to store and row writes to commit, with the acks they earn.
        self._ready: dict[str, _Ready] = {}
        self._ops: list[tuple[Callable[[], None], _AckArgs | None]] = []
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
        self._queue.put(_Message(msg.topic, bytes(msg.payload), msg.qos, msg.mid, bool(msg.retain),
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
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.client.disconnect()
        self.client.loop_stop()

    # ------------------------------------------------------------------------------ worker side
    def _run(self) -> None:
        self._store = open_store(self.config.storage.db_url, base=self.data_dir)
        if self.index == 0:
            remove_stale_temps(self.archive.root)
            remove_stale_temps(self.archive.captures)
            remove_stale_temps(self.staging.root)
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
                self._flush()  # what the deferred tasks completed
                timeout = max(0.0, self._deferred[0][0] - now) if self._deferred else 1.0
                try:
                    first = self._queue.get(timeout=min(timeout, 1.0))
                except queue.Empty:
                    continue
                batch = [first]
                while batch[-1] is not None and len(batch) < _BATCH_MAX:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                messages = [m for m in batch if m is not None]
                for message in messages:
                    self._guard(functools.partial(self._dispatch, message))
                self._flush()
                # PUBACK only now: a worker killed before this gets the messages delivered again.
                for message in messages:
                    if message.qos > 0:
                        self.client.ack(message.mid, message.qos)
                if batch[-1] is None:
                    return
        finally:
            self._store.close()

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

    def handle(self, message: _Message) -> None:
        """Handle one message and commit what it changed (a batch of one)."""
        self._guard(lambda: self._dispatch(message))
        self._flush()

    def _dispatch(self, message: _Message) -> None:
        """Dispatch one message by topic kind; malformed ones are logged (and acked "rejected").

        Row writes and photo stores wait for the batch's ``_flush``; so do the acks they earn.
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
                   "photo_init": self._init, "photo_chunk": self._chunk, "photo_fin": self._fin}[topic.kind]
        try:
            handler(topic, message.payload)
        except (p.ProtocolError, Rejected, UnsafePathError) as error:
            reason = getattr(error, "reason", None) or str(error)
            self.counters["rejected"] += 1
            log.warning("rejected %s from %s (%s): %s", topic.kind, topic.booth, topic.ident or "-", reason)
            if topic.kind == "photo_init" and topic.ident:
                self._remember_refused(topic.ident, reason)
            if topic.kind in ("event", "photo_init", "photo_chunk", "photo_fin") and topic.ident:
                kind: p.AckKind = "event" if topic.kind == "event" else "photo"
                self._ack(topic.booth, kind, topic.ident, "rejected", reason=reason[:500])

    def _remember_refused(self, photo_id: str, reason: str) -> None:
        if len(self._refused) >= 4096:
            self._refused.clear()
        self._refused[photo_id] = reason

    def _later(self, op: Callable[[], None], ack: _AckArgs | None = None) -> None:
        """Run ``op`` (row writes) in the batch's transaction; send ``ack`` once it is committed."""
        self._ops.append((op, ack))

    def _flush(self) -> None:
        """Group commit of the batch: photo files, then all rows in one transaction, then the acks."""
        if not self._ready and not self._ops:
            return
        ready, ops = list(self._ready.values()), self._ops
        self._ready, self._ops = {}, []
        acks: list[_AckArgs] = []

        def run_ops() -> None:
            for op, ack in ops:
                try:
                    op()  # in a savepoint of the batch: a failing one rolls back alone
                except Exception:
                    log.exception("worker %d: a row write failed; its message is not acked", self.index)
                    continue
                if ack is not None:
                    acks.append(ack)

        try:
            if ready:
                results = self.archive.store_many(self.store, [(r.record, r.data) for r in ready],
                                                  in_transaction=run_ops)
            else:
                with store_batch(self.store):
                    run_ops()
        except Exception:
            log.exception("worker %d: the batch commit failed; nothing of it is acked (booths re-send)",
                          self.index)
            return
        for item, result in zip(ready, results if ready else [], strict=True):
            self._stored(item, result)
        for booth, kind, ident, fields in acks:
            self._ack(booth, kind, ident, "stored", **fields)

    def _stored(self, item: _Ready, result: StoreResult | Exception) -> None:
        booth, photo_id, init = item.booth, item.init.photo_id, item.init
        if isinstance(result, UnsafePathError):
            self.counters["rejected"] += 1
            log.warning("rejected photo from %s (%s): %s", booth, photo_id, result)
            self.staging.discard(booth, photo_id)
            self._ack(booth, "photo", photo_id, "rejected", reason=str(result)[:500])
            return
        if isinstance(result, Exception):  # staged chunks stay; the booth's next fin tries again
            log.error("worker %d: photo %s from %s not stored (retried on its next fin): %s", self.index,
                      photo_id, booth, result)
            return
        if result.new:
            self.counters["stored"] += 1
            log.info("stored photo %s of %s from %s (%d bytes)", photo_id, mask_id(init.id_number), booth,
                     init.size)
            if self.on_stored:
                self.on_stored(result.record)
        # One ack per photo in the usual order (chunks, then fin): the fin's handler acks; a set
        # completed by a chunk or init acks only when the fin is already here. The fin is looked
        # for after the commit, and a fin's handler looks for the row after staging the fin, so
        # one of the two workers always sees the other.
        fin_seen = item.ack or self.staging.has_fin(booth, photo_id)
        self.staging.discard(booth, photo_id)
        if fin_seen:
            self._ack(booth, "photo", photo_id, "stored", sha256=init.sha256)

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

        def write() -> None:
            outcome = self.store.record_status(record)
            if outcome is StatusOutcome.STALE:
                log.info("ignored a stale status of %s (boot %d)", status.booth, status.boot)
            elif outcome is StatusOutcome.RETIRED:
                log.warning("ignored a status of %s from install %s, which a newer install replaced (boot %d)",
                            status.booth, status.install_id, status.boot)
            elif outcome is StatusOutcome.RESET:
                log.warning("booth %s was reset: install %s starts a new boot sequence at boot %d (its data"
                            " folder was replaced; earlier boots are history)", status.booth, status.install_id,
                            status.boot)

        self._later(write)

    def _telemetry(self, topic: p.BoothTopic, payload: bytes) -> None:
        telemetry: p.Telemetry = p.decode("telemetry", payload)
        if telemetry.booth != topic.booth:
            raise Rejected("telemetry names another booth")
        data = telemetry.model_dump(mode="json")
        self._later(lambda: self.store.record_telemetry(topic.booth, telemetry.ts, data))

    def _event(self, topic: p.BoothTopic, payload: bytes) -> None:
        event: p.Event = p.decode("event", payload)
        if event.booth != topic.booth or event.event_id != topic.ident:
            raise Rejected("event booth/event_id differ from its topic")
        data = _printable_data(dict(event.data))
        record = EventRecord(event_id=event.event_id, booth=event.booth, ts=event.ts, kind=event.kind, data=data)

        def write() -> None:
            if not self.store.record_event(record):
                return  # a re-send: recorded before, acked again
            if event.kind == "command_result":
                result = p.CommandResultData.model_validate(event.data)
                self.store.record_command_result(result.command_id, result.ok, printable(result.message))
            self.counters["events"] += 1

        self._later(write, (topic.booth, "event", event.event_id, {}))

    # ---------------------------------------------------------------------------------- photos
    def _already_stored(self, booth: str, photo_id: str, sha256: str | None) -> bool:
        """True (and acked) when the photo is stored; Rejected when stored with other content.

        A photo completed earlier in this batch counts: it is acked after the batch's commit.
        """
        ready = self._ready.get(photo_id)
        if ready is not None:
            if ready.booth != booth or (sha256 is not None and ready.init.sha256 != sha256):
                raise Rejected("photo_id already stored with a different booth or sha256")
            ready.ack = True
            return True
        record = self.store.photo(photo_id)
        if record is None:
            return False
        if record.booth != booth or (sha256 is not None and record.sha256 != sha256):
            raise Rejected("photo_id already stored with a different booth or sha256")
        self.staging.discard(booth, photo_id)
        self._ack(booth, "photo", photo_id, "stored", sha256=record.sha256)
        return True

    def _staged_init(self, booth: str, photo_id: str) -> p.PhotoInit | None:
        raw = self.staging.init(booth, photo_id)
        if raw is None:
            return None
        cached = self._inits.get(raw)
        if cached is not None:
            return cached
        try:
            init = p.decode("photo_init", raw)
        except p.ProtocolError:
            self.staging.discard(booth, photo_id)  # cannot happen unless the disk lies; start over
            return None
        if len(self._inits) >= 4096:
            self._inits.clear()
        self._inits[raw] = init
        return init

    def _init(self, topic: p.BoothTopic, payload: bytes) -> None:
        init: p.PhotoInit = p.decode("photo_init", payload)
        if init.booth != topic.booth or init.photo_id != topic.ident:
            raise Rejected("init booth/photo_id differ from its topic")
        # Refuse unsafe folder names now (the store checks the whole resolved path again).
        safe_segment(init.college)
        safe_segment(init.class_)
        if self._already_stored(topic.booth, init.photo_id, init.sha256):
            return
        self._check_roster(topic.booth, init)
        self._refused.pop(init.photo_id, None)
        previous = self._staged_init(topic.booth, init.photo_id)
        if previous is not None and previous != init:
            log.info("photo %s: a different init replaces the staged one", init.photo_id)
            self.staging.discard(topic.booth, init.photo_id)
        if previous is None:
            evicted = self.staging.make_room(topic.booth, init.photo_id, init.size, self.staging_limit)
            if evicted:
                log.warning("staging of %s reached its bound (%.0f MiB, storage.staging_max_mib_per_booth):"
                            " discarded %d unfinished photo(s), oldest first: %s", topic.booth,
                            self.staging_limit / 2**20, len(evicted), ", ".join(evicted))
        self.staging.put_init(topic.booth, init.photo_id, payload)
        self._complete(topic.booth, init.photo_id, trigger="init")

    def _check_roster(self, booth: str, init: p.PhotoInit) -> None:
        """Rejected unless the person is on central's roster, in the class the photo names, and that
        class is the one the booth had open in the photo's session (when central knows the session).

        With no roster imported at all there is nothing to check against: logged, and accepted.
        """
        who = mask_id(init.id_number)
        entry = self.store.roster_entry(init.id_number)
        if entry is None:
            if self.store.roster_size() == 0:
                if not self._warned_no_roster:
                    log.warning("central has no roster: photos are not checked against it (import one with"
                                " booth-central roster import)")
                    self._warned_no_roster = True
                return
            raise Rejected(f"ID number {who} is not on central's roster")
        if (entry.college, entry.class_name) != (init.college, init.class_):
            raise Rejected(f"ID number {who} is on the roster of {entry.college}/{entry.class_name},"
                           f" not {init.college}/{init.class_}")
        session = self.store.session_class(booth, init.session_id) if init.session_id else None
        if session is not None and session[0] == "class" and session[1:] != (init.college, init.class_):
            raise Rejected(f"booth {booth} had {session[1]}/{session[2]} open in session {init.session_id},"
                           f" not {init.college}/{init.class_}")

    def _chunk(self, topic: p.BoothTopic, payload: bytes) -> None:
        assert topic.ident is not None and topic.chunk_index is not None
        init = self._staged_init(topic.booth, topic.ident)
        data = p.decode_chunk(payload, init, topic.chunk_index)
        if init is None:
            if topic.ident in self._ready or self.store.photo(topic.ident) is not None:
                return  # a late duplicate of a stored photo's chunk; the fin answers
            if topic.ident in self._refused:
                return  # its init was rejected (and answered): nothing of it is kept
            self._hold(topic.booth, topic.ident, topic.chunk_index, data)
            return
        self._stage_chunk(topic.booth, init, topic.chunk_index, data)

    def _stage_chunk(self, booth: str, init: p.PhotoInit, index: int, data: bytes) -> None:
        """Stage one chunk of an announced photo; only the last one looks for a complete set.

        Looking on every chunk costs a scan of the photo's folder each time (quadratic in the
        chunk count). The booth sends the chunks in order and then the fin (also after re-sending
        missing ones), so the last chunk and the fin are the moments a set can be complete; a
        chunk another worker is still writing then is found by the fin's look or its recheck.
        """
        last = index == init.chunks - 1
        # The chunk that completes the set (a whole photo, for most) need not go through the disk.
        if last and self._complete(booth, init.photo_id, trigger="chunk", fresh=(index, data)):
            return
        self.staging.put_chunk(booth, init.photo_id, index, data)

    def _hold(self, booth: str, photo_id: str, index: int, data: bytes) -> None:
        """A chunk no staged init announced: hold it in memory briefly, then stage or refuse it.

        Another worker may be staging its init right now (the booth sends the init first, but a
        shared subscription may hand the chunk to this worker first). Held bytes count against
        the booth's staging bound; a chunk still unannounced after ``missing_grace_s`` is refused
        with a log line and never written (the booth's fin then gets "missing, resend init").
        """
        held = self._held.get(booth, 0)
        if held + len(data) > self.staging_limit:
            self._refuse_chunk(booth, photo_id, index, "no init announced it and the booth's held chunks "
                                                       "reach its staging bound")
            return
        self._held[booth] = held + len(data)

        def retry() -> None:
            self._held[booth] -= len(data)
            init = self._staged_init(booth, photo_id)
            if init is None:
                if photo_id not in self._ready and self.store.photo(photo_id) is None:
                    self._refuse_chunk(booth, photo_id, index, "no init announced it")
                return
            try:
                checked = p.decode_chunk(data, init, index)
            except p.ProtocolError as error:
                self._refuse_chunk(booth, photo_id, index, error.reason)
                return
            self._stage_chunk(booth, init, index, checked)

        self._defer(self.grace_s, retry)

    def _refuse_chunk(self, booth: str, photo_id: str, index: int, reason: str) -> None:
        self.counters["refused_chunks"] += 1
        log.warning("refused chunk %d of photo %s from %s: %s (not staged)", index, photo_id, booth, reason)

    def _fin(self, topic: p.BoothTopic, payload: bytes) -> None:
        fin: p.PhotoFin = p.decode("photo_fin", payload)
        if fin.booth != topic.booth or fin.photo_id != topic.ident:
            raise Rejected("fin booth/photo_id differ from its topic")
        if self._already_stored(topic.booth, fin.photo_id, fin.sha256):
            return
        init = self._staged_init(topic.booth, fin.photo_id)
        if init is None and fin.photo_id in self._refused:
            raise Rejected(self._refused[fin.photo_id])
        if init is not None and (init.size, init.sha256, init.chunks) != (fin.size, fin.sha256, fin.chunks):
            raise Rejected("fin size/sha256/chunks differ from the init")
        if init is not None:  # a fin of a photo nobody announced stages nothing; its recheck answers
            try:
                self.staging.put_fin(topic.booth, fin.photo_id)
            except FileNotFoundError:  # the worker that stored the photo removed its staging meanwhile
                if self._already_stored(topic.booth, fin.photo_id, fin.sha256):
                    return
                raise
            if self._complete(topic.booth, fin.photo_id, trigger="fin"):
                return
        # The worker that had the last chunk may have stored the photo between our first look and
        # the fin landing on disk (and so not seen the fin): look for the row again.
        if self._already_stored(topic.booth, fin.photo_id, fin.sha256):
            return
        # Another worker may be writing the last chunk (or the init) right now: look again shortly.
        seen = len(self.staging.present(topic.booth, fin.photo_id))
        self._defer(self.grace_s, lambda: self._recheck(topic.booth, fin, seen))

    def _recheck(self, booth: str, fin: p.PhotoFin, seen: int) -> None:
        """The fin's second look: store, or answer what is missing.

        ``seen``: chunks staged at the previous look. When more arrived since (the booth is
        re-sending right now), look once more instead of asking for chunks already on their way;
        when fewer are left, the worker that dropped them has answered already.
        """
        if self._already_stored(booth, fin.photo_id, fin.sha256):
            return
        init = self._staged_init(booth, fin.photo_id)
        if init is None:
            self._ack(booth, "photo", fin.photo_id, "missing", missing=[], resend="init")
            return
        if self._complete(booth, fin.photo_id, trigger="fin"):
            return
        present = self.staging.present(booth, fin.photo_id)
        if len(present) > seen:
            self._defer(self.grace_s, lambda: self._recheck(booth, fin, len(present)))
            return
        if len(present) < seen:
            return  # another worker dropped the set (its sha256 did not match) and asked for it again
        missing = [i for i in range(init.chunks) if present.get(i) != init.chunk_length(i)]
        self._ack(booth, "photo", fin.photo_id, "missing", missing=missing)

    def _complete(self, booth: str, photo_id: str, *, trigger: str,
                  fresh: tuple[int, bytes] | None = None) -> bool:
        """Queue the photo for the batch's store when the init and every chunk are there.

        ``fresh`` is a chunk in hand (index, bytes), counted as present without being staged.
        True once the photo is stored, waits for the batch's commit, or was answered: a set whose
        sha256 does not match is dropped and every chunk asked for again.
        """
        ready = self._ready.get(photo_id)
        if ready is not None:
            ready.ack = ready.ack or trigger == "fin"
            return True
        init = self._staged_init(booth, photo_id)
        if init is None:
            return False
        present = self.staging.present(booth, photo_id)
        for index, size in present.items():
            if index >= init.chunks or size != init.chunk_length(index):
                log.warning("photo %s: dropped staged chunk %d of the wrong size", photo_id, index)
                self.staging.drop_chunk(booth, photo_id, index)
        if fresh is not None:
            present[fresh[0]] = len(fresh[1])
        if any(present.get(i) != init.chunk_length(i) for i in range(init.chunks)):
            return False
        try:
            data = b"".join(fresh[1] if fresh is not None and i == fresh[0]
                            else self.staging.read_chunk(booth, photo_id, i) for i in range(init.chunks))
        except FileNotFoundError:
            return False  # another worker stored it and cleaned up meanwhile
        if len(data) != init.size or hashlib.sha256(data).hexdigest() != init.sha256:
            log.warning("photo %s from %s: sha256/size mismatch; asking for every chunk again", photo_id, booth)
            for index in range(init.chunks):
                self.staging.drop_chunk(booth, photo_id, index)
            self._ack(booth, "photo", photo_id, "missing", missing=list(range(init.chunks)))
            return True
        record = PhotoRecord(
            photo_id=photo_id, booth=booth, id_number=init.id_number, student_no=init.student_no,
            college=init.college, class_name=init.class_, session_id=init.session_id, attempt=init.attempt,
            captured_at=init.captured_at, size=init.size, sha256=init.sha256, path="")
        self._ready[photo_id] = _Ready(booth, init, record, data, ack=trigger == "fin")
        return True


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
