"""The HTTP side of a request, shared by the JSON API and the browser pages: what Amazon's answers carry,
an answer being built, and a request's parameters parsed as LWA parses them (form, JSON, HTTP Basic)."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.wrappers import Request

from . import errors, unique
from .amazon_hosts import PROXY_HOSTS
from .errors import LwaError
from .recording import parse_answer

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .clock import Clock

#: Token request bodies larger than this are answered 413 (real ones are well under 2 KiB).
MAX_BODY_BYTES: Final = 64 * 1024
#: the most of a request body the server reads (the admin API's bound; a body over it is never read whole)
MAX_REQUEST_BODY: Final = 1024 * 1024
_MAX_FIELDS: Final = 100
FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
#: the Content-Type of Amazon's answers (R1)
JSON_TYPE: Final = "application/json;charset=UTF-8"


#: the headers every answer of Amazon's carries, besides those that change per answer (R1)
JSON_HEADERS: Final = (
    ("Content-Type", JSON_TYPE),
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Pragma", "no-cache"),
    ("Vary", "Content-Type,Accept-Encoding,User-Agent"),
    ("Strict-Transport-Security", "max-age=47474747; includeSubDomains; preload"),
)

#: the headers of an HTML page (the JSON answers' caching headers, with an HTML Content-Type)
HTML_HEADERS: Final = (("Content-Type", "text/html;charset=UTF-8"), *JSON_HEADERS[1:])
#: routes whose parameters come in the body
BODY_ROUTES: Final = frozenset({"/auth/o2/token", "/auth/o2/create/codepair"})


def answer_headers(clock: Clock) -> list[tuple[str, str]]:
    """The headers of an API answer or a redirect: Amazon's fixed ones, a request id (``X-Amz-Rid``) and the
    server clock's time (``X-Amz-Date``)."""
    rid = unique.unique_bytes(10).hex().upper()
    return [*JSON_HEADERS, ("X-Amz-Rid", rid), ("X-Amz-Date", http_date(int(clock.now())))]


@functools.lru_cache(maxsize=4)
def http_date(second: int) -> str:
    """An epoch second as an HTTP date, made once per second."""
    return formatdate(second, usegmt=True)


class Answer:
    """What the app answers: status, body bytes, headers, and (when known) the body as data."""

    __slots__ = ("body", "data", "headers", "reason", "status")
    _UNSET: Final = object()

    def __init__(self, status: int, body: bytes, headers: list[tuple[str, str]], data: Any = _UNSET) -> None:
        self.status, self.body, self.headers, self.data = status, body, headers, data
        #: why the mock answered an error, for the request log (never sent)
        self.reason: str | None = None

    def logged(self) -> Any:
        """The body as the request log shows it: JSON as data, anything else as bytes."""
        return parse_answer(self.body) if self.data is Answer._UNSET else self.data


def environ_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The request headers, named as sent (in title case), straight from the environ."""
    return [
        (_header_name(key), value)
        for key, value in environ.items()
        if key[:5] == "HTTP_" or (key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value)
    ]


@functools.lru_cache(maxsize=256)
def _header_name(key: str) -> str:
    return (key[5:] if key[:5] == "HTTP_" else key).replace("_", "-").title()


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class LwaRequest(Request):
    # one byte more than allowed, so that a chunked body past the limit can be told from one at it
    max_content_length = MAX_BODY_BYTES + 1
    #: the parsed body or query parameters, or the error parsing them gave (parsed once per request)
    parsed: dict[str, str] | LwaError | None = None
    #: the methods the path takes, when the request's is not one of them (the ``Allow`` header)
    allowed: list[str] = []  # noqa: RUF012 (only ever replaced, never changed in place)


_TOO_LARGE: Final = f"the body is over {MAX_BODY_BYTES // 1024} KiB"


def read_body(request: Request) -> bytes:
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


def form_params(raw: bytes, unparseable: type[LwaError]) -> dict[str, str]:
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


def json_params(raw: bytes) -> dict[str, str]:
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


def basic_credentials(authorization: str | None) -> tuple[str, str] | Literal[False] | None:
    """``(client_id, secret)`` from an HTTP Basic header; ``None`` without one; ``False`` if malformed.

    Both parts are percent-decoded, as RFC 6749 section 2.3.1 asks clients to encode them.
    """
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return False
    return unquote(client_id), unquote(secret)


def params(request: LwaRequest, *, json_body: bool, lenient: bool = False) -> dict[str, str]:
    """The request's parameters: the body's on the POST routes that take one (JSON too, with ``json_body``),
    a page's form, else the query's.

    Parsed once per request; raises the error a bad body or query gets (``lenient``: returns ``{}``).
    """
    if request.parsed is None:
        try:
            if request.method == "POST" and request.path.lower() in BODY_ROUTES:
                request.parsed = _body_params(request, json_body)
            elif request.method == "POST" and request.mimetype == FORM:  # a page's form
                request.parsed = form_params(read_body(request), unparseable=errors.MALFORMED_REQUEST)
            else:
                request.parsed = form_params(request.query_string, unparseable=errors.MALFORMED_REQUEST)
        except LwaError as error:
            request.parsed = error
    if isinstance(request.parsed, LwaError):
        if lenient:
            return {}
        raise request.parsed
    return request.parsed


def _body_params(request: LwaRequest, json_body: bool) -> dict[str, str]:
    mimetype = request.mimetype  # lower-cased, parameters such as charset removed
    if mimetype == FORM:
        return form_params(read_body(request), unparseable=errors.UNSUPPORTED_GRANT_TYPE)
    if mimetype == JSON and json_body:
        return json_params(read_body(request))
    takes = FORM + (" or " + JSON if json_body else " (json_body is off)")
    sent = f"Content-Type {request.content_type!r} is not" if request.content_type else "no Content-Type; send"
    raise errors.UNSUPPORTED_CONTENT_TYPE(reason=f"{sent} {takes}")


def base_url(request: LwaRequest) -> str:
    """Where the request was sent, for the URLs a page hands on: Amazon's own hosts are HTTPS-only, so one of
    them is ``https://`` however the request reached the mock (through the proxy's TLS, or in plain HTTP from a
    test's ``follow``)."""
    if urlsplit("//" + request.host).hostname in PROXY_HOSTS:
        return f"https://{request.host}"
    return request.host_url.rstrip("/")
