"""The request log: what the server saw and what it answered, with secrets redacted."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict
from urllib.parse import unquote_plus, urlsplit

from .amazon_hosts import PROXY_HOSTS

__all__ = ["REDACTED", "RecordedRequest"]

REDACTED: Final = "***"
#: one line per request, secrets redacted; the standalone server shows it at --log-level info
access_log: Final = logging.getLogger("pytest_lwa.access")
#: Parameters whose values never reach the log.
SECRET_PARAMS: Final = frozenset({"client_secret", "code_verifier", "password"})

AuthMethod = Literal["basic", "body", "none"]
#: a parameter in a URL or form text: its name and value as sent (percent-encoded or not)
_PARAMETER: Final = re.compile(r"([^\s?&;=/'\"]+)=([^&;\s]*)")
#: a token or client secret of Amazon's shapes wherever it stands (a path, a matrix parameter, a reason that
#: quotes either): tokens are shown by their first 12 characters, secrets not at all
_TOKEN_TEXT: Final = re.compile(r"\b(Atz[ar]\||Atc\||amzn1\.oa2-cs\.v1\.)([A-Za-z0-9_\-+/=%.|]+)")


def _named(name: str) -> str:
    """A parameter's name as the server reads it, and then some: decoded, without spaces, in lower case."""
    return unquote_plus(name).strip().lower()


def redact_text(text: str) -> str:
    """``text`` (a request line, a query, an error message quoting one) with the values of its tokens and
    secrets as ``***``: each parameter is judged by its decoded name (``client%5Fsecret`` is ``client_secret``)."""

    def hide(parameter: re.Match[str]) -> str:
        name = _named(parameter[1])
        return f"{parameter[1]}={REDACTED}" if name in SECRET_PARAMS or name in TOKEN_PARAMS else parameter[0]

    return hide_tokens(_PARAMETER.sub(hide, text))


def hide_tokens(text: str) -> str:
    """``text`` with every token of Amazon's shapes shown by its first 12 characters, and every client secret
    as its prefix and ``***``, wherever they stand."""

    def hide(found: re.Match[str]) -> str:
        prefix, rest = found[1], found[2]
        if prefix == "amzn1.oa2-cs.v1.":
            return prefix + REDACTED
        return shown_token(prefix + rest)

    return _TOKEN_TEXT.sub(hide, text)


def one_line(text: str) -> str:
    """``text`` with every character that is not printable as an escape: C0 and C1 controls and DEL as
    ``\\x0d``, ``\\x7f``…, the Unicode line and paragraph separators and other unprintable characters (a
    direction override, say) as ``\\u2028``…: a line of the log is one line, whatever a client sent."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class _OneLine(logging.Filter):
    """Every record of the server's loggers, its message made :func:`one_line`: a client's path, parameter,
    header or address can neither break a line nor forge one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: the handler reports it, as for any record
            return True
        # formatted once (the handlers format msg alone); a token that stands outside a parameter hidden too
        record.msg, record.args = one_line(hide_tokens(message)), None
        return True


_ONE_LINE: Final = _OneLine()
for _logger in (logging.getLogger("pytest_lwa"), access_log):
    _logger.addFilter(_ONE_LINE)


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
        """One line, secrets redacted, control characters escaped: ``POST /auth/o2/token grant_type=… -> 200``."""
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
        return one_line(f"{self.method} {where} {fields}{auth} -> {answer}{fault}{reason}".replace("  ", " "))

    def __str__(self) -> str:
        return self.describe()


#: parameters holding a token or code: a log line shows only their first characters
TOKEN_PARAMS: Final = frozenset({"access_token", "refresh_token", "code", "device_code"})


def _short(name: str, value: str) -> str:
    """A parameter as a log line shows it: tokens and codes by their first characters, nothing long whole."""
    if _named(name) in TOKEN_PARAMS:
        return shown_token(value)
    return value if len(value) <= 64 else value[:24] + "…"


def shown_token(value: str) -> str:
    """A token or code as logs show it: its first 12 characters (enough to tell it from another)."""
    return value[:12] + "…" if len(value) > 12 else value


def shown_tokens(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` (parameters, an answer) with the tokens and codes among them as :func:`shown_token` shows them."""
    return {k: shown_token(v) if isinstance(v, str) and _named(k) in TOKEN_PARAMS else v for k, v in fields.items()}


def redact_params(params: Mapping[str, str]) -> dict[str, str]:
    """``params`` with the values of secrets as ``***``, judged by name in any case (``Client_Secret`` too)."""
    return {k: (REDACTED if _named(k) in SECRET_PARAMS else v) for k, v in params.items()}


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    redacted: dict[str, str] = {}
    for name, value in headers:
        if name.lower() in ("authorization", "proxy-authorization", "x-amz-access-token"):
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
