"""The sandbox clock: real time flowing from a chosen start, plus manual jumps.

Examples
--------
>>> from datetime import UTC, datetime, timedelta
>>> clock = Clock(datetime(2026, 11, 27, 9, tzinfo=UTC), frozen=True)
>>> clock.advance(timedelta(hours=30))
>>> clock.now().isoformat()
'2026-11-28T15:00:00+00:00'
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """A thread-safe clock for the sandbox.

    Parameters
    ----------
    start : datetime, optional
        Aware instant the clock shows at creation; ``None`` means the real current time.
    frozen : bool
        If True the clock only moves by :meth:`advance`; otherwise it also flows in real
        time, so jobs complete while a client polls.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        if start is None:
            start = datetime.now(UTC)
        elif start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("the sandbox clock needs an aware datetime (e.g. tzinfo=UTC)")
        self._start = start.astimezone(UTC)
        self._frozen = frozen
        self._t0 = time.monotonic()
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    @property
    def frozen(self) -> bool:
        """Whether the clock moves only by :meth:`advance`."""
        return self._frozen

    def now(self) -> datetime:
        """Return the current sandbox time as an aware UTC datetime."""
        with self._lock:
            offset = self._offset
        if not self._frozen:
            offset += timedelta(seconds=time.monotonic() - self._t0)
        return self._start + offset

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta`` (never backwards)."""
        if delta < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += delta
