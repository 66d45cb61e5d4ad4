"""Time as the controller sees it: the wall clock in production, a simulated one in tests and the benchmark.

Every wait in the controller goes through a :class:`Clock`, so the same code measures the RTO on a simulated
timeline (a promotion that "takes" 60 s advances the clock by 60 s instead of sleeping).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic timeline."""
        ...

    def wall(self) -> float:
        """Unix time (for records and metrics)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class SimClock:
    """Starts at ``start`` (unix seconds); ``sleep`` and ``advance`` move it, nothing else does."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self._start = start
        self._t = 0.0

    def now(self) -> float:
        return self._t

    def wall(self) -> float:
        return self._start + self._t

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._t += seconds
