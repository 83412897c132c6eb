"""The MQTT workers' one loop shape: callbacks enqueue, a worker handles a batch, commits, then acknowledges.

paho's callbacks run on its network thread, where blocking (a database commit, ``wait_for_publish``)
can stall or deadlock the connection; so they only ``put`` what arrived. One worker thread takes
every item already queued (up to ``limit``), handles each, commits what they changed in one go and
only then acknowledges them to the broker (manual PUBACK): a worker killed before the commit gets
the messages delivered again, and the broker's in-flight window bounds the queue. The booth's
uplink and central's ingest workers both run on it.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Closed:
    """The item ``close()`` queues: the worker stops after the batch it ends."""


_CLOSED = _Closed()


class CommitThenAck(Generic[T]):
    """A queue of ``T`` served in batches: ``handle`` each, then ``commit``, then ``acknowledge`` each.

    ``acknowledge`` gets every item ``handle`` was called with, also one that raised (its failure is
    logged by the caller; re-delivering it would fail again); items still queued behind a failure
    wait for the next step.
    """

    def __init__(self, *, handle: Callable[[T], None], commit: Callable[[], None],
                 acknowledge: Callable[[T], None], limit: int | None = None) -> None:
        self.handle = handle
        self.commit = commit
        self.acknowledge = acknowledge
        self.limit = limit
        self._queue: queue.Queue[T | _Closed] = queue.Queue()

    def put(self, item: T) -> None:
        """Thread-safe, never blocks: what a paho callback calls."""
        self._queue.put(item)

    def close(self) -> None:
        """Stop the worker: ``step`` returns False after the batch that ends here."""
        self._queue.put(_CLOSED)

    def step(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for an item, serve it and every item queued behind it (up to
        ``limit``); False once ``close()`` was reached. Raises what ``handle`` raised, after the
        commit and the acknowledgements of the items handled."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            item = None
        handled: list[T] = []
        try:
            while item is not None and not isinstance(item, _Closed):
                handled.append(item)
                self.handle(item)
                if self.limit is not None and len(handled) >= self.limit:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
        finally:
            self.commit()
            for done in handled:
                self.acknowledge(done)
        return not isinstance(item, _Closed)
