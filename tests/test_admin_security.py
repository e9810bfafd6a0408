"""Who reaches the admin API, and what it takes: over real sockets, as a browser or a DNS-rebinding page would
send it (tests/test_cli.py runs the whole `serve` process; tests/test_admin.py the answers)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_lwa import LwaServer

CLOCK_RANGE = "epoch seconds from 0 (1970-01-01T00:00:00Z) to 32503680000 (3000-01-01T00:00:00Z)"
DELAY_RANGE = "delay must be a non-negative number of seconds, at most 600"


# --- the Python API refuses the same values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.clock.set(1e400), ValueError, f"set() takes {CLOCK_RANGE}, got inf"),
        (lambda s: s.clock.set(float("nan")), ValueError, f"set() takes {CLOCK_RANGE}, got nan"),
        (lambda s: s.clock.set(10**400), ValueError, f"set() takes {CLOCK_RANGE}, got 1000000000000"),
        (lambda s: s.clock.advance(float("inf")), ValueError, "advance() takes at most"),
        (lambda s: s.delay_next(1e9), ValueError, f"{DELAY_RANGE}, got 1000000000.0"),
        (lambda s: s.delay_next(float("nan")), ValueError, f"{DELAY_RANGE}, got nan"),
        (lambda s: s.fail_next(times=10**9), ValueError, "times must be a whole number >= 1 and <= 1000000"),
        (lambda s: s.drop_next(nth=0), ValueError, "nth must be a whole number >= 1 and <= 1000000"),
        (lambda s: s.respond_next(1000), ValueError, "status must be a whole number >= 200 and <= 599, got 1000"),
        (lambda s: s.respond_next(502, body=5), TypeError, "body must be text or bytes, got int"),
        (lambda s: s.respond_next(502, headers={"X": "a\nb"}), ValueError, "headers: the value of X must be"),
        (lambda s: s.fail_next(headers={"X:": "a"}), ValueError, "headers: 'X:' is not an HTTP header name"),
        (lambda s: s.fail_next(status=302), ValueError, "status must be a whole number >= 400 and <= 599"),
        (lambda s: s.throttle_next(retry_after=-5), ValueError, "retry_after must be a whole number >= 0"),
        (lambda s: s.delay_next(1, path="token"), ValueError, "path must start with '/'"),
        (lambda s: s.configure(expires_in=2**31), ValueError, "expires_in must be a whole number of seconds from 1 to"),
        (lambda s: s.add_user(name=5), TypeError, "name must be a string, got 5"),
        (lambda s: s.revoke(5), TypeError, "token must be a string, got 5"),
    ],
)  # fmt: skip
def test_the_python_api_refuses_the_same_values(call: Any, error: type[Exception], message: str) -> None:
    server = LwaServer()
    with pytest.raises(error) as refused:
        call(server)
    assert str(refused.value).startswith(message)
    assert server.pending_faults == []
    assert server.settings.expires_in == 3600
