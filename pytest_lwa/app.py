"""The WSGI app: routing, request parsing and rendering of the exact LWA answers.

Every answer, error or not, is compact JSON with the headers of Amazon's recorded answers (LWA-CONTRACT
R1): ``Content-Type: application/json;charset=UTF-8``, ``Cache-Control: no-cache, no-store,
must-revalidate``, ``Pragma: no-cache``, ``x-amzn-RequestId``, ``X-Amz-Rid``, ``X-Amz-Date`` (the server
clock's time), ``Vary`` and ``Strict-Transport-Security``; an error adds ``X-Amzn-Errortype`` (R2). The
one exception is a browser (``Accept: text/html``) sent to ``/ap/oa`` for an unknown client or an
unregistered redirect URI: it gets Amazon's HTML error page (R20, R21). Nothing a client sends can make it
answer a traceback.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import secrets
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.wrappers import Request

from . import errors
from .authority import basic_credentials
from .errors import LwaError
from .faults import Fault, FaultQueue
from .recording import RecordedRequest, access_log, parse_answer, redact_headers, redact_params

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .authority import Authority

__all__ = ["MAX_BODY_BYTES", "LwaApp"]

#: Token request bodies larger than this are answered 413 (real ones are well under 2 KiB).
MAX_BODY_BYTES: Final = 64 * 1024
_MAX_FIELDS: Final = 100
FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
#: the Content-Type of Amazon's answers (R1)
JSON_TYPE: Final = "application/json;charset=UTF-8"

logger = logging.getLogger("pytest_lwa")

Handler = Callable[["LwaRequest"], "dict[str, Any] | _Answer"]
#: the headers every answer of Amazon's carries, besides those that change per answer (R1)
JSON_HEADERS: Final = (
    ("Content-Type", JSON_TYPE),
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Pragma", "no-cache"),
    ("Vary", "Content-Type,Accept-Encoding,User-Agent"),
    ("Strict-Transport-Security", "max-age=47474747; includeSubDomains; preload"),
)
#: what a browser sees at ``/ap/oa`` for an unknown client (R20) or an unregistered redirect URI (R21)
BROWSER_PAGES: Final[dict[type[LwaError], str]] = {
    errors.UNKNOWN_CLIENT_ID: "Unknown client_id",
    errors.UNREGISTERED_REDIRECT_URI: "The redirect URI you provided has not been whitelisted for your application."
    " Please add your redirect URI in the 'Allowed Return URLs' section under 'Web Settings' for your Security"
    " Profile on Amazon Developer Portal.",
}
#: routes whose parameters come in the body
BODY_ROUTES: Final = frozenset({"/auth/o2/token", "/auth/o2/create/codepair"})


class _Answer:
    """What the app answers: status, body bytes, headers, and (when known) the body as data."""

    __slots__ = ("body", "data", "headers", "reason", "status")
    _UNSET: Final = object()

    def __init__(self, status: int, body: bytes, headers: list[tuple[str, str]], data: Any = _UNSET) -> None:
        self.status, self.body, self.headers, self.data = status, body, headers, data
        #: why the mock answered an error, for the request log (never sent)
        self.reason: str | None = None

    def logged(self) -> Any:
        """The body as the request log shows it: JSON as data, anything else as bytes."""
        return parse_answer(self.body) if self.data is _Answer._UNSET else self.data


def _environ_headers(environ: WSGIEnvironment) -> Iterator[tuple[str, str]]:
    """The request headers, named as sent (in title case), straight from the environ."""
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-").title(), value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key.replace("_", "-").title(), value


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class LwaRequest(Request):
    # one byte more than allowed, so that a chunked body past the limit can be told from one at it
    max_content_length = MAX_BODY_BYTES + 1
    #: the parsed body or query parameters, or the error parsing them gave (parsed once per request)
    parsed: dict[str, str] | LwaError | None = None


class LwaApp:
    """Serves one :class:`~pytest_lwa.authority.Authority` over HTTP, with faults and a request log."""

    def __init__(self, authority: Authority, log_size: int | None = None) -> None:
        self.authority = authority
        #: exceptions raised while answering since the last reset (the first 100: a server that runs for
        #: days keeps no more)
        self.errors: list[BaseException] = []
        self.faults = FaultQueue()
        self.log: deque[RecordedRequest] = deque(maxlen=log_size)
        self.generation = 0
        # lower-cased path -> (method, handler); the /auth/o2 paths match in any case, as Amazon's do.
        self.routes: dict[str, tuple[str, Handler]] = {
            "/auth/o2/token": ("POST", self._token),
            "/auth/o2/tokeninfo": ("GET", self._tokeninfo),
            "/auth/o2/create/codepair": ("POST", self._codepair),
            "/user/profile": ("GET", self._profile),
            "/ap/oa": ("GET", self._authorize),
        }

    def reset(self) -> None:
        self.generation += 1  # requests still in flight from before belong to no one now
        self.errors.clear()
        self.faults.clear()
        self.log.clear()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = LwaRequest(environ)
        request_id = str(uuid.uuid4())
        generation = self.generation
        seen: dict[str, Any] | None = None
        fault = None
        try:
            seen = self._record(request)
            fault = self.faults.take(RecordedRequest(**seen)) if self.faults.pending else None
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
                if self.generation != generation:  # reset while it waited: its test is over
                    _close(environ)
                    raise ConnectionAbortedError("pytest-lwa: the server was reset while this request waited")
            if fault is not None and fault.kind == "drop":
                self.log.append(record := RecordedRequest(**seen, fault=fault.describe()))
                access_log.info("%s", record)
                _close(environ)
                raise ConnectionAbortedError("pytest-lwa fault: connection closed without an answer")
            if fault is not None and fault.kind in ("error", "raw"):
                answer = self._fault_answer(fault, request_id)
            else:
                answer = self._answer(request, request_id)
        except ConnectionAbortedError:
            raise  # werkzeug closes the connection quietly
        except Exception as exc:  # answered as JSON and kept for the test to see
            logger.exception("pytest-lwa: unexpected error answering %s %s", request.method, request.path)
            if self.generation == generation and len(self.errors) < 100:
                self.errors.append(exc)
            answer = self._error_answer(errors.SERVER_ERROR(), request_id)
            answer.reason = f"the mock itself failed: {exc!r} (kept in server.app.errors)"
        if seen is None:  # the request could not even be recorded
            seen = {"method": request.method, "path": request.path, "content_type": "", "headers": {}, "params": {},
                    "time": self.authority.clock.now()}  # fmt: skip
        record = RecordedRequest(
            **seen,
            status=answer.status,
            answer=answer.logged(),
            fault=fault.describe() if fault else None,
            reason=answer.reason,
        )
        if self.generation == generation:  # a request that outlived a reset stays out of the next test's log
            self.log.append(record)
        access_log.info("%s", record)
        headers = [*answer.headers, ("Content-Length", str(len(answer.body))), ("x-amzn-RequestId", request_id)]
        start_response(_status_line(answer.status), headers)
        return [] if request.method == "HEAD" else [answer.body]

    def _answer(self, request: LwaRequest, request_id: str) -> _Answer:
        try:
            result = self._dispatch(request)
        except LwaError as error:
            answer = self._error_answer(error, request_id)
            answer.reason = error.reason
            if isinstance(error, errors.METHOD_NOT_ALLOWED):
                answer.headers.append(("Allow", self.routes[request.path.lower()][0]))
            return answer
        if isinstance(result, _Answer):
            return result
        return _Answer(200, errors.compact_json(result), self._headers(), result)

    def _headers(self) -> list[tuple[str, str]]:
        """The headers of an answer: Amazon's fixed ones, its request id (``X-Amz-Rid``) and date."""
        rid = secrets.token_hex(10).upper()
        return [*JSON_HEADERS, ("X-Amz-Rid", rid), ("X-Amz-Date", formatdate(self.authority.clock.now(), usegmt=True))]

    def _error_answer(self, error: LwaError, request_id: str) -> _Answer:
        body = error.body(self.authority.settings.body_style, request_id)
        return _Answer(error.status, body, [*self._headers(), ("X-Amzn-Errortype", error.error_type)])

    def _fault_answer(self, fault: Fault, request_id: str) -> _Answer:
        if fault.error is not None:
            answer = self._error_answer(fault.error, request_id)
        else:
            answer = _Answer(fault.status, fault.body, [("Content-Type", fault.headers.get("Content-Type", JSON))])
        replaced = {name.lower() for name in fault.headers}
        answer.headers = [(k, v) for k, v in answer.headers if k.lower() not in replaced] + list(fault.headers.items())
        return answer

    def _record(self, request: LwaRequest) -> dict[str, Any]:
        """The request's fields as the log and fault predicates see them: parsed leniently, redacted."""
        environ = request.environ
        parsed = self._params(request, lenient=True)
        basic = basic_credentials(environ.get("HTTP_AUTHORIZATION"))
        return {
            "method": request.method,
            "path": request.path,
            "content_type": environ.get("CONTENT_TYPE", ""),
            "headers": redact_headers(_environ_headers(environ)),
            "params": redact_params(parsed),
            "time": self.authority.clock.now(),
            "client_id": parsed.get("client_id") or (basic[0] if isinstance(basic, tuple) else None),
        }

    def _dispatch(self, request: LwaRequest) -> dict[str, Any] | _Answer:
        route = self.routes.get(request.path.lower())
        if route is None:
            known = ", ".join(self.routes)
            raise errors.NOT_FOUND(reason=f"{request.path} is none of the mock's paths ({known})")
        method, handler = route
        if request.method != method:
            raise errors.METHOD_NOT_ALLOWED(reason=f"{request.path} takes {method}, not {request.method}")
        return handler(request)

    # --- endpoints ----------------------------------------------------------------------------

    def _token(self, request: LwaRequest) -> dict[str, Any]:
        return self.authority.token(self._params(request), request.headers.get("Authorization"))

    def _codepair(self, request: LwaRequest) -> dict[str, Any]:
        return self.authority.create_code_pair(self._params(request))

    def _tokeninfo(self, request: LwaRequest) -> dict[str, Any]:
        token = self._params(request).get("access_token") or request.headers.get("x-amz-access-token", "").strip()
        if not token:  # the Amazon Pay SDKs send it in the header alone (R12)
            raise errors.missing_parameter(
                "access_token", "no access_token query parameter and no x-amz-access-token header"
            )
        return self.authority.tokeninfo(token)

    def _profile(self, request: LwaRequest) -> dict[str, Any]:
        scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return self.authority.profile(credentials.strip())
        token = request.headers.get("x-amz-access-token", "").strip()
        return self.authority.profile(token or self._query_token(request))

    def _authorize(self, request: LwaRequest) -> _Answer:
        try:
            location, reason = self.authority.authorize_answer(self._params(request))
        except LwaError as error:
            summary = BROWSER_PAGES.get(type(error))
            if summary is None or "text/html" not in request.headers.get("Accept", ""):
                raise  # an API client gets the JSON error
            page = _Answer(400, _error_page(summary), [("Content-Type", "text/html;charset=UTF-8"), *JSON_HEADERS[1:]])
            page.reason = error.reason
            return page
        answer = _Answer(302, b"", [*self._headers(), ("Location", location)], None)
        answer.reason = reason
        return answer

    # --- parsing ------------------------------------------------------------------------------

    def _query_token(self, request: LwaRequest) -> str:
        token = self._params(request).get("access_token")
        if not token:
            raise errors.missing_parameter(
                "access_token", "no Authorization: Bearer or x-amz-access-token header and no access_token parameter"
            )
        return token

    def _params(self, request: LwaRequest, lenient: bool = False) -> dict[str, str]:
        """The request's parameters: the body's on the POST routes that take one, else the query's.

        Parsed once per request; raises the error a bad body or query gets (``lenient``: returns ``{}``).
        """
        if request.parsed is None:
            try:
                if request.method == "POST" and request.path.lower() in BODY_ROUTES:
                    request.parsed = self._parse_body(request)
                else:
                    request.parsed = _form_params(request.query_string, unparseable=errors.MALFORMED_REQUEST)
            except LwaError as error:
                request.parsed = error
        if isinstance(request.parsed, LwaError):
            if lenient:
                return {}
            raise request.parsed
        return request.parsed

    def _parse_body(self, request: Request) -> dict[str, str]:
        mimetype = request.mimetype  # lower-cased, parameters such as charset removed
        if mimetype == FORM:
            return _form_params(_read_body(request), unparseable=errors.UNSUPPORTED_GRANT_TYPE)
        if mimetype == JSON and self.authority.settings.json_body:
            return _json_params(_read_body(request))
        takes = FORM + (" or " + JSON if self.authority.settings.json_body else " (json_body is off)")
        sent = f"Content-Type {request.content_type!r} is not" if request.content_type else "no Content-Type; send"
        raise errors.UNSUPPORTED_CONTENT_TYPE(reason=f"{sent} {takes}")


