"""A card reader without hardware, for the demo and the tests of the booth flow.

``present(card)`` is a card being placed on the reader; ``wait_for_card`` hands each placement
out exactly once, so it behaves like the real readers (one placement, one swipe). Any thread may
call ``present``/``remove``/``fail`` while another blocks in ``wait_for_card``.
"""

from __future__ import annotations

import collections
import threading
import time

from appliance.cardreader.base import IdentityCard, ReaderError


class SimulatedCardReader:
    """Thread-safe: a queue of placements (cards or injected faults) consumed by ``wait_for_card``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: collections.deque[IdentityCard | ReaderError] = collections.deque()
        self._on_reader: IdentityCard | None = None
        self._closed = False

    def present(self, card: IdentityCard) -> None:
        """Place ``card`` on the reader (replacing any card lying there): one new swipe."""
        if not isinstance(card, IdentityCard):
            raise TypeError(f"present() takes an IdentityCard, not {type(card).__name__}")
        with self._cond:
            self._on_reader = card
            self._pending.append(card)
            self._cond.notify_all()

    def remove(self) -> None:
        """Take the card off the reader; a placement not yet consumed still counts as a swipe."""
        with self._cond:
            self._on_reader = None

    def fail(self, error: ReaderError) -> None:
        """Make the next ``wait_for_card`` raise ``error``, as a broken reader would."""
        with self._cond:
            self._pending.append(error)
            self._cond.notify_all()

    @property
    def card_on_reader(self) -> IdentityCard | None:
        with self._cond:
            return self._on_reader

    def wait_for_card(self, timeout: float) -> IdentityCard | None:
        """The next placement, or None after ``timeout`` seconds (at once when closed)."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            while not self._pending and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._closed:
                return None
            item = self._pending.popleft()
        if isinstance(item, ReaderError):
            raise item
        return item

    def close(self) -> None:
        """Wake every waiter; later waits return None at once."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._on_reader = None
            self._cond.notify_all()
