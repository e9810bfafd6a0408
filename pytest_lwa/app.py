"""The WSGI app: routing, request parsing and rendering of the exact LWA answers.

Every answer of the API, error or not, is compact JSON with the headers of Amazon's recorded answers
(docs/contract.md R1): ``Content-Type: application/json;charset=UTF-8``, ``Cache-Control: no-cache, no-store,
must-revalidate``, ``Pragma: no-cache``, ``x-amzn-RequestId``, ``X-Amz-Rid``, ``X-Amz-Date`` (the server
clock's time), ``Vary`` and ``Strict-Transport-Security``; an error adds ``X-Amzn-Errortype`` (R2). The
pages a browser sees (``/ap/oa``'s error and consent pages, Seller Central's workflow) are HTML, served by
:mod:`pytest_lwa.web`. Nothing a client sends can make it answer a traceback.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule

from . import applications, cors, errors, sdk, unique, userinfo, web
from .errors import LwaError
from .faults import Fault, FaultQueue
from .grants.popup import RELAY_PATH
from .grants.selling_partner import APPSTORE_PATH, CALLBACK_PATH, CONSENT_PATH
from .recording import RecordedRequest, access_log, redact_headers, redact_params
from .wire import (
    JSON,
    Answer,
    LwaRequest,
    answer_headers,
    basic_credentials,
    environ_headers,
    params,
    status_line,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .authority import Authority

__all__ = ["LwaApp"]

logger = logging.getLogger("pytest_lwa")

Handler = Callable[..., "dict[str, Any] | Answer"]


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
        pages = web.Pages(authority)
        # each route once: its rule, the methods it takes, its handler
        table: list[tuple[str, str, Handler]] = [
            ("/auth/o2/token", "POST", self._token),
            ("/auth/o2/tokeninfo", "GET", self._tokeninfo),
            ("/auth/o2/create/codepair", "POST", self._codepair),
            ("/user/profile", "GET", self._profile),
            ("/ap/oa", "GET", pages.authorize),
            (web.DECISION_PATH, "POST", pages.decide),
            (CONSENT_PATH, "GET POST", pages.seller_consent),
            (CALLBACK_PATH + "<application_id>", "GET POST", pages.seller_callback),
            (APPSTORE_PATH + "<application_id>", "GET POST", pages.appstore),
            (applications.ROTATION_PATH, "POST", self._rotate),
            ("/sdk/<region>/login1.js", "GET", sdk.script),
            (RELAY_PATH, "GET", sdk.relay_page),
        ]
        self.handlers = {rule: handler for rule, _, handler in table}
        self.routes = Map(
            [Rule(rule, endpoint=rule, methods=methods.split()) for rule, methods, _ in table], merge_slashes=False
        )
        self._adapter = self.routes.bind("lwa")
        #: the fixed paths as sent, and the methods each takes: most requests need no matching
        self._fixed = {
            rule: (handler, {*methods.split(), "HEAD"} if "GET" in methods else set(methods.split()))
            for rule, methods, handler in table
            if "<" not in rule
        }

    def reset(self) -> None:
        self.generation += 1  # requests still in flight from before belong to no one now
        self.errors.clear()
        self.faults.clear()
        self.log.clear()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = LwaRequest(environ)
        request_id = unique.request_id()
        generation = self.generation
        seen: dict[str, Any] | None = None
        fault = None
        try:
            seen = self._record(request)
            preflight = cors.is_preflight(request)  # the browser's own: no fault acts on it, nor counts it
            fault = self.faults.take(RecordedRequest(**seen)) if self.faults.pending and not preflight else None
            if fault is not None and fault.delay:
                time.sleep(fault.delay)
                if self.generation != generation:  # reset while it waited: its test is over
                    raise ConnectionAbortedError("pytest-lwa: the server was reset while this request waited")
            if fault is not None and fault.kind == "drop":
                self.log.append(record := RecordedRequest(**seen, fault=fault.describe()))
                access_log.info("%s", record)
                raise ConnectionAbortedError("pytest-lwa fault: connection closed without an answer")
            if fault is not None and fault.kind in ("error", "raw"):
                answer = self._fault_answer(fault, request_id)
            elif preflight:
                answer = cors.preflight(self.authority, request)
            else:
                answer = self._answer(request, request_id)
            cors.add_headers(self.authority, request, answer, seen["client_id"])  # a page's request (N15)
        except ConnectionAbortedError:
            raise  # the server closes the connection without an answer
        except Exception as exc:  # answered as JSON and kept for the test to see
            logger.exception("pytest-lwa: unexpected error answering %s %s", request.method, request.path)
            if self.generation == generation and len(self.errors) < 100:
                self.errors.append(exc)
            answer = self._error_answer(errors.SERVER_ERROR(), request_id)
            answer.reason = f"the mock itself failed: {exc!r} (kept in server.errors)"
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
        start_response(status_line(answer.status), headers)
        return [] if request.method == "HEAD" else [answer.body]

    def _answer(self, request: LwaRequest, request_id: str) -> Answer:
        try:
            result = self._dispatch(request)
        except LwaError as error:
            answer = self._error_answer(error, request_id)
            answer.reason = error.reason
            if isinstance(error, errors.METHOD_NOT_ALLOWED):
                answer.headers.append(("Allow", ", ".join(request.allowed)))
            return answer
        if isinstance(result, Answer):
            return result
        return Answer(200, errors.compact_json(result), answer_headers(self.authority.clock), result)

    def _error_answer(self, error: LwaError, request_id: str) -> Answer:
        body = error.body(self.authority.settings.body_style, request_id)
        headers = answer_headers(self.authority.clock)
        headers.append(("X-Amzn-Errortype", error.error_type))
        return Answer(error.status, body, headers)

    def _fault_answer(self, fault: Fault, request_id: str) -> Answer:
        if fault.error is not None:
            answer = self._error_answer(fault.error, request_id)
        else:
            answer = Answer(fault.status, fault.body, [("Content-Type", fault.headers.get("Content-Type", JSON))])
        replaced = {name.lower() for name in fault.headers}
        answer.headers = [(k, v) for k, v in answer.headers if k.lower() not in replaced] + list(fault.headers.items())
        return answer

    def _record(self, request: LwaRequest) -> dict[str, Any]:
        """The request's fields as the log and fault predicates see them: parsed leniently, redacted."""
        environ = request.environ
        parsed = self.params(request, lenient=True)
        basic = basic_credentials(environ.get("HTTP_AUTHORIZATION"))
        return {
            "method": request.method,
            "path": request.path,
            "content_type": environ.get("CONTENT_TYPE", ""),
            "headers": redact_headers(environ_headers(environ)),
            "params": redact_params(parsed),
            "time": self.authority.clock.now(),
            "client_id": parsed.get("client_id") or (basic[0] if isinstance(basic, tuple) else None),
        }

    def _dispatch(self, request: LwaRequest) -> dict[str, Any] | Answer:
        handler, methods = self._fixed.get(request.path, (None, ()))
        if handler is not None and request.method in methods:
            return handler(request)
        adapter = self._adapter
        try:
            try:
                endpoint, arguments = adapter.match(request.path, request.method)
            except (NotFound, RequestRedirect):  # the fixed paths match in any case, as Amazon's do
                endpoint, arguments = adapter.match(request.path.lower(), request.method)
        except MethodNotAllowed as refused:
            allowed = sorted(set(refused.valid_methods or ()) - {"HEAD"})
            request.allowed = allowed
            raise errors.METHOD_NOT_ALLOWED(
                reason=f"{request.path} takes {' or '.join(allowed)}, not {request.method}"
            ) from None
        except (NotFound, RequestRedirect):
            known = ", ".join(rule.rule for rule in self.routes.iter_rules())
            raise errors.NOT_FOUND(reason=f"{request.path} is none of the mock's paths ({known})") from None
        return self.handlers[str(endpoint)](request, **arguments)

    # --- the API: JSON in, JSON out -----------------------------------------------------------

    def _token(self, request: LwaRequest) -> dict[str, Any]:
        basic = basic_credentials(request.headers.get("Authorization"))
        return self.authority.token(self.params(request), basic)

    def _rotate(self, request: LwaRequest) -> Answer:
        return applications.rotate(self.authority, request.headers.get("x-amz-access-token", "").strip())

    def _codepair(self, request: LwaRequest) -> dict[str, Any]:
        return self.authority.create_code_pair(self.params(request))

    def _tokeninfo(self, request: LwaRequest) -> dict[str, Any]:
        token = self.params(request).get("access_token") or request.headers.get("x-amz-access-token", "").strip()
        if not token:  # the Amazon Pay SDKs send it in the header alone (R12)
            raise errors.missing_parameter(
                "access_token", "no access_token query parameter and no x-amz-access-token header"
            )
        return userinfo.tokeninfo(self.authority, token)

    def _profile(self, request: LwaRequest) -> dict[str, Any]:
        scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return userinfo.profile(self.authority, credentials.strip())
        token = request.headers.get("x-amz-access-token", "").strip()
        return userinfo.profile(self.authority, token or self._query_token(request))

    # --- parsing ------------------------------------------------------------------------------

    def _query_token(self, request: LwaRequest) -> str:
        token = self.params(request).get("access_token")
        if not token:
            raise errors.missing_parameter(
                "access_token", "no Authorization: Bearer or x-amz-access-token header and no access_token parameter"
            )
        return token

    def params(self, request: LwaRequest, lenient: bool = False) -> dict[str, str]:
        """The request's parameters (see :func:`pytest_lwa.wire.params`)."""
        return params(request, json_body=self.authority.settings.json_body, lenient=lenient)
