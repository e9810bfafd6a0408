"""The server's clock: every expiry the mock enforces is measured on it, never on the wall clock."""

from __future__ import annotations

import reprlib
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Protocol

__all__ = ["EARLIEST", "LATEST", "Clock", "ManualClock"]

#: the earliest time a clock may show, in epoch seconds: 1970-01-01T00:00:00Z
EARLIEST: Final = 0.0
#: the latest time a clock may be set or advanced to: 3000-01-01T00:00:00Z (far from the year 9999, where
#: HTTP dates end, so a ticking clock and every token's expiry stay in range)
LATEST: Final = 32503680000.0
_RANGE: Final = f"from {EARLIEST:.0f} (1970-01-01T00:00:00Z) to {LATEST:.0f} (3000-01-01T00:00:00Z)"


def _in_range(when: float, label: str) -> float:
    """``when`` as a float, if it is a time a clock may show; else a ``ValueError`` that starts with ``label``."""
    try:
        target = float(when)
    except OverflowError:  # an int too large for any float
        target = float("inf")
    if not EARLIEST <= target <= LATEST:  # NaN is in no range
        raise ValueError(f"{label} epoch seconds {_RANGE}, got {reprlib.repr(when)}")
    return target


class Clock(Protocol):
    """What the authority needs of a clock: the current time in epoch seconds."""

    def now(self) -> float: ...


class ManualClock:
    """A clock that only moves when told to.

    It starts at the real time of its creation (or at ``start``, epoch seconds) and stays there until
    :meth:`advance` or :meth:`set` moves it. With ``tick=True`` it also follows real time from its start,
    which is what a long-running standalone server wants; ``advance`` then adds an offset.
    """

    def __init__(self, start: float | None = None, *, tick: bool = False) -> None:
        self._lock = threading.Lock()
        if start is not None and (isinstance(start, bool) or not isinstance(start, (int, float))):
            raise TypeError(f"start must be epoch seconds, not {type(start).__name__}")
        self._base = time.time() if start is None else _in_range(start, "start must be")
        self._tick = tick
        self._started = time.monotonic()
        self._moved: list[Callable[[], object]] = []

    def on_move(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` (in the thread that moved the clock, before the move returns) after each
        :meth:`advance` and :meth:`set`: what falls due at the new time happens at once, deterministically."""
        self._moved.append(callback)

    def _notify(self) -> None:
        for callback in list(self._moved):
            callback()

    def now(self) -> float:
        """The current time of this clock, in epoch seconds."""
        with self._lock:
            return self._now()

    def _now(self) -> float:
        if self._tick:
            return self._base + (time.monotonic() - self._started)
        return self._base

    def advance(self, seconds: float | timedelta) -> float:
        """Move the clock forward by ``seconds`` (a number, or a :class:`~datetime.timedelta`) and return the
        new time.

        Tokens issued with ``expires_in=3600`` are expired after ``advance(3600)`` or ``advance(timedelta(hours=1))``.
        """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"advance() takes a number of seconds or a timedelta, not {type(seconds).__name__}")
        if not seconds >= 0:
            raise ValueError(
                f"advance() takes a non-negative number of seconds, got {seconds!r}; use set() to move the clock back"
            )
        with self._lock:
            now = self._now()
            if not seconds <= LATEST - now:  # (also refuses an infinite number of seconds)
                raise ValueError(
                    f"advance() takes at most {LATEST - now:.0f} seconds from now ({now:.0f}): the clock shows"
                    f" epoch seconds {_RANGE}, got {reprlib.repr(seconds)}"
                )
            self._base += seconds
        self._notify()
        return self.now()

    def set(self, when: datetime | float) -> None:
        """Put the clock at ``when``: a timezone-aware datetime or epoch seconds, from 1970 to 3000
        (:data:`EARLIEST` to :data:`LATEST`)."""
        if isinstance(when, datetime):
            if when.tzinfo is None:
                raise ValueError(
                    "set() needs a timezone-aware datetime (e.g. datetime(2030, 1, 1, tzinfo=timezone.utc)),"
                    " so the time it names is not ambiguous"
                )
            target = when.timestamp()
        elif isinstance(when, (int, float)) and not isinstance(when, bool):
            target = when
        else:
            raise TypeError(f"set() takes a datetime or epoch seconds, not {type(when).__name__}")
        target = _in_range(target, "set() takes")
        with self._lock:
            self._base = target
            self._started = time.monotonic()
        self._notify()

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now():.3f}, tick={self._tick})"
