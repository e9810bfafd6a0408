"""The standalone server's admin API under ``/_lwa/``: JSON in, JSON out.

It controls the same authority the LWA endpoints serve, so a test in any language can register
clients, issue refresh tokens, approve devices, move the clock, queue faults and read the request log.
Requests to it never appear in the request log. ``GET /_lwa/`` lists every endpoint; docs/serve.md describes them.
"""

from __future__ import annotations

import dataclasses
import hmac
import inspect
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, NoReturn
from urllib.parse import urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from .errors import compact_json
from .model import NotRegistered, bearer_safe
from .recording import RecordedRequest, access_log, hide_tokens, shown_tokens
from .server import is_loopback_name
from .wire import MAX_REQUEST_BODY

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .server import LwaServer

__all__ = ["MAX_ADMIN_BODY", "PREFIX", "AdminApp", "check_token"]

PREFIX: Final = "/_lwa/"
#: the largest admin request body, in bytes, however it is framed (Content-Length or chunked)
MAX_ADMIN_BODY: Final = MAX_REQUEST_BODY
#: the media type of every admin request body
JSON_MEDIA_TYPE: Final = "application/json"
#: ``Sec-Fetch-Site`` values a browser sends for what its user did or the server's own pages asked
OWN_FETCH_SITES: Final = frozenset({"same-origin", "none"})
#: POST routes that create something, answered 201 (every other answer of the admin API is 200)
CREATES: Final = frozenset(
    {"clients", "users", "refresh-tokens", "authorization-codes", "faults", "sp-applications", "selling-partners",
     "spapi-codes"}
)  # fmt: skip


class AdminRequest(Request):
    """An admin request: its body, chunked or not, is read up to one byte past :data:`MAX_ADMIN_BODY` (which
    tells a body over the limit from one just at it) and no further."""

    max_content_length = MAX_ADMIN_BODY + 1


def check_token(token: str | None, name: str = "the admin token") -> str | None:
    """``token`` if it can be sent as ``Authorization: Bearer <token>``; else a ``ValueError`` saying why.

    An empty token (what an unset variable gives) would open the admin API to a bare ``Bearer``.
    """
    if token is None:
        return None
    if not isinstance(token, str) or not token.strip():
        raise ValueError(f"{name} is empty: give a non-empty token (is the variable that should hold it set?)")
    if not bearer_safe(token):
        raise ValueError(f"{name} must be printable ASCII characters without spaces")
    return token


def _shown(text: str) -> str:
    """A header value quoted in an answer: at most 100 characters of it."""
    return repr(text if len(text) <= 100 else text[:100] + "…")


