"""The ingest's group commit: a batch's photos and row writes, committed together.

The worker handles every message already queued, queueing here the photos they completed
(``ready``) and the row writes they need (``later``); ``flush`` then stores the photo files (each
fsynced), runs the row writes in one transaction with the photos' rows, and only after the commit
sends the "stored" acks they earned. Under load that is one database sync per batch instead of one
per message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from boothcore import protocol as p
from central.photos import PhotoArchive, StoreResult, commit_retried
from central.sql import RETRYABLE
from central.store import PhotoRecord, Store

log = logging.getLogger("central.ingest")  # the ingest's one logger (its filter masks ID numbers)

AckArgs = tuple[str, p.AckKind, str, dict[str, Any]]  # booth, kind, id, fields of a "stored" ack
AfterCommit = Callable[[], None]
# Row writes; each may return what to do once they are committed (count, log).
RowOp = Callable[[], AfterCommit | None]


class SendAck(Protocol):
    def __call__(self, booth: str, kind: p.AckKind, ident: str, status: p.AckStatus, **fields: Any) -> None: ...


@dataclass
class ReadyPhoto:
    """A verified photo waiting for the batch's commit; ``ack``: a fin (or a re-sent init) that was not
    staged asked for it in this batch, ack "stored" (a staged fin is claimed from staging instead)."""

    booth: str
    init: p.PhotoInit
    record: PhotoRecord
    data: bytes
    ack: bool


class BatchCommit:
    """One worker's current batch. ``settle(photo, result)`` gets each photo's store result after
    the commit (``PhotoAssembler.settle``); ``ack`` publishes an ack to a booth."""

    def __init__(self, archive: PhotoArchive, store: Callable[[], Store], *,
                 settle: Callable[[ReadyPhoto, StoreResult | Exception], None], ack: SendAck, index: int) -> None:
        self.archive = archive
        self.store = store
        self.settle = settle
        self.ack = ack
        self.index = index
        self.ready: dict[str, ReadyPhoto] = {}  # photo_id -> a photo completed in this batch
        self._ops: list[tuple[tuple[str, str], RowOp, AckArgs | None]] = []

    def later(self, order: tuple[str, str], op: RowOp, ack: AckArgs | None = None) -> None:
        """Run ``op`` (row writes) in the batch's transaction; send ``ack`` once it is committed.

        What ``op`` returns runs after the commit too: a transaction PostgreSQL aborted runs every op
        again, so counting or logging inside ``op`` would happen once per attempt, not once.

        ``order``: the rows ``op`` locks, as (booth, record id or ""): the batch runs its ops sorted
        by it (stably: a booth's statuses keep their order), so two workers' batches take their row
        locks in one order and do not deadlock each other on PostgreSQL.
        """
        self._ops.append((order, op, ack))

    def flush(self) -> None:
        """Group commit of the batch: photo files, then all rows in one transaction, then the acks."""
        if not self.ready and not self._ops:
            return
        ready, ops = list(self.ready.values()), sorted(self._ops, key=lambda queued: queued[0])
        self.ready, self._ops = {}, []
        acks: list[AckArgs] = []
        after: list[AfterCommit] = []

        def run_ops() -> None:
            acks.clear()  # a retried transaction earns its acks and effects afresh
            after.clear()
            for _, op, ack in ops:
                try:
                    done = op()  # in a savepoint of the batch: a failing one rolls back alone
                except RETRYABLE:
                    raise  # the database aborted the whole transaction: commit_retried runs it again
                except Exception:
                    log.exception("worker %d: a row write failed; its message is not acked", self.index)
                    continue
                if done is not None:
                    after.append(done)
                if ack is not None:
                    acks.append(ack)

        try:
            if ready:
                results = self.archive.store_many(self.store(), [(r.record, r.data) for r in ready],
                                                  in_transaction=run_ops)
            else:
                commit_retried(self.store(), run_ops)
        except Exception:
            log.exception("worker %d: the batch commit failed; nothing of it is acked (booths re-send)",
                          self.index)
            return
        for item, result in zip(ready, results if ready else [], strict=True):
            self.settle(item, result)
        for done in after:
            done()
        for booth, kind, ident, fields in acks:
            self.ack(booth, kind, ident, "stored", **fields)
