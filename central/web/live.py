"""Server-sent events for live pages: one poller, a bounded queue per client, keep-alive pings.

The dashboard may run in another process than the ingest (``booth-central web``), so the store is
the only source of truth: one task reads the fleet every ``POLL_S`` and hands a changed snapshot to
every client's queue. A client whose queue is full (a stalled browser) is dropped; its EventSource
reconnects and gets the full state again, so nothing piles up in the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

# A change shows within 2 s (issue 12): polled every 0.5 s, rendered and sent at once.
POLL_S = 0.5
# A comment line this often keeps proxies and the browser from closing an idle stream.
PING_S = 15.0
QUEUE_SIZE = 8
# How often a waiting stream looks at ``Broadcaster.closing`` (a server shutting down ends them all).
_CHECK_S = 0.25


class _Client:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.dropped = False


class Broadcaster:
    """Polls ``read()`` (blocking, run in a worker thread) and fans changed values out to clients."""

    def __init__(self, read: Callable[[], Any], poll_s: float = POLL_S) -> None:
        self.read = read
        self.poll_s = poll_s
        self.clients: set[_Client] = set()
        self.latest: Any = None
        self.closing = False  # set from any thread: every stream ends at its next check
        self._task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        while self.clients:
            value = await anyio.to_thread.run_sync(self.read)
            if value != self.latest:
                self.latest = value
                for client in list(self.clients):
                    try:
                        client.queue.put_nowait(value)
                    except asyncio.QueueFull:
                        client.dropped = True
                        self.clients.discard(client)
            await asyncio.sleep(self.poll_s)
        self._task = None

    async def stream(self, render: Callable[[Any], str], event: str, ping_s: float = PING_S,
                     ) -> AsyncIterator[str]:
        """SSE text: the full state first, then every change, a ping when idle; ends if the client lags."""
        client = _Client()
        self.latest = await anyio.to_thread.run_sync(self.read)
        self.clients.add(client)
        if self._task is None:
            self._task = asyncio.create_task(self._poll())
        try:
            yield sse(event, render(self.latest))
            idle = 0.0
            while not client.dropped and not self.closing:
                try:
                    value = await asyncio.wait_for(client.queue.get(), min(_CHECK_S, ping_s))
                except TimeoutError:
                    idle += min(_CHECK_S, ping_s)
                    if idle >= ping_s:
                        idle = 0.0
                        yield ": ping\n\n"
                    continue
                idle = 0.0
                yield sse(event, render(value))
        finally:
            self.clients.discard(client)

    async def close(self) -> None:
        self.clients.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def sse(event: str, data: str) -> str:
    """One SSE message; each line of ``data`` gets its own ``data:`` field (the spec joins them)."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"
