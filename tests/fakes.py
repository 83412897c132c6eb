"""Stand-ins the suites share at the true hardware edge and for time."""

from __future__ import annotations


class FakeClock:
    """A monotonic clock the test moves by hand (``clock.now += s`` or ``advance(s)``)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