_TOO_LARGE: Final = f"the body is over {MAX_BODY_BYTES // 1024} KiB"


def _error_page(summary: str) -> bytes:
    """Amazon's error page for a browser at ``/ap/oa`` (R20, R21): no redirect, status 400."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Amazon.com Sign In</title></head>
<body>
<main>
<h1>We're sorry!</h1>
<p>An error occurred when we tried to process your request.</p>
<h2>Error Summary</h2>
<p>400 Bad Request</p>
<p>{html.escape(summary)}</p>
</main>
</body>
</html>
""".encode()


def _close(environ: WSGIEnvironment) -> None:
    """Shut the client's connection down (werkzeug's server puts its socket in the environ)."""
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def _read_body(request: Request) -> bytes:
    try:
        data = request.stream.read()  # at most max_content_length bytes
    except RequestEntityTooLarge:
        raise errors.REQUEST_TOO_LARGE(reason=_TOO_LARGE) from None
    except BadRequest as error:  # the body ended early (client gone), its chunked encoding is broken, or
        # the server's deadline for the whole request passed while reading it (werkzeug's stream turns
        # the read's TimeoutError into this)
        if isinstance(error.__context__, TimeoutError):
            raise errors.REQUEST_TIMEOUT(reason="the body did not arrive within the server's request_timeout") from None
        raise errors.MALFORMED_REQUEST(
            reason="the body ended before its Content-Length, or its chunked encoding is broken"
        ) from None
    if len(data) > MAX_BODY_BYTES:
        raise errors.REQUEST_TOO_LARGE(reason=_TOO_LARGE)
    return data


