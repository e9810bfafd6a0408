from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from pytest_lwa import ManualClock


def test_starts_at_real_time_and_stands_still() -> None:
    # time.time(), as the clock reads it: a datetime's microseconds could put "after" a hair before it
    before = time.time()
    clock = ManualClock()
    after = time.time()
    assert before <= clock.now() <= after
    assert clock.now() == clock.now()


def test_advance_and_set() -> None:
    clock = ManualClock(start=1000)
    assert clock.advance(60) == 1060
    assert clock.advance(0.5) == 1060.5
    when = datetime(2030, 1, 1, tzinfo=UTC)
    clock.set(when)
    assert clock.now() == when.timestamp()
    clock.set(5)
    assert clock.now() == 5


def test_ticking_clock_follows_real_time_plus_advances() -> None:
    clock = ManualClock(start=0, tick=True)
    first = clock.now()
    clock.advance(100)
    assert clock.now() >= first + 100
    assert clock.now() < first + 110


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: c.advance(-1), ValueError, "use set\\(\\) to move the clock back"),
        (lambda c: c.advance(float("nan")), ValueError, "non-negative"),
        (lambda c: c.advance("10"), TypeError, "number of seconds or a timedelta, not str"),
        (lambda c: c.advance(True), TypeError, "not bool"),
        (lambda c: c.set(datetime(2030, 1, 1)), ValueError, "timezone-aware"),
        (lambda c: c.set("2030"), TypeError, "datetime or epoch seconds"),
        (lambda c: c.set(timedelta(1)), TypeError, "datetime or epoch seconds"),
    ],
)
def test_misuse_says_what_to_do(call, error, message) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(start=0)
    with pytest.raises(error, match=message):
        call(clock)
    assert clock.now() == 0


def test_advance_takes_a_timedelta() -> None:
    clock = ManualClock()
    start = clock.now()
    assert clock.advance(timedelta(minutes=5, seconds=1.5)) == start + 301.5
    with pytest.raises(ValueError, match="non-negative"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(TypeError, match="a number of seconds or a timedelta, not str"):
        clock.advance("5")  # type: ignore[arg-type]
