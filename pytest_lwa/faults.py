"""Queued and conditional faults: answers that replace, delay or drop what the server would say."""

from __future__ import annotations

import re
import reprlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypedDict

from . import errors
from .errors import LwaError
from .recording import RecordedRequest

__all__ = ["CATALOGUE", "MAX_DELAY", "MAX_TIMES", "Fault", "FaultQueue", "header_map"]

TOKEN_PATH: Final = "/auth/o2/token"
#: the most a fault's ``times`` and ``nth`` may be
MAX_TIMES: Final = 1_000_000
#: the longest delay a fault may hold an answer for, in seconds (a worker thread waits that long)
MAX_DELAY: Final = 600.0
#: an HTTP field name (RFC 9110 token)
_FIELD_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: what a field value may not hold: control characters other than tab (CR and LF would start a new field)
_FIELD_VALUE_BAD: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]|[^\x00-\xff]")
#: the headers that frame an answer: the server writes them itself, once (a fault's would contradict them)
_FRAMING: Final = frozenset({"content-length", "transfer-encoding", "connection"})

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


def whole_number(value: object, name: str, low: int, high: int, hint: str = "") -> int:
    """``value`` if it is an int (not a bool) from ``low`` to ``high``; else a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number >= {low} and <= {high}{hint}, got {reprlib.repr(value)}")
    return value


def header_map(headers: Mapping[str, str] | None, name: str = "headers") -> dict[str, str]:
    """``headers`` as a dict, checked: field names are HTTP tokens, values strings without CR, LF or other
    control characters (a fault's answer carries them as they are)."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError(f"{name} must be a mapping of header names to values, got {type(headers).__name__}")
    for key, value in headers.items():
        if not isinstance(key, str) or not _FIELD_NAME.fullmatch(key):
            raise ValueError(f"{name}: {key!r} is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)")
        if key.lower() in _FRAMING:
            raise ValueError(f"{name}: {key} frames the answer, and the server sets it; leave it out")
        if not isinstance(value, str) or _FIELD_VALUE_BAD.search(value):
            raise ValueError(
                f"{name}: the value of {key} must be a string of Latin-1 characters without control characters,"
                f" got {value!r}"
            )
    return dict(headers)


def check(fault: Fault) -> Fault:
    """``fault`` if every field is in range; else a ``ValueError`` or ``TypeError`` naming the field."""
    whole_number(fault.times, "times", 1, MAX_TIMES)
    whole_number(fault.nth, "nth", 1, MAX_TIMES, " (1 is the next matching request)")
    delay = fault.delay
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY:
        raise ValueError(f"delay must be a non-negative number of seconds, at most {MAX_DELAY:g}, got {delay!r}")
    if fault.path is not None and (not isinstance(fault.path, str) or not fault.path.startswith("/")):
        raise ValueError(f"path must start with '/' (or be None for every path), got {fault.path!r}")
    if fault.when is not None and not callable(fault.when):
        raise TypeError(f"when must be a predicate on the request record, got {type(fault.when).__name__}")
    if not isinstance(fault.body, bytes):
        raise TypeError(f"body must be text or bytes, got {type(fault.body).__name__}")
    header_map(fault.headers)
    if fault.kind == "raw":
        whole_number(fault.status, "status", 200, 599)
    return fault


class FaultQueue:
    """Faults in the order they were queued; the first that matches a request acts on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        check(fault)
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
