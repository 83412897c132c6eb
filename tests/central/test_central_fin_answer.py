"""Who answers a photo's fin when the shared subscription hands a photo's messages to two workers.

The broker decides which worker gets which message; here the test hands them out itself, to two
workers' reassemblies (each with its own store connection, on each engine, and one staging folder),
in the orders a shared subscription produces: the fin reaching a worker before the other staged the
init, or while the other holds the complete photo in its uncommitted batch. The photo must be acked
"stored" once, right after the storing worker's commit, not a grace later by the fin's second look.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from boothcore import protocol as p
from central.batch_commit import BatchCommit
from central.photo_assembler import HOLD_POLL_S, PhotoAssembler
from central.photos import PhotoArchive
from central.staging import Staging
from central.store import SqlStore, open_store
from tests.central.conftest import jpeg_bytes, make_init

BOOTH = "booth-01"
GRACE_S = 0.5  # missing_grace_s, its default


@dataclass
class Worker:
    """One worker's reassembly and batch, its acks collected (what it would publish to the booth)
    and its deferred tasks held until the test lets their time come (``run_deferred``)."""

    store: SqlStore
    acks: list[tuple[str, str]] = field(default_factory=list)  # (photo id, status), in sending order
    deferred: list[tuple[float, Callable[[], None]]] = field(default_factory=list)  # (delay s, task)
    batch: BatchCommit = field(init=False)
    assembler: PhotoAssembler = field(init=False)

    def ack(self, booth: str, kind: p.AckKind, ident: str, status: p.AckStatus, **fields: Any) -> None:
        self.acks.append((ident, status))

    def run_deferred(self, within_s: float = math.inf) -> None:
        """Run the tasks deferred by at most ``within_s`` (and those they defer as far), then commit:
        ``HOLD_POLL_S``, a held chunk's looks for its init; the default, the fin's look after the grace
        as well."""
        while due := [item for item in self.deferred if item[0] <= within_s]:
            self.deferred = [item for item in self.deferred if item[0] > within_s]
            for _, task in due:
                task()
        self.batch.flush()


def make_worker(data_dir: Path, db_url: str, index: int) -> Worker:
    worker = Worker(open_store(db_url, base=data_dir))
    staging, archive = Staging(data_dir / "staging"), PhotoArchive(data_dir)
    worker.batch = BatchCommit(archive, lambda: worker.store, settle=lambda item, result: worker.assembler.settle(
        item, result), ack=worker.ack, index=index)
    counters = {"stored": 0, "rejected": 0, "missing": 0, "events": 0, "refused_chunks": 0}
    worker.assembler = PhotoAssembler(staging, worker.batch, lambda: worker.store, ack=worker.ack,
                                      defer=lambda delay_s, task: worker.deferred.append((delay_s, task)),
                                      counters=counters, grace_s=GRACE_S, staging_limit=64 * 2**20,
                                      on_stored=None, index=index)
    return worker


@pytest.fixture
def workers(tmp_path: Path, db_url: str) -> Iterator[tuple[Worker, Worker]]:
    data_dir = tmp_path / "central"
    open_store(db_url, base=data_dir, migrate=True).close()
    pair = (make_worker(data_dir, db_url, 0), make_worker(data_dir, db_url, 1))
    yield pair
    for worker in pair:
        worker.store.close()


def messages(seed: int) -> tuple[p.PhotoInit, list[tuple[Callable[..., None], p.BoothTopic, bytes]]]:
    """A photo's init, its one chunk and its fin, each as (which handler, its topic, its payload)."""
    data = jpeg_bytes(seed)
    init = make_init(BOOTH, data, seq=seed)
    fin = p.PhotoFin(booth=BOOTH, photo_id=init.photo_id, size=init.size, sha256=init.sha256, chunks=init.chunks)
    assert init.chunks == 1
    return init, [
        (PhotoAssembler.init, p.parse_booth_topic(p.photo_init_topic(BOOTH, init.photo_id)), p.encode(init)),
        (PhotoAssembler.chunk, p.parse_booth_topic(p.photo_chunk_topic(BOOTH, init.photo_id, 0)), data),
        (PhotoAssembler.fin, p.parse_booth_topic(p.photo_fin_topic(BOOTH, init.photo_id)), p.encode(fin))]


def hand(worker: Worker, message: tuple[Callable[..., None], p.BoothTopic, bytes]) -> None:
    handler, topic, payload = message
    handler(worker.assembler, topic, payload)


