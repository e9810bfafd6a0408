"""The request log: what the server saw and what it answered, with secrets redacted."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict
from urllib.parse import urlsplit

from .amazon_hosts import PROXY_HOSTS

__all__ = ["REDACTED", "RecordedRequest"]

REDACTED: Final = "***"
#: one line per request, secrets redacted; the standalone server shows it at --log-level info
access_log: Final = logging.getLogger("pytest_lwa.access")
#: Parameters whose values never reach the log.
SECRET_PARAMS: Final = frozenset({"client_secret", "code_verifier", "password"})

AuthMethod = Literal["basic", "body", "none"]
#: values that never reach a log line, wherever they appear in a URL or form text
_SECRET_VALUES: Final = re.compile(
    r"\b(access_token|refresh_token|client_secret|code_verifier|code|device_code|password)=[^&\s'\"]*"
)


def redact_text(text: str) -> str:
    """``text`` (a request line, a query, an error message quoting one) with its tokens and secrets as ``***``."""
    return _SECRET_VALUES.sub(r"\1=" + REDACTED, text)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it, and the answer it gave.

    ``params`` are the parsed body (token and codepair endpoints) or query parameters, with
    ``client_secret`` and ``code_verifier`` redacted; ``headers`` have the credentials of
    ``Authorization`` redacted. ``client_id`` is the client named by the body or the HTTP Basic header;
    ``time`` is the server clock's. ``status`` and ``answer`` are filled in once the server has answered
    (``status`` is 0 when a fault closed the connection without an answer). ``reason`` says why a
    rejected request was rejected and how to fix it: the secret sent is not the client's, a scope has a
    typo, a refresh token was revoked… (the HTTP answer stays exactly Amazon's).
    """

    method: str
    path: str
    content_type: str
    headers: Mapping[str, str]
    params: Mapping[str, str]
    time: float
    client_id: str | None = None
    status: int = 0
    answer: Any = None
    fault: str | None = None
    #: why the mock rejected the request, in plain words with what it expected (never sent to the client)
    reason: str | None = None

    @property
    def host(self) -> str:
        """The ``Host`` the request named, without a port (``api.amazon.com`` through the proxy)."""
        try:
            return urlsplit("//" + self.headers.get("Host", "")).hostname or ""
        except ValueError:  # a Host no URL could have ("[abc"): no host to show
            return ""

    @property
    def grant_type(self) -> str | None:
        return self.params.get("grant_type")

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split())

    @property
    def auth_method(self) -> AuthMethod:
        """How the client authenticated: ``"basic"``, ``"body"`` (a ``client_secret`` field) or ``"none"``."""
        if self.headers.get("Authorization", "").lower().startswith("basic "):
            return "basic"
        return "body" if "client_secret" in self.params else "none"

    @property
    def is_token_request(self) -> bool:
        return self.path.lower() == "/auth/o2/token" and self.method == "POST"

    def describe(self) -> str:
        """One line, secrets redacted: ``POST /auth/o2/token grant_type=… client_id=… -> 200``."""
        fields = " ".join(f"{k}={_short(k, v)}" for k, v in self.params.items())
        if self.client_id and "client_id" not in self.params:  # named by the HTTP Basic header
            fields += f" client_id={self.client_id}"
        auth = f" auth={self.auth_method}" if self.is_token_request else ""
        answer = "no answer" if self.status == 0 else str(self.status)
        if isinstance(self.answer, Mapping) and "error" in self.answer:
            answer += f" {self.answer['error']}"
        fault = f" (fault: {self.fault})" if self.fault else ""
        reason = f": {self.reason}" if self.reason else ""
        where = self.host + self.path if self.host in PROXY_HOSTS else self.path  # through the proxy
        return f"{self.method} {where} {fields}{auth} -> {answer}{fault}{reason}".replace("  ", " ")

    def __str__(self) -> str:
        return self.describe()


#: parameters holding a token or code: a log line shows only their first characters
TOKEN_PARAMS: Final = frozenset({"access_token", "refresh_token", "code", "device_code"})


def _short(name: str, value: str) -> str:
    """A parameter as a log line shows it: tokens and codes by their first characters, nothing long whole."""
    if name in TOKEN_PARAMS and len(value) > 12:
        return value[:12] + "…"
    return value if len(value) <= 64 else value[:24] + "…"


def redact_params(params: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k in SECRET_PARAMS else v) for k, v in params.items()}


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    redacted: dict[str, str] = {}
    for name, value in headers:
        if name.lower() in ("authorization", "x-amz-access-token"):
            scheme, _, credentials = value.partition(" ")
            value = f"{scheme} {REDACTED}" if credentials else REDACTED
        redacted[name] = value
    return redacted


def parse_answer(body: bytes) -> Any:
    """The answer as JSON when it is JSON, else the raw bytes."""
    try:
        return json.loads(body)
    except ValueError:
        return body


class Criteria(TypedDict, total=False):
    """What ``token_requests`` and ``assert_token_requests`` match on."""

    grant_type: str
    client_id: str
    #: the scope string sent
    scope: str
    #: ``"basic"``, ``"body"`` or ``"none"``
    auth_method: str
    #: the media type, e.g. ``application/json``
    content_type: str
    status: int


CRITERIA: Final = tuple(Criteria.__annotations__)


def criteria_of(criteria: Mapping[str, Any]) -> dict[str, Any]:
    """``criteria`` for ``assert_token_requests``, checked for unknown names."""
    unknown = set(criteria) - set(CRITERIA)
    if unknown:
        raise TypeError(f"unknown criteria {', '.join(sorted(unknown))}; criteria are: {', '.join(CRITERIA)}")
    return dict(criteria)


def mismatches(record: RecordedRequest, checks: Mapping[str, Any]) -> list[str]:
    """Why ``record`` does not match ``checks`` (empty when it does)."""
    actual = {
        "grant_type": record.grant_type,
        "client_id": record.client_id,
        "scope": record.params.get("scope"),
        "auth_method": record.auth_method,
        "content_type": record.content_type.split(";")[0].strip().lower(),
        "status": record.status,
    }
    return [f"{name} is {actual[name]!r}, not {wanted!r}" for name, wanted in checks.items() if actual[name] != wanted]
