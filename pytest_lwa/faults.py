"""Queued and conditional faults: answers that replace, delay or drop what the server would say."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, TypedDict

from . import errors
from .errors import LwaError
from .recording import RecordedRequest

__all__ = ["CATALOGUE", "Fault", "FaultQueue"]

TOKEN_PATH: Final = "/auth/o2/token"

FaultKind = Literal["error", "raw", "delay", "drop"]
Predicate = Callable[[RecordedRequest], bool]

#: The error each ``error`` code means when a fault names it (``fail_next(error=...)``).
CATALOGUE: Final[dict[str, LwaError]] = {
    "server_error": errors.SERVER_ERROR(),
    "temporarily_unavailable": errors.TEMPORARILY_UNAVAILABLE(),
    "too_many_requests": errors.TOO_MANY_REQUESTS(),
    "invalid_client": errors.INVALID_CLIENT(),
    "invalid_scope": errors.INVALID_SCOPE(),
    "unsupported_grant_type": errors.UNSUPPORTED_GRANT_TYPE(),
    "invalid_request": errors.MALFORMED_REQUEST(),
    "invalid_grant": errors.INVALID_REFRESH_TOKEN(),
    "unauthorized_client": errors.UNAUTHORIZED_CLIENT(),
    "invalid_token": errors.INVALID_TOKEN(),
    "authorization_pending": errors.AUTHORIZATION_PENDING(),
    "slow_down": errors.SLOW_DOWN(),
    "invalid_code_pair": errors.INVALID_CODE_PAIR(),
    "access_denied": errors.ACCESS_DENIED(),
}


class Match(TypedDict, total=False):
    """Which requests a fault acts on (every fault method takes these keywords)."""

    #: the path it matches (default ``/auth/o2/token``; ``None``: every path)
    path: str | None
    #: a predicate on the :class:`~pytest_lwa.recording.RecordedRequest`
    when: Predicate | None
    #: ``3``: let two matching requests through first
    nth: int


@dataclass(eq=False)
class Fault:
    """One queued fault. ``fired`` counts how often it has acted; it is spent after ``times``."""

    kind: FaultKind
    error: LwaError | None = None
    status: int = 0  # a raw answer's; an error's status is its LwaError's
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    path: str | None = TOKEN_PATH
    when: Predicate | None = None
    nth: int = 1
    fired: int = 0
    _seen: int = field(default=0, repr=False)

    @property
    def remaining(self) -> int:
        return self.times - self.fired

    def describe(self) -> str:
        if self.kind == "error" and self.error is not None:
            what = f"{self.error.status} {self.error.error}"
        elif self.kind == "raw":
            what = f"raw {self.status} answer"
        elif self.kind == "delay":
            what = f"{self.delay:g} s delay"
        else:
            what = "dropped connection"
        where = "any path" if self.path is None else self.path
        extra = (" when " + getattr(self.when, "__name__", "a predicate")) if self.when else ""
        nth = f" from matching request #{self.nth}" if self.nth != 1 else ""
        return f"{what} on {where}{extra}{nth}, fired {self.fired} of {self.times}"


class FaultQueue:
    """Faults in the order they were queued; the first that matches a request acts on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if isinstance(fault.times, bool) or not isinstance(fault.times, int) or fault.times < 1:
            raise ValueError(f"times must be a whole number >= 1, got {fault.times!r}")
        if isinstance(fault.nth, bool) or not isinstance(fault.nth, int) or fault.nth < 1:
            raise ValueError(f"nth must be a whole number >= 1 (1 is the next matching request), got {fault.nth!r}")
        if not fault.delay >= 0:
            raise ValueError(f"delay must be a non-negative number of seconds, got {fault.delay!r}")
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, request: RecordedRequest) -> Fault | None:
        """The fault that acts on ``request``, if any (it counts as fired).

        An exception from a ``when`` predicate propagates: the server answers 500 and keeps it for the
        test's teardown check.
        """
        with self._lock:
            for fault in self._faults:
                if fault.path is not None and request.path.lower() != fault.path.lower():
                    continue
                if fault.when is not None and not fault.when(request):
                    continue
                fault._seen += 1
                if fault._seen < fault.nth:
                    continue
                fault.fired += 1
                if fault.fired >= fault.times:
                    self._faults.remove(fault)
                return fault
        return None

    @property
    def pending(self) -> list[Fault]:
        """Faults queued and not yet spent."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
