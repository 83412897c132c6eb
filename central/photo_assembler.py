"""Photo reassembly on the office side: init, chunks and fin into one verified photo.

Reassembly state lives on disk (``central.staging``), so several workers, in one process or many,
share the traffic: whichever sees the set complete queues the photo for its batch's commit
(``BatchCommit``). A chunk no staged init announced is held in memory briefly (another worker may be
staging its init). A fin is staged too, announced or not: the worker that stores the photo answers
it right after its commit, whichever worker the fin reached; a fin still unanswered after
``missing_grace_s`` is answered "missing" with the chunks central lacks. "stored" is acked only
after the batch's commit, and once per fin (``Staging.claim_fin``).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable

from boothcore import protocol as p
from boothcore.privacy import mask_id
from central.batch_commit import BatchCommit, ReadyPhoto, SendAck
from central.paths import UnsafePathError, safe_segment
from central.photos import StoreResult
from central.staging import Staging
from central.store import InitLookup, PhotoRecord, Store

log = logging.getLogger("central.ingest")  # the ingest's one logger (its filter masks ID numbers)
# How often a chunk held for its init looks for it (``_hold``): a worker stages an init within its
# batch, tens of milliseconds; a look is one failed open.
HOLD_POLL_S = 0.05


class Rejected(Exception):
    """A payload refused for a reason that is logged (and sent back in a "rejected" ack)."""


class PhotoAssembler:
    """One worker's reassembly. ``ack`` publishes an ack to a booth, ``defer(delay_s, task)`` runs
    ``task`` on the worker's thread later; ``counters`` are the worker's; ``on_stored`` is for
    tests and the bench."""

    def __init__(self, staging: Staging, batch: BatchCommit, store: Callable[[], Store], *, ack: SendAck,
                 defer: Callable[[float, Callable[[], None]], None], counters: dict[str, int], grace_s: float,
                 staging_limit: int, on_stored: Callable[[PhotoRecord], None] | None, index: int) -> None:
        self.staging = staging
        self.batch = batch
        self._store = store
        self.ack = ack
        self.defer = defer
        self.counters = counters
        self.grace_s = grace_s
        self.staging_limit = staging_limit
        self.on_stored = on_stored
        self.index = index
        self._warned_no_roster = False
        self._held: dict[str, int] = {}  # booth -> bytes of unannounced chunks held (``_hold``)
        # photo_id -> why its init was rejected: its chunks are dropped quietly, its fin answered the same.
        self._refused: dict[str, str] = {}
        self._inits: dict[bytes, p.PhotoInit] = {}  # parsed staged inits (validation is not free)
        # photo_id -> its row, for photos this worker inserted: the fin that follows a photo's commit
        # on this worker needs no read (rows are never deleted).
        self._committed: dict[str, PhotoRecord] = {}

    @property
    def store(self) -> Store:
        return self._store()

    def remember_refused(self, photo_id: str, reason: str) -> None:
        if len(self._refused) >= 4096:
            self._refused.clear()
        self._refused[photo_id] = reason

    def _already_stored(self, booth: str, photo_id: str, sha256: str | None,
                        lookup: InitLookup | None = None, *, fin_staged: bool = False) -> bool:
        """True (and acked) when the photo is stored; Rejected when stored with other content.

        A photo completed earlier in this batch counts: it is acked after the batch's commit.
        ``lookup``: the init's reads, already made (else the row is read here). ``fin_staged``: the
        message asking is a fin staged on disk, which is acked by whoever claims it (this look or the
        storing worker's ``settle``), so the photo is acked once.
        """
        ready = self.batch.ready.get(photo_id)
        if ready is not None:
            if ready.booth != booth or (sha256 is not None and ready.init.sha256 != sha256):
                raise Rejected("photo_id already stored with a different booth or sha256")
            ready.ack = ready.ack or not fin_staged  # a staged fin: this batch's settle claims it
            return True
        record = self._committed.get(photo_id)
        if record is None:
            record = lookup.stored if lookup is not None else self.store.photo(photo_id)
        if record is None:
            return False
        if record.booth != booth or (sha256 is not None and record.sha256 != sha256):
            raise Rejected("photo_id already stored with a different booth or sha256")
        if fin_staged and not self.staging.claim_fin(booth, photo_id):
            return True  # the worker that stored it claimed the fin and acks it
        self.staging.discard(booth, photo_id)
        self.ack(booth, "photo", photo_id, "stored", sha256=record.sha256)
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
        self._remember_init(raw, init)
        return init

    def _remember_init(self, raw: bytes, init: p.PhotoInit) -> None:
        if len(self._inits) >= 4096:
            self._inits.clear()
        self._inits[raw] = init

    def init(self, topic: p.BoothTopic, payload: bytes) -> None:
        init: p.PhotoInit = p.decode("photo_init", payload)
        if init.booth != topic.booth or init.photo_id != topic.ident:
            raise Rejected("init booth/photo_id differ from its topic")
        # Refuse unsafe folder names now (the store checks the whole resolved path again).
        safe_segment(init.college)
        safe_segment(init.class_)
        lookup = self.store.init_lookup(init.photo_id, init.id_number)
        if self._already_stored(topic.booth, init.photo_id, init.sha256, lookup):
            return
        self._check_roster(topic.booth, init, lookup)
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
        self._remember_init(payload, init)  # the staged bytes, parsed: not parsed again on this worker
        self._complete(topic.booth, init.photo_id)

    def _check_roster(self, booth: str, init: p.PhotoInit, lookup: InitLookup) -> None:
        """Rejected unless the person is on central's roster, in the class the photo names, and that
        class is the one the booth had open in the photo's session (when central knows the session).

        With no roster imported at all there is nothing to check against: logged, and accepted.
        """
        who = mask_id(init.id_number)
        entry = lookup.entry
        if entry is None:
            if not lookup.roster_imported:
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

    def chunk(self, topic: p.BoothTopic, payload: bytes) -> None:
        assert topic.ident is not None and topic.chunk_index is not None
        init = self._staged_init(topic.booth, topic.ident)
        data = p.decode_chunk(payload, init, topic.chunk_index)
        if init is None:
            if topic.ident in self.batch.ready or topic.ident in self._committed:
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
        if last and self._complete(booth, init.photo_id, fresh=(index, data)):
            return
        self.staging.put_chunk(booth, init.photo_id, index, data)

    def _hold(self, booth: str, photo_id: str, index: int, data: bytes) -> None:
        """A chunk no staged init announced: hold it in memory briefly, then stage or refuse it.

        Another worker may be staging its init right now (the booth sends the init first, but a
        shared subscription may hand the chunk to this worker first). Held bytes count against
        the booth's staging bound; a chunk still unannounced after ``missing_grace_s`` is refused
        with a log line and never written (the booth's fin then gets "missing, resend init"), or
        dropped quietly when its photo is stored (a late duplicate: the store is read only then,
        not for every chunk that overtakes its init, a third of them with two workers).
        """
        held = self._held.get(booth, 0)
        if held + len(data) > self.staging_limit:
            self._refuse_chunk(booth, photo_id, index, "no init announced it and the booth's held chunks "
                                                       "reach its staging bound")
            return
        self._held[booth] = held + len(data)
        # Look for the init every HOLD_POLL_S within the grace, not once at its end: the other worker
        # stages it within its batch, and the photo (a third of them with two workers) would
        # otherwise wait the whole grace to be stored.
        step = min(HOLD_POLL_S, self.grace_s)
        looks = math.ceil(self.grace_s / step) if step > 0 else 1

        def retry(left: int) -> None:
            init = self._staged_init(booth, photo_id)
            stored = photo_id in self.batch.ready or photo_id in self._committed
            if init is None and not stored and left > 1:
                self.defer(step, lambda: retry(left - 1))
                return
            self._held[booth] -= len(data)
            if init is None:
                if not stored and self.store.photo(photo_id) is None:
                    self._refuse_chunk(booth, photo_id, index, "no init announced it")
                return
            try:
                checked = p.decode_chunk(data, init, index)
            except p.ProtocolError as error:
                self._refuse_chunk(booth, photo_id, index, error.reason)
                return
            self._stage_chunk(booth, init, index, checked)

        self.defer(step, lambda: retry(looks))

    def _refuse_chunk(self, booth: str, photo_id: str, index: int, reason: str) -> None:
        self.counters["refused_chunks"] += 1
        log.warning("refused chunk %d of photo %s from %s: %s (not staged)", index, photo_id, booth, reason)

    def fin(self, topic: p.BoothTopic, payload: bytes) -> None:
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
        # Staged even before any worker staged the init (the shared subscription may hand the fin
        # to this worker first): the worker that completes the photo finds it and acks at its commit.
        try:
            self.staging.put_fin(topic.booth, fin.photo_id)
        except FileNotFoundError:  # the worker that stored the photo removed its staging meanwhile
            if self._already_stored(topic.booth, fin.photo_id, fin.sha256):
                return
            raise
        if init is not None and self._complete(topic.booth, fin.photo_id):
            return
        # The worker that had the last chunk may have stored the photo between our first look and
        # the fin landing on disk (and so not seen the fin): look for the row again.
        if self._already_stored(topic.booth, fin.photo_id, fin.sha256, fin_staged=True):
            return
        # Another worker may be writing the last chunk (or the init) right now: it acks at its commit;
        # if nobody has, look again after the grace.
        seen = len(self.staging.present(topic.booth, fin.photo_id))
        self.defer(self.grace_s, lambda: self._recheck(topic.booth, fin, seen))

    def _recheck(self, booth: str, fin: p.PhotoFin, seen: int) -> None:
        """The fin's second look: store, or answer what is missing.

        ``seen``: chunks staged at the previous look. When more arrived since (the booth is
        re-sending right now), look once more instead of asking for chunks already on their way;
        when fewer are left, the worker that dropped them has answered already. A fin claimed
        meanwhile was answered by the worker that stored its photo.
        """
        if self._already_stored(booth, fin.photo_id, fin.sha256, fin_staged=True):
            return
        if not self.staging.has_fin(booth, fin.photo_id):
            # Not stored, yet gone: discarded with its folder (the booth's staging bound). Still unanswered.
            self.staging.put_fin(booth, fin.photo_id)
        init = self._staged_init(booth, fin.photo_id)
        if init is None:
            self.ack(booth, "photo", fin.photo_id, "missing", missing=[], resend="init")
            return
        if self._complete(booth, fin.photo_id):
            return
        present = self.staging.present(booth, fin.photo_id)
        if len(present) > seen:
            self.defer(self.grace_s, lambda: self._recheck(booth, fin, len(present)))
            return
        if len(present) < seen:
            return  # another worker dropped the set (its sha256 did not match) and asked for it again
        missing = [i for i in range(init.chunks) if present.get(i) != init.chunk_length(i)]
        self.ack(booth, "photo", fin.photo_id, "missing", missing=missing)

    def _complete(self, booth: str, photo_id: str, *, fresh: tuple[int, bytes] | None = None) -> bool:
        """Queue the photo for the batch's store when the init and every chunk are there.

        ``fresh`` is a chunk in hand (index, bytes), counted as present without being staged.
        True once the photo is stored, waits for the batch's commit, or was answered: a set whose
        sha256 does not match is dropped and every chunk asked for again. Its fin, staged, is
        acked by ``settle``.
        """
        if photo_id in self.batch.ready:
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
            self.ack(booth, "photo", photo_id, "missing", missing=list(range(init.chunks)))
            return True
        record = PhotoRecord(
            photo_id=photo_id, booth=booth, id_number=init.id_number, student_no=init.student_no,
            college=init.college, class_name=init.class_, session_id=init.session_id, attempt=init.attempt,
            captured_at=init.captured_at, size=init.size, sha256=init.sha256, path="",
            booth_checks=None if init.booth_checks is None else init.booth_checks.model_dump(mode="json"))
        self.batch.ready[photo_id] = ReadyPhoto(booth, init, record, data, ack=False)
        return True

    def settle(self, item: ReadyPhoto, result: StoreResult | Exception) -> None:
        """After the batch's commit: count and ack a stored photo; reject one whose path is unsafe."""
        booth, photo_id, init = item.booth, item.init.photo_id, item.init
        if isinstance(result, UnsafePathError):
            self.counters["rejected"] += 1
            log.warning("rejected photo from %s (%s): %s", booth, photo_id, result)
            self.staging.discard(booth, photo_id)
            self.ack(booth, "photo", photo_id, "rejected", reason=str(result)[:500])
            return
        if isinstance(result, Exception):  # staged chunks stay; the booth's next fin tries again
            log.error("worker %d: photo %s from %s not stored (retried on its next fin): %s", self.index,
                      photo_id, booth, result)
            return
        if result.new:  # this worker's row (a photo found stored may have come with other bytes)
            if len(self._committed) >= 4096:
                self._committed.clear()
            self._committed[photo_id] = result.record
            self.counters["stored"] += 1
            log.info("stored photo %s of %s from %s (%d bytes)", photo_id, mask_id(init.id_number), booth,
                     init.size)
            if self.on_stored:
                self.on_stored(result.record)
        # One ack per fin: a staged fin (whichever worker it reached) is claimed here, after the
        # commit, or by its own worker, which looks for the row after staging it; the one that
        # removes the marker acks, so each of the two sees the other and only one acks. A fin
        # staged after this claim is kept (``keep_fin``) for its worker, which then finds the row.
        # ``item.ack``: a fin (or re-sent init) this worker saw without staging, in this batch.
        claimed = self.staging.claim_fin(booth, photo_id)
        self.staging.discard(booth, photo_id, keep_fin=True)
        if item.ack or claimed:
            self.ack(booth, "photo", photo_id, "stored", sha256=init.sha256)
