"""Guards for fake APIs in users' tests: reject bad bearer tokens the way the Selling Partner API does.

Put a guard in front of a fake resource server and the code under test meets real-looking 403s for
missing, expired, revoked or wrong-scope tokens, so its refresh-on-403 logic can be tested end to end::

    httpserver.expect_request("/orders/v0/orders").respond_with_handler(
        guard(lwa_server, lambda request: Response('{"payload": {}}'))
    )
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from werkzeug.wrappers import Request, Response

from .applications import DETAILS, MESSAGE
from .errors import compact_json
from .model import TokenRejected
from .unique import request_id

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .tokens import TokenClaims

__all__ = ["GuardMiddleware", "guard", "rejection"]


class Verifier(Protocol):
    """What checks a token: an :class:`~pytest_lwa.authority.Authority` or an
    :class:`~pytest_lwa.server.LwaServer` (the ``lwa_server`` fixture)."""

    def verify(self, token: str, scopes: Iterable[str] = ()) -> TokenClaims: ...


def _token(request: Request) -> str:
    token = request.headers.get("x-amz-access-token", "").strip()
    if token:
        return token
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def rejection(authority: Verifier, request: Request, scopes: Iterable[str] = ()) -> Response | None:
    """The 403 a Selling Partner API endpoint would answer ``request`` with, or ``None`` if its token is good.

    The token is read from ``x-amz-access-token`` (as SP-API expects) or ``Authorization: Bearer``.
    A token lacking one of ``scopes`` is answered like a revoked one.
    """
    try:
        authority.verify(_token(request), scopes)
    except TokenRejected as rejected:
        details = DETAILS.get(rejected.reason, DETAILS["invalid"])
        body = {"errors": [{"code": "Unauthorized", "message": MESSAGE, "details": details}]}
        headers = {"x-amzn-RequestId": request_id()}
        if rejected.reason == "missing":
            headers["x-amzn-ErrorType"] = "AccessDeniedException"
        return Response(compact_json(body), 403, headers=headers, content_type="application/json")
    return None


def guard(
    authority: Verifier, handler: Callable[[Request], Response], scopes: Iterable[str] = ()
) -> Callable[[Request], Response]:
    """Wrap a request handler (e.g. for pytest-httpserver's ``respond_with_handler``) with a token check."""
    wanted = tuple(scopes)

    def guarded(request: Request) -> Response:
        return rejection(authority, request, wanted) or handler(request)

    return guarded


class GuardMiddleware:
    """WSGI middleware: requests with a bad token get the SP-API 403; the rest reach ``app``."""

    def __init__(self, app: WSGIApplication, authority: Verifier, scopes: Iterable[str] = ()) -> None:
        self.app = app
        self.authority = authority
        self.scopes = tuple(scopes)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refused = rejection(self.authority, Request(environ), self.scopes)
        if refused is not None:
            return refused(environ, start_response)
        return self.app(environ, start_response)