def stored_acks(*workers: Worker) -> list[str]:
    return [ident for worker in workers for ident, status in worker.acks if status == "stored"]


def test_a_fin_that_overtakes_its_init_is_answered_at_the_storing_workers_commit(
        workers: tuple[Worker, Worker]) -> None:
    """The fin reaches worker B before worker A staged the init (about 1 photo in 11 with two
    workers): A stores the photo and acks it at its commit; B's look after the grace adds nothing."""
    a, b = workers
    init, (init_msg, chunk_msg, fin_msg) = messages(1)
    hand(b, fin_msg)
    b.batch.flush()
    assert stored_acks(a, b) == []
    hand(a, init_msg)
    hand(a, chunk_msg)
    a.batch.flush()
    assert a.store.photo(init.photo_id) is not None
    assert stored_acks(a, b) == [init.photo_id]  # before: nothing until B's second look, a grace later
    b.run_deferred()
    a.run_deferred()
    assert stored_acks(a, b) == [init.photo_id]
    assert [status for _, status in a.acks + b.acks] == ["stored"]


def test_a_fin_reaching_a_worker_while_the_other_commits_its_photo_is_acked_once(
        workers: tuple[Worker, Worker]) -> None:
    """Worker A holds the complete photo in its batch when the fin reaches worker B (about 1 photo
    in 8 with two workers): the photo is acked "stored" once, by A after its commit."""
    a, b = workers
    init, (init_msg, chunk_msg, fin_msg) = messages(2)
    hand(a, init_msg)
    hand(a, chunk_msg)
    hand(b, fin_msg)
    b.batch.flush()
    a.batch.flush()
    assert stored_acks(a, b) == [init.photo_id]
    b.run_deferred()  # before: B's second look found the row and acked it again
    a.run_deferred()
    assert stored_acks(a, b) == [init.photo_id]


def test_a_fin_staged_after_the_storing_workers_commit_is_acked_by_its_own_worker(
        workers: tuple[Worker, Worker]) -> None:
    """A commits before the fin reaches B: A has no fin to answer; B finds the row and acks, once."""
    a, b = workers
    init, (init_msg, chunk_msg, fin_msg) = messages(3)
    hand(a, init_msg)
    hand(a, chunk_msg)
    a.batch.flush()
    assert stored_acks(a, b) == []
    hand(b, fin_msg)
    b.batch.flush()
    assert stored_acks(a, b) == [init.photo_id]
    b.run_deferred()
    a.run_deferred()
    assert stored_acks(a, b) == [init.photo_id]


def test_every_order_of_a_photos_messages_over_two_workers_is_acked_stored_once(
        workers: tuple[Worker, Worker]) -> None:
    """Each of the 6 orders of init, chunk and fin, each of the 8 ways to hand them to two workers,
    with each worker committing after each message: stored once, acked "stored" exactly once,
    never "missing", before any grace runs out (a chunk that overtook its init found it by its
    looks every ``HOLD_POLL_S``)."""
    a, b = workers
    seed = 10
    for order in itertools.permutations(range(3)):
        for owners in itertools.product((a, b), repeat=3):
            init, msgs = messages(seed)
            seed += 1
            for position in order:
                hand(owners[position], msgs[position])
                owners[position].batch.flush()
            for worker in (a, b):
                worker.run_deferred(HOLD_POLL_S)
            assert stored_acks(a, b).count(init.photo_id) == 1, (order, owners.count(a))
            for worker in (a, b):
                worker.run_deferred()
            assert stored_acks(a, b).count(init.photo_id) == 1
            assert (init.photo_id, "missing") not in a.acks + b.acks
            assert a.store.photo(init.photo_id) is not None


def test_a_fin_is_claimed_once_and_one_staged_after_a_failed_claim_outlives_the_discard(tmp_path: Path) -> None:
    """``settle``'s order: claim, then discard keeping the fin. A fin that lands between the two is
    left for its own worker to claim (it then finds the row); a second claim of one fin fails."""
    staging = Staging(tmp_path / "staging")
    init, _ = messages(4)
    staging.put_init(BOOTH, init.photo_id, p.encode(init))
    assert not staging.claim_fin(BOOTH, init.photo_id)  # the storing worker: no fin yet
    staging.put_fin(BOOTH, init.photo_id)  # the fin lands on the other worker
    staging.discard(BOOTH, init.photo_id, keep_fin=True)
    assert staging.init(BOOTH, init.photo_id) is None
    assert staging.claim_fin(BOOTH, init.photo_id)
    assert not staging.claim_fin(BOOTH, init.photo_id)