def _form_params(raw: bytes, unparseable: type[LwaError]) -> dict[str, str]:
    """Parameters of a form-encoded body or query string; ``unparseable`` if it cannot be decoded."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=_MAX_FIELDS)
    except ValueError:  # invalid UTF-8 (raw or percent-encoded), or too many fields
        raise unparseable(
            reason=f"the form is not UTF-8 (raw or percent-encoded), or has over {_MAX_FIELDS} fields"
        ) from None
    return _unique(pairs)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The parameters as a dict; a parameter given twice makes the request malformed (RFC 6749 3.2)."""
    params = dict(pairs)
    if len(params) != len(pairs):
        twice = sorted({name for name, _ in pairs if [n for n, _ in pairs].count(name) > 1})
        raise errors.MALFORMED_REQUEST(reason=f"{', '.join(twice)} given more than once")
    return params


def _json_params(raw: bytes) -> dict[str, str]:
    """Parameters of a JSON object body; every value must be a string."""
    try:
        document = json.loads(raw, object_pairs_hook=_unique)
    except (ValueError, RecursionError):
        raise errors.UNSUPPORTED_GRANT_TYPE(reason="the JSON body cannot be parsed") from None
    if not isinstance(document, dict):
        raise errors.UNSUPPORTED_GRANT_TYPE(reason="the JSON body is not an object")
    document = {key: value for key, value in document.items() if value is not None}  # null is absent (R14)
    others = [name for name, value in document.items() if not isinstance(value, str)]
    if others:
        raise errors.MALFORMED_REQUEST(reason=f"JSON value(s) of {', '.join(others)} not a string (nor null)")
    return document
