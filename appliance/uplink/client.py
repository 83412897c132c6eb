"""The booth's MQTT uplink: status, telemetry, events and chunked photo upload from the outbox.

Made of a thin paho loop (``broker_link.BrokerLink``), the photo sender (``photo_sender``), the
command runner (``command_runner``) and the status reporter (``status_reporter``); this module
holds the booth-facing API, the events in flight and the sender thread that drives them.

Threads: paho's network loop runs the callbacks, which only put a typed message
(``messages``) on a queue (``boothcore.commit_then_ack``); one sender thread does all the work:
reading the outbox, publishing, handling acks and commands. The booth flow calls
``photo_saved``/``event`` from its own thread; they write the outbox synchronously (durable when
they return) and wake the sender. Incoming messages are acknowledged to the broker (manual ack)
only after they were handled, so a kill never loses an ack or a command.

Group commit: the sender handles everything queued before it writes; the "stored" acks among it
retire their outbox rows in one transaction (``PhotoSender.commit_stored_acks``), and the broker
PUBACKs of those messages follow that commit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from appliance import __version__
from appliance.uplink.broker_link import BrokerLink
from appliance.uplink.command_runner import CommandRunner
from appliance.uplink.messages import (
    Connected,
    Disconnected,
    Incoming,
    LinkMessage,
    PacketTooLarge,
    Refused,
    TakenOver,
    Wake,
)
from appliance.uplink.outbox import Outbox
from appliance.uplink.photo_sender import PhotoSender
from appliance.uplink.settings import UplinkSettings
from appliance.uplink.status_reporter import StatusReporter
from boothcore import protocol as p
from boothcore.commit_then_ack import CommitThenAck
from boothcore.link import STABLE_S
from boothcore.mqtt import Will
from boothcore.text import Text

log = logging.getLogger(__name__)

EVENT_WINDOW = 32  # events in flight at once (they are small)
DISK_FULL_MESSAGE = Text("存储空间将满:暂停拍照,已拍照片仍在上传。",
                         "Storage is almost full: no new photos. Photos already taken are still being sent.")


class Uplink:
    """One booth's connection to central. ``start()`` once, ``stop()`` at shutdown."""

    def __init__(self, settings: UplinkSettings, booth_id: str, db_path: str | Path, *,
                 on_command: Callable[[p.Command], str | None],
                 on_photo_acked: Callable[[str], None] | None = None,
                 version: str = __version__) -> None:
        p.status_topic(booth_id)  # ProtocolError for a malformed booth id
        self.settings = settings
        self.booth_id = booth_id
        self.outbox = Outbox(db_path, booth_id, chunk_size=settings.chunk_size, on_photo_acked=on_photo_acked)
        self.inbox: CommitThenAck[LinkMessage] = CommitThenAck(handle=self._handle, commit=self._commit,
                                                               acknowledge=self._acknowledge)
        self.link = BrokerLink(settings, booth_id, self.inbox.put)
        self.status = StatusReporter(settings, booth_id, version, self.outbox, self.link)
        self.photos = PhotoSender(settings, booth_id, self.outbox, self.link, report_error=self._report_error,
                                  stored=self._stored)
        self.commands = CommandRunner(self.outbox, on_command, requeue=self._requeue,
                                      publish_status=self.publish_status, results_queued=self._events_queued)
        self._thread: threading.Thread | None = None
        self._last_step = time.monotonic()  # the sender thread's last finished step (health for the watchdog)
        self._events_in_flight: dict[str, float] = {}
        # "The outbox may hold events not yet in flight": saves a query per sender step when it does not.
        self._more_events = threading.Event()
        self._more_events.set()
        self._takeover_reported = False

    @property
    def boot(self) -> int:
        """This start's boot number (counted by ``start``)."""
        return self.status.boot

    @property
    def install_id(self) -> str | None:
        return self.status.install_id

    # ------------------------------------------------------------------------ booth-facing API

    def start(self, status_provider: Callable[[], dict[str, Any]]) -> None:
        """Count the boot, check the outbox files, connect (in the background) and start sending.

        ``status_provider``: the booth's state and session for the status messages, read on the
        sender thread (``uplink_bridge.booth_status``). It is given here, not at construction, because
        the booth is built after its uplink (the booth's office and listeners are the uplink's).
        """
        self.status.provider = status_provider
        self.status.boot = self.outbox.next_boot()
        self.status.install_id = self.outbox.install_id()
        self.status.started_at = self._last_step = time.monotonic()
        for photo_id, state in self.outbox.check_files():
            self.event("error", {"code": f"photo_{state}", "message": f"photo {photo_id} cannot be sent: {state}"})
        if not self.settings.broker_url:
            log.warning("uplink: no broker_url configured; %d items wait in the outbox", self.backlog())
            return
        self.link.watch.waiting()
        self.link.connect(Will(p.status_topic(self.booth_id),
                               p.encode(p.will_status(self.booth_id, self.boot, self.install_id)),
                               qos=p.QOS_STATUS, retain=True, delay_s=self.settings.will_delay_s))
        self._thread = threading.Thread(target=self._run, name=f"uplink-{self.booth_id}", daemon=True)
        self._thread.start()
        log.info("uplink: booth %s boot %d connecting to %s", self.booth_id, self.boot, self.settings.broker_url)

    def stop(self, timeout: float = 5.0) -> None:
        """Publish a retained offline status, disconnect cleanly (no Will), stop the threads."""
        self.link.stopping.set()
        self.inbox.put(Wake())
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

        def offline() -> tuple[str, bytes, int]:
            return (p.status_topic(self.booth_id), p.encode(self.status.status(online=False, state="offline")),
                    p.QOS_STATUS)

        self.link.close(offline, timeout=min(timeout, 2.0))
        self.outbox.close()

    def photo_saved(self, photo_id: str, path: str | Path, meta: dict[str, Any]) -> p.PhotoInit:
        """Queue a photo whose file is already durable (idempotent). Raises ProtocolError/OutboxError."""
        init = self.outbox.enqueue_photo(photo_id, path, meta)
        self.photos.more.set()
        self.inbox.put(Wake())
        return init

    def event(self, kind: str, data: dict[str, Any]) -> str | None:
        """Queue an event durably; returns its event_id, or None (logged) if it could not be queued.

        An event that does not fit the protocol is replaced by an ``error`` event naming why, so
        central learns about it instead of it vanishing; over-long error messages are cut.
        """
        if kind == "error" and isinstance(data.get("message"), str):
            data = {**data, "message": data["message"][:500]}
        try:
            event_id = self.outbox.enqueue_event(kind, data)
        except p.ProtocolError as error:
            log.error("uplink: event not queued: %s", error.reason)
            if kind == "error":
                return None
            return self.event("error", {"code": "bad_event", "message": error.reason})
        except Exception as error:  # sqlite3.Error / OSError on a full disk, among others
            log.error("uplink: event %s not queued: %s", kind, error)
            return None
        self._events_queued()
        self.inbox.put(Wake())
        return event_id

    def publish_status(self) -> None:
        """Refresh the retained status now (call on every booth state change); never blocks."""
        self.status.refresh_now()
        self.inbox.put(Wake())

    def status_listener(self, previous: object, state: object) -> None:
        """A booth listener (``flow.booth.Listener``): every state the booth enters is published."""
        self.publish_status()

    def backlog(self) -> int:
        """Outbox rows central has not acknowledged yet (photos and events)."""
        return self.outbox.backlog()

    @property
    def connected(self) -> bool:
        return self.link.connected

    @property
    def broker_configured(self) -> bool:
        """False when no ``uplink.broker_url`` is set: photos wait in the outbox (a bench booth)."""
        return bool(self.settings.broker_url)

    def sender_healthy(self, stall_s: float) -> bool:
        """False when the sender thread died, was stopped, or finished no step in ``stall_s`` seconds.

        A step waits at most 1 s for work, so a live sender steps at least that often. With no
        broker configured there is no sender to watch: photos wait in the outbox, and that is healthy.
        """
        if not self.settings.broker_url:
            return True
        thread = self._thread
        return thread is not None and thread.is_alive() and time.monotonic() - self._last_step < stall_s

    def link_problem(self) -> Text | None:
        """The line for the screen's header when the office link is in trouble, or None.

        Another device using this booth id, or the link down for the Will Delay or longer (when
        central marks the booth lost), so a broker restart of a few seconds does not flash by.
        """
        if self.link.takeover.duplicate:
            return Text(f"两台设备使用同一编号 {self.booth_id},请联系办公室",
                        f"two devices use booth id {self.booth_id}: call the office")
        down_for, since = self.link.watch.down_for(), self.link.watch.down_since
        if not self.settings.broker_url or down_for is None or since is None or down_for < self.settings.will_delay_s:
            return None
        return Text(f"与办公室断开(自 {since:%H:%M})", f"office link down since {since:%H:%M}")

    def disk_ok(self) -> bool:
        """False when the data partition is below ``min_free_mb``: take no new photos."""
        return self.outbox.disk_ok(self.settings.min_free_mb)

    def capture_blocked(self) -> Text | None:
        """The message to show instead of taking a photo, or None when capture may go on."""
        return None if self.disk_ok() else DISK_FULL_MESSAGE

    # ------------------------------------------------------------------------ sender thread

    def _run(self) -> None:
        while not self.link.stopping.is_set():
            try:
                self._step()
                self._last_step = time.monotonic()
            except Exception:  # the sender must survive anything; the outbox keeps the data
                log.exception("uplink: sender step failed")
                time.sleep(0.5)

    def _step(self) -> None:
        # Even when one message fails, the acks handled before it are committed, then PUBACKed.
        self.inbox.step(self._wait_time())
        if self.link.connected and not self.link.stopping.is_set():
            self._pump()

    def _wait_time(self) -> float:
        deadlines = self.photos.deadlines() + list(self._events_in_flight.values()) + self.status.deadlines()
        return max(0.01, min(1.0, min(deadlines) - time.monotonic()))

    def _handle(self, message: LinkMessage) -> None:
        if isinstance(message, Connected):
            self._on_connected()
        elif isinstance(message, Disconnected):
            log.info("uplink: disconnected (%s); %d items wait in the outbox", message.reason, self.backlog())
        elif isinstance(message, Refused):
            log.error("uplink: broker refused the connection: %s", message.reason)
        elif isinstance(message, TakenOver):
            self._on_taken_over(message.delay_s, message.evidence)
        elif isinstance(message, PacketTooLarge):
            self.photos.packet_too_large(message.unacknowledged)
            self.link.replace()  # nothing is lost with the old client: the outbox re-sends what is unacked
        elif isinstance(message, Incoming):
            self._on_incoming(message)

    def _commit(self) -> None:
        self.photos.commit_stored_acks()

    def _acknowledge(self, message: LinkMessage) -> None:
        """PUBACK a message from central after the step's commit: a kill before it gets it delivered again."""
        if isinstance(message, Incoming):
            self.link.ack(message)

    def _on_connected(self) -> None:
        self.link.subscribe(p.booth_subscriptions(self.booth_id), p.QOS_CENTRAL)
        self.status.publish()
        self.photos.connected()
        # Whatever was in flight may be lost: re-send unacked events right away.
        now = time.monotonic()
        for event_id in self._events_in_flight:
            self._events_in_flight[event_id] = now
        log.info("uplink: connected (boot %d, backlog %d)", self.boot, self.backlog())

    def _on_taken_over(self, delay: float, evidence: str) -> None:
        log.error("uplink: two devices use booth id %s: the broker keeps handing this booth's session to "
                  "the other one (a cloned SD card or copied certificate?): %s; reconnecting in %.0f s",
                  self.booth_id, evidence, delay)
        if not self._takeover_reported:
            self._takeover_reported = True
            self.event("error", {"code": "duplicate_booth_id",
                                 "message": f"two devices use booth id {self.booth_id}: this one keeps "
                                            "losing its broker session to the other"})
        self.status.dirty = True

    def _pump(self) -> None:
        takeover = self.link.takeover
        if takeover.duplicate and takeover.stable():
            log.warning("uplink: connected for %.0f s without losing the session: booth id %s is no longer "
                        "contested", STABLE_S, self.booth_id)
            self._takeover_reported = False
            self.link.takeover_backoff = self.settings.takeover_backoff_s
        now = time.monotonic()
        self.photos.resend_due(now)
        for event_id, deadline in list(self._events_in_flight.items()):
            if deadline <= now:
                self._events_in_flight.pop(event_id)
                self._more_events.set()
        self.photos.fill_window()
        free_events = EVENT_WINDOW - len(self._events_in_flight)
        if free_events > 0 and self._more_events.is_set():
            self._more_events.clear()
            events = self.outbox.pending_events(free_events, exclude=self._events_in_flight)
            if len(events) == free_events:
                self._more_events.set()
            for event_id, payload in events:
                self.link.publish(p.event_topic(self.booth_id, event_id), payload, p.QOS_EVENT)
                self._events_in_flight[event_id] = now + self.settings.ack_timeout_s
        if self.status.telemetry_due(now):
            self.photos.more.set()  # a periodic full look at the outbox, whatever the flags say
            self._more_events.set()
        self.status.publish_if_due(now)

    # ------------------------------------------------------------------------ incoming

    def _on_incoming(self, incoming: Incoming) -> None:
        try:
            where = p.parse_central_topic(incoming.topic)
            if where.booth != self.booth_id:
                raise p.ProtocolError(f"message for booth {where.booth} ignored")
            if where.kind == "ack":
                ack = p.decode("ack", incoming.payload)
                if ack.kind == "photo":
                    self.photos.on_ack(ack)
                else:
                    self._on_event_ack(ack)
            else:
                assert where.command_id is not None
                self.commands.on_message(where.command_id, incoming.payload)
        except p.ProtocolError as error:
            log.warning("uplink: dropped message on %s: %s", incoming.topic[:80], error.reason)

    def _on_event_ack(self, ack: p.Ack) -> None:
        if ack.status == "stored":
            self.outbox.remove_event(ack.id)
            self._events_in_flight.pop(ack.id, None)
            self.status.dirty = True
        elif ack.status == "rejected":
            log.error("uplink: central rejected event %s: %s; dropping it", ack.id, ack.reason)
            self.outbox.remove_event(ack.id)
            self._events_in_flight.pop(ack.id, None)
        else:
            self._events_in_flight.pop(ack.id, None)  # the next pump sends it again
            self._more_events.set()

    # ------------------------------------------------------------------------ the parts' callbacks

    def _report_error(self, code: str, message: str) -> None:
        self.event("error", {"code": code, "message": message})

    def _stored(self) -> None:
        self.status.dirty = True

    def _requeue(self, photo_ids: list[str] | Literal["all"]) -> int:
        count = self.outbox.requeue(photo_ids)
        self.photos.more.set()
        return count

    def _events_queued(self) -> None:
        self._more_events.set()


__all__ = ["DISK_FULL_MESSAGE", "Uplink"]
