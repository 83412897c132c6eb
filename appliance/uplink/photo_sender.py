"""Photos from the outbox to central in chunks: a window of transfers, each init, chunks and fin,
answered by central's acks.

Chunks are at most ``uplink.chunk_size`` bytes, lowered to the Maximum Packet Size the broker
announced in CONNACK, or halved after a "Packet too large" drop from a broker that announced
none. The "stored" acks of one sender step retire their outbox rows in one transaction
(``commit_stored_acks``, the step's commit).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from appliance.uplink.broker_link import BrokerLink
from appliance.uplink.outbox import Outbox, PendingPhoto
from appliance.uplink.settings import UplinkSettings
from boothcore import protocol as p

log = logging.getLogger("appliance.uplink.client")  # one logger for the uplink's lines

MAX_REJECTS = 3  # a photo central rejects is sent whole again this many times, then parked
# PUBLISH bytes besides the topic and the payload: fixed header (1 + up to 4 bytes of remaining
# length), topic length (2), packet id (2, QoS 1), property length (1, no properties).
PUBLISH_OVERHEAD = 1 + 4 + 2 + 2 + 1


@dataclass
class _Transfer:
    photo: PendingPhoto
    data: bytes
    deadline: float
    rejects: int = 0


def chunk_limit(max_packet: int | None, chunk_topic_len: int) -> int | None:
    """Largest chunk payload in a PUBLISH of at most ``max_packet`` bytes (None: no limit known)."""
    if max_packet is None:
        return None
    return max_packet - PUBLISH_OVERHEAD - chunk_topic_len


def fitted_init(init: p.PhotoInit, limit: int) -> p.PhotoInit:
    """``init`` with chunks of at most ``limit`` bytes (central accepts any chunk_size in range)."""
    if init.chunk_size <= limit:
        return init
    size = max(p.MIN_CHUNK_SIZE, limit)
    return init.model_copy(update={"chunk_size": size, "chunks": p.chunk_count(init.size, size)})


class PhotoSender:
    """The photo transfers of one booth; every method runs on the uplink's sender thread.

    ``report_error(code, message)`` queues an ``error`` event for central; ``stored()`` is called
    when central stored a photo (the outbox's depth changed: the status is due).
    """

    def __init__(self, settings: UplinkSettings, booth_id: str, outbox: Outbox, link: BrokerLink, *,
                 report_error: Callable[[str, str], object], stored: Callable[[], None]) -> None:
        self.settings = settings
        self.booth_id = booth_id
        self.outbox = outbox
        self.link = link
        self.report_error = report_error
        self.stored = stored
        self._transfers: dict[str, _Transfer] = {}
        # "The outbox may hold photos not yet in flight": saves a query per sender step when it does not.
        self.more = threading.Event()
        self.more.set()
        self._stored_acks: list[p.Ack] = []  # this step's "stored" acks, committed together
        self._chunk_cap = settings.chunk_size
        self._size_error_logged = False

    def deadlines(self) -> list[float]:
        return [transfer.deadline for transfer in self._transfers.values()]

    def resend_due(self, now: float) -> None:
        """Ask central where each transfer stands (its fin again) when its ack is overdue."""
        for transfer in list(self._transfers.values()):
            if transfer.deadline <= now:
                self._publish_fin(transfer)

    def fill_window(self) -> None:
        """Start transfers of queued photos while the window (``uplink.window``) has room."""
        free = self.settings.window - len(self._transfers)
        if free > 0 and self.more.is_set():
            self.more.clear()  # set again by photo_saved/requeue, or below if the window filled
            photos = self.outbox.pending_photos(free, exclude=self._transfers)
            if len(photos) == free:
                self.more.set()
            for photo in photos:
                self._start(photo)

    def connected(self) -> None:
        """A new connection: size the chunks to its CONNACK, then resume every transfer in flight.

        Whatever was in flight may be lost: ask central where each transfer stands (fin). A
        transfer whose chunks no longer fit starts over.
        """
        self._fit_chunks()
        now = time.monotonic()
        for transfer in self._transfers.values():
            fitted = fitted_init(transfer.photo.init, self._chunk_cap)
            if fitted is not transfer.photo.init:
                transfer.photo = dataclasses.replace(transfer.photo, init=fitted)
                # Until every ingest worker has the new init, chunks of the new size may be refused
                # ("rejected" acks): those do not count towards parking the photo.
                transfer.rejects = 0
                self._send_chunks(transfer, range(fitted.chunks), with_init=True)
            else:
                transfer.deadline = now

    def packet_too_large(self, unacknowledged: int | None = None) -> None:
        """The broker dropped us for a packet over its limit although it announced none (or ours was off):
        halve the chunks (the caller replaces the paho client).

        ``unacknowledged``: the drop came without a reason while a chunk of that many bytes was in flight.
        """
        self._chunk_cap = max(p.MIN_CHUNK_SIZE, self._chunk_cap // 2)
        dropped = (f"closed the link during a {unacknowledged}-byte chunk" if unacknowledged is not None
                   else "refused a packet as too large")
        if self.link.max_packet is None and not self._size_error_logged:
            self._size_error_logged = True
            log.error("uplink: the broker %s and announces no packet limit: set uplink.chunk_size (now %d) below it "
                      "in booth.toml; trying %d-byte chunks", dropped, self.settings.chunk_size, self._chunk_cap)
        elif self.link.max_packet is not None and unacknowledged is None:
            # e.g. chunks sent before the broker restarted with a lower limit
            log.warning("uplink: the broker refused a packet over its Maximum Packet Size (%d bytes); trying %d-byte "
                        "chunks", self.link.max_packet, self._chunk_cap)
        elif unacknowledged is not None:
            log.warning("uplink: the broker %s; trying %d-byte chunks in case it has a packet limit", dropped,
                        self._chunk_cap)

    def on_ack(self, ack: p.Ack) -> None:
        """Central's answer about one photo: stored (committed with the step), missing chunks, rejected."""
        transfer = self._transfers.get(ack.id)
        if ack.status == "stored":
            assert ack.sha256 is not None  # the Ack model guarantees it for photos
            self._stored_acks.append(ack)  # retired with the others of this step, in one commit
            return
        if transfer is None:
            # An answer for a photo not in flight (e.g. sent before a restart): resume it if there is room.
            pending = self.outbox.pending_photo(ack.id)
            if pending is not None and len(self._transfers) < self.settings.window:
                self._start(pending)
            return
        chunks = transfer.photo.init.chunks
        if ack.status == "missing":
            wanted = sorted(i for i in ack.missing if i < chunks)
            if not wanted and (ack.resend == "init" or ack.missing):
                wanted = list(range(chunks))
            log.info("uplink: photo %s: central misses %d chunk(s)%s", ack.id, len(wanted),
                     " and the init" if ack.resend == "init" else "")
            self._send_chunks(transfer, wanted, with_init=ack.resend == "init")
        elif ack.status == "rejected":
            transfer.rejects += 1
            if transfer.rejects < MAX_REJECTS:
                log.warning("uplink: photo %s rejected (%s); sending it whole again", ack.id, ack.reason)
                self._send_chunks(transfer, range(chunks), with_init=True)
            else:
                self._transfers.pop(ack.id, None)
                self.outbox.mark_photo_rejected(ack.id, ack.reason or "rejected")
                self.report_error("photo_rejected", f"photo {ack.id} rejected by central: {ack.reason}"[:500])

    def commit_stored_acks(self) -> None:
        """Retire the rows of this step's "stored" acks in one transaction, then settle transfers."""
        acks, self._stored_acks = self._stored_acks, []
        if not acks:
            return
        done = self.outbox.mark_photos_acked([(ack.id, ack.sha256 or "") for ack in acks])
        for ack in acks:
            transfer = self._transfers.get(ack.id)
            if done[ack.id]:
                self._transfers.pop(ack.id, None)
                self.stored()
                log.info("uplink: photo %s stored by central", ack.id)
            elif transfer is not None:
                log.error("uplink: central's copy of photo %s differs; sending it again", ack.id)
                self._send_chunks(transfer, range(transfer.photo.init.chunks), with_init=True)

    # ------------------------------------------------------------------------ sending

    def _start(self, photo: PendingPhoto) -> None:
        if self._chunk_cap < p.MIN_CHUNK_SIZE:
            return  # the broker takes no chunk this small (logged on connect); the photo waits
        photo = dataclasses.replace(photo, init=fitted_init(photo.init, self._chunk_cap))
        data = self.outbox.read_photo(photo)
        if data is None:
            state = self.outbox.photo_state(photo.photo_id)
            self.report_error(f"photo_{state}", f"photo {photo.photo_id} cannot be sent")
            return
        transfer = _Transfer(photo, data, 0.0)
        self._transfers[photo.photo_id] = transfer
        self._send_chunks(transfer, range(photo.init.chunks), with_init=True)

    def _send_chunks(self, transfer: _Transfer, indexes: Iterable[int], *, with_init: bool) -> None:
        init = transfer.photo.init
        if with_init:
            self.link.publish(p.photo_init_topic(self.booth_id, init.photo_id), p.encode(init), p.QOS_PHOTO)
        for index in indexes:
            start = index * init.chunk_size
            self.link.publish(p.photo_chunk_topic(self.booth_id, init.photo_id, index),
                              transfer.data[start:start + init.chunk_size], p.QOS_PHOTO)
        self._publish_fin(transfer)

    def _publish_fin(self, transfer: _Transfer) -> None:
        init = transfer.photo.init
        fin = p.PhotoFin(booth=self.booth_id, photo_id=init.photo_id, size=init.size, sha256=init.sha256,
                         chunks=init.chunks)
        self.link.publish(p.photo_fin_topic(self.booth_id, init.photo_id), p.encode(fin), p.QOS_PHOTO)
        transfer.deadline = time.monotonic() + self.settings.ack_timeout_s

    def _fit_chunks(self) -> None:
        """Size chunks to the Maximum Packet Size the broker announced in this CONNACK."""
        # The longest chunk topic of this booth (photo ids have a fixed length, the index is largest last).
        topic = p.photo_chunk_topic(self.booth_id, uuid.uuid4().hex, p.MAX_CHUNKS - 1)
        limit = chunk_limit(self.link.max_packet, len(topic))
        if limit is None:
            return
        cap = min(self.settings.chunk_size, limit)
        if cap < p.MIN_CHUNK_SIZE:
            log.error("uplink: the broker's Maximum Packet Size is %d bytes, too small for the smallest photo "
                      "chunk (%d bytes): photos wait in the outbox; raise max_packet_size on the broker",
                      self.link.max_packet, p.MIN_CHUNK_SIZE)
        elif cap < self.settings.chunk_size and cap != self._chunk_cap:
            log.warning("uplink: the broker's Maximum Packet Size is %d bytes: photo chunks of %d bytes "
                        "instead of uplink.chunk_size = %d", self.link.max_packet, cap, self.settings.chunk_size)
        self._chunk_cap = cap