def _host_name(host: str) -> str | None:
    """The name in a ``Host`` header (lower case, an IPv6 address without its brackets), or None if it is none."""
    name, port = host.lower(), ""
    if name.startswith("["):
        name, bracket, port = name[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            return None
        port = port[1:]
    elif name.count(":") == 1:
        name, _, port = name.partition(":")
    elif ":" in name:
        return None
    if port and not (port.isascii() and port.isdigit()):
        return None
    return name or None


def _origin(scheme: str, host: str) -> tuple[str, str, int | None] | None:
    """An origin's (scheme, host, port), the port filled in from the scheme; None if it is no origin."""
    try:
        parts = urlsplit(f"{scheme}://{host}")
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if parts.hostname is None or parts.path or parts.query or parts.fragment or parts.username is not None:
        return None
    return parts.scheme, parts.hostname, port


class AdminError(Exception):
    """An admin request that cannot be answered: its status, error code, message and allowed methods."""

    def __init__(self, status: int, error: str, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.allowed = status, error, message, allowed


def _json(payload: Any, status: int = 200) -> Response:
    return Response(compact_json(payload), status, content_type="application/json")


def _client_json(client: Any) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "scopes": list(client.scopes),
        "grants": list(client.grants),
        "redirect_uris": list(client.redirect_uris),
        "secret_lifetime": client.secret_lifetime,
        "secret_expires_at": client.secret_expires_at,
        "name": client.name,
        "description": client.description,
        "privacy_notice_url": client.privacy_notice_url,
        "logo_url": client.logo_url,
        "allowed_origins": list(client.allowed_origins),
    }


def record_json(record: RecordedRequest) -> dict[str, Any]:
    """A logged request as JSON, its tokens and codes (in the parameters and the answer) shown as the log
    lines show them, by their first characters (secrets are already redacted in the record)."""
    data = dataclasses.asdict(record)
    data["params"] = shown_tokens(record.params)
    data["path"] = hide_tokens(record.path)  # a token sent in the path (GET /<token>): shown as the log shows it
    if record.reason is not None:
        data["reason"] = hide_tokens(record.reason)
    if isinstance(record.answer, bytes):
        data["answer"] = record.answer.decode("utf-8", "replace")
    elif isinstance(data["answer"], dict):
        data["answer"] = shown_tokens(data["answer"])
    data.update(
        grant_type=record.grant_type,
        scopes=list(record.scopes),
        auth_method=record.auth_method,
        headers=dict(record.headers),
    )
    return data


def _fields(function: Callable[..., Any], body: dict[str, Any]) -> Any:
    """``function(**body)``, with an admin error naming any unknown or missing field."""
    parameters = inspect.signature(function).parameters
    named = [name for name, p in parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(set(body) - set(named))
    if unknown:
        raise AdminError(400, "bad_request", f"unknown field(s) {', '.join(unknown)}; fields are: {', '.join(named)}")
    for name in named:
        if parameters[name].default is inspect.Parameter.empty and name not in body:
            raise AdminError(400, "bad_request", f"missing field {name!r}")
    return function(**body)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false, got {value!r}")
    return value


class AdminApp:
    """Serves ``/_lwa/…`` and passes every other request to ``app``."""

    def __init__(
        self,
        app: WSGIApplication,
        server: LwaServer,
        *,
        token: str | None,
        enabled: bool,
        on_reset: Callable[[], None],
    ) -> None:
        self.app, self.server, self.enabled, self.on_reset = app, server, enabled, on_reset
        self.token = check_token(token)
        authority = server.authority
        handlers: dict[tuple[str, str], Callable[..., Any]] = {
            ("GET", ""): lambda body: {"endpoints": self.endpoints()},
            ("GET", "health"): lambda body: {"status": "ok", "url": server.url},
            ("POST", "reset"): self._reset,
            ("GET", "clients"): lambda body: {"clients": [_client_json(c) for c in authority.clients]},
            ("POST", "clients"): self._add_client,
            ("DELETE", "clients/<path:client_id>"): self._remove_client,
            ("GET", "users"): lambda body: {"users": [dataclasses.asdict(u) for u in authority.users]},
            ("POST", "users"): lambda body: dataclasses.asdict(_fields(authority.add_user, body)),
            ("POST", "consent"): self._consent,
            ("POST", "refresh-tokens"): self._refresh_token,
            ("POST", "authorization-codes"): self._code,
            ("POST", "devices/approve"): self._approve,
            ("POST", "devices/deny"): self._deny,
            ("POST", "revoke"): self._revoke,
            ("GET", "sp-applications"): lambda body: {
                "sp_applications": [dataclasses.asdict(a) for a in authority.sp_applications]
            },
            ("POST", "sp-applications"): lambda body: dataclasses.asdict(_fields(authority.add_sp_application, body)),
            ("POST", "sp-applications/<application_id>/notification-queue"): self._queue,
            ("GET", "notifications"): lambda body: {
                "notifications": [dataclasses.asdict(n) for n in server.notifications]
            },
            ("GET", "selling-partners"): lambda body: {
                "selling_partners": [dataclasses.asdict(p) for p in authority.selling_partners]
            },
            ("POST", "selling-partners"): lambda body: dataclasses.asdict(_fields(authority.add_selling_partner, body)),
            ("POST", "seller-consent"): self._seller_consent,
            ("POST", "spapi-codes"): self._spapi_code,
            ("GET", "clock"): lambda body: {"now": authority.clock.now()},
            ("POST", "clock/advance"): lambda body: self._advance_clock(body["seconds"]),
            ("POST", "clock/set"): lambda body: self._set_clock(body["now"]),
            ("POST", "settings"): lambda body: dataclasses.asdict(authority.configure(**body)),
            ("GET", "settings"): lambda body: dataclasses.asdict(authority.settings),
            ("GET", "faults"): lambda body: {"faults": [f.describe() for f in server.pending_faults]},
            ("POST", "faults"): self._fault,
            ("DELETE", "faults"): self._clear_faults,
            ("GET", "requests"): lambda body: {"requests": [record_json(r) for r in server.request_log]},
            ("DELETE", "requests"): self._clear_requests,
        }
        self.handlers = {f"{method} {route}": handler for (method, route), handler in handlers.items()}
        self.routes = Map(
            [Rule(PREFIX + route, endpoint=f"{method} {route}", methods=[method]) for method, route in handlers],
            merge_slashes=False,
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        try:
            response = self._handle(AdminRequest(environ))
        except AdminError as error:
            response = _json({"error": error.error, "message": error.message}, error.status)
            if error.allowed:
                response.headers["Allow"] = ", ".join(error.allowed)
        except NotRegistered as error:  # an unknown client, user, partner, application or code pair
            response = _json({"error": "not_found", "message": error.message}, 404)
        except KeyError as error:
            response = _json({"error": "bad_request", "message": f"missing field {error.args[0]!r}"}, 400)
        except (TypeError, ValueError) as error:
            response = _json({"error": "bad_request", "message": str(error)}, 400)
        # a container's health check polls /_lwa/health every few seconds: its answers stay out of the info log
        polled = path.rstrip("/") == PREFIX + "health" and response.status_code == 200
        log = access_log.debug if polled else access_log.info
        log("%s %s -> %d (admin)", environ.get("REQUEST_METHOD"), path, response.status_code)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        adapter = self.routes.bind("lwa", path_info=request.path)
        try:
            endpoint, arguments = adapter.match(PREFIX + request.path[len(PREFIX) :].strip("/"), request.method)
        except MethodNotAllowed as refused:
            self._authorize(request)
            allowed = sorted(set(refused.valid_methods or ()) - {"HEAD"})
            raise AdminError(405, "method_not_allowed", f"use {' or '.join(allowed)}", allowed) from None
        except (NotFound, RequestRedirect):
            self._authorize(request)
            route = request.path[len(PREFIX) :]
            raise AdminError(404, "not_found", f"no admin endpoint {PREFIX}{route}; GET {PREFIX} lists them") from None
        if endpoint != "GET health":
            self._authorize(request)
        result = self.handlers[str(endpoint)](self._body(request), **arguments)
        created = request.method == "POST" and str(endpoint).split()[1] in CREATES
        return _json({"status": "ok"} if result is None else result, 201 if created else 200)

    def endpoints(self) -> list[str]:
        """Every admin endpoint, as ``METHOD /_lwa/path``."""
        return [
            f"{method} {PREFIX}{route.replace('<path:', '<')}"
            for method, route in (e.split(" ", 1) for e in self.handlers)
        ]

    def _authorize(self, request: Request) -> None:
        """Refuse a request that is not from the person who started the server: the admin API off, a web page
        of another origin (with or without the token), a name other than loopback's or the bound address's
        (DNS rebinding) without the token, a missing or wrong token."""
        if not self.enabled:
            raise AdminError(
                403, "admin_disabled", "the admin API is off: the server listens beyond loopback without --admin-token"
            )
        host = request.headers.get("Host")
        origin = request.headers.get("Origin")
        if origin is not None:
            own = _origin(request.scheme, host) if host is not None else None
            if own is None or _origin(*origin.partition("://")[::2]) != own:
                raise AdminError(
                    403,
                    "foreign_origin",
                    f"the admin API does not answer web pages of other origins (Origin: {_shown(origin)})",
                )
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site.lower() not in OWN_FETCH_SITES:
            raise AdminError(
                403,
                "foreign_origin",
                f"the admin API does not answer web pages of other sites (Sec-Fetch-Site: {_shown(site)})",
            )
        if self.token is None:
            name = _host_name(host) if host is not None else None
            bound = self.server.host.lower().strip("[]")
            if host is not None and (name is None or not (is_loopback_name(name) or name == bound)):
                raise AdminError(
                    403,
                    "foreign_host",
                    "without an admin token the admin API answers only requests addressed to localhost, 127.x.y.z,"
                    f" [::1] or the bound address (Host: {_shown(host)})",
                )
            return
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise AdminError(401, "unauthorized", "send the admin token as 'Authorization: Bearer <token>'")

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.method not in ("POST", "PUT", "PATCH"):
            return {}
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        given = request.headers.get("Content-Type")
        has_body = chunked or bool(request.content_length)
        if given is None and not has_body:  # a bare POST (curl -X POST): nothing a page could send
            return {}
        # A Content-Type other than JSON is refused even with an empty body: a page's form or text/plain POST,
        # which a browser sends without asking, changes nothing.
        if request.mimetype != JSON_MEDIA_TYPE:
            raise AdminError(
                415,
                "unsupported_media_type",
                f"admin request bodies are JSON: send 'Content-Type: {JSON_MEDIA_TYPE}'"
                + (f" (not {_shown(given)})" if given is not None else " (none was sent)"),
            )
        too_large = AdminError(413, "too_large", f"admin request bodies are limited to {MAX_ADMIN_BODY} bytes")
        if (request.content_length or 0) > MAX_ADMIN_BODY:
            raise too_large
        try:
            raw = request.get_data(cache=False)
        except RequestEntityTooLarge:  # (werkzeug's own check of the Content-Length)
            raise too_large from None
        except (ConnectionError, TimeoutError):  # the client left, or ran out of time: the handler answers
            raise
        except OSError:  # a chunked body whose framing is broken
            raise AdminError(400, "bad_request", "the body's chunked framing is broken") from None
        if len(raw) > MAX_ADMIN_BODY:  # a chunked one, read no further
            raise too_large
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise AdminError(400, "bad_request", "the body is not valid JSON (NaN and Infinity are not JSON)") from None
        if not isinstance(body, dict):
            raise AdminError(400, "bad_request", "the body must be a JSON object")
        return body

    # --- handlers -----------------------------------------------------------------------------

    def _reset(self, body: dict[str, Any]) -> None:
        self.on_reset()

    def _deny(self, body: dict[str, Any]) -> None:
        self.server.deny_device(body["user_code"])

    def _remove_client(self, body: dict[str, Any], client_id: str) -> None:
        self.server.remove_client(client_id)

    def _consent(self, body: dict[str, Any]) -> None:
        self.server.set_consent(
            body.get("user_id"),
            granted=_flag(body.get("granted", True), "granted"),
            grant_scopes=body.get("grant_scopes"),
        )

    def _seller_consent(self, body: dict[str, Any]) -> None:
        self.server.set_seller_consent(
            body.get("selling_partner_id"), granted=_flag(body.get("granted", True), "granted")
        )

    def _queue(self, body: dict[str, Any], application_id: str) -> dict[str, Any]:
        if set(body) != {"queue"}:
            raise AdminError(400, "bad_request", 'the body must be {"queue": "<SQS queue URL>"} (or null to remove it)')
        return dataclasses.asdict(self.server.set_notification_queue(application_id, body["queue"]))

    def _spapi_code(self, body: dict[str, Any]) -> dict[str, str]:
        code = self.server.issue_spapi_code(body["application_id"], body.get("selling_partner_id"))
        return {"spapi_oauth_code": code}

    def _revoke(self, body: dict[str, Any]) -> None:
        self.server.revoke(body["token"])

    def _clear_faults(self, body: dict[str, Any]) -> None:
        self.server.clear_faults()

    def _clear_requests(self, body: dict[str, Any]) -> None:
        self.server.clear_log()

    def _add_client(self, body: dict[str, Any]) -> dict[str, Any]:
        return _client_json(_fields(self.server.authority.add_client, body))

    def _refresh_token(self, body: dict[str, Any]) -> dict[str, str]:
        client_id = body.pop("client_id")
        user_id = body.pop("user_id", None)
        return {"refresh_token": self.server.issue_refresh_token(client_id, user=user_id, **body)}

    def _code(self, body: dict[str, Any]) -> dict[str, str]:
        client_id = body.pop("client_id")
        user_id = body.pop("user_id", None)
        return {"code": self.server.issue_authorization_code(client_id, user=user_id, **body)}

    def _advance_clock(self, seconds: float) -> dict[str, float]:
        try:
            return {"now": self.server.clock.advance(seconds)}
        except (TypeError, ValueError) as error:  # named by the admin API's field
            raise AdminError(400, "bad_request", f"seconds: {error}") from None

    def _set_clock(self, now: float) -> dict[str, float]:
        try:
            self.server.clock.set(now)
        except (TypeError, ValueError) as error:  # named by the admin API's field
            raise AdminError(400, "bad_request", f"now: {error}") from None
        return {"now": self.server.clock.now()}

    def _approve(self, body: dict[str, Any]) -> None:
        self.server.approve_device(body["user_code"], body.get("user_id"))

    def _fault(self, body: dict[str, Any]) -> dict[str, str]:
        kind = body.pop("kind", "error")
        match: dict[str, Any] = {key: body.pop(key) for key in ("times", "path", "nth") if key in body}
        wanted = {key: body.pop(key) for key in ("grant_type", "client_id") if key in body}
        for key, value in wanted.items():
            if not isinstance(value, str):
                raise TypeError(f"{key} must be a string, got {value!r}")
        if wanted:
            match["when"] = lambda record: all(getattr(record, key) == value for key, value in wanted.items())
        if kind == "error":
            fault = self.server.fail_next(**body, **match)
        elif kind == "throttle":
            fault = self.server.throttle_next(**body, **match)
        elif kind == "raw":
            fault = self.server.respond_next(**body, **match)
        elif kind == "delay":
            fault = self.server.delay_next(**body, **match)
        elif kind == "drop":
            fault = self.server.drop_next(**body, **match)
        else:
            raise AdminError(
                400, "bad_request", f"unknown fault kind {kind!r}; kinds are: error, throttle, raw, delay, drop"
            )
        return {"fault": fault.describe()}
