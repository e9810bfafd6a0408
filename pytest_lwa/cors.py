"""CORS for the endpoints a web page calls from the browser: the token, profile and tokeninfo endpoints
(docs/contract.md N15).

A request with an ``Origin`` is answered with ``Access-Control-Allow-Origin`` when that origin is one of the
client's Allowed Origins (``add_client(allowed_origins=[…])``): the client the request names (``client_id``,
or Basic credentials) at the token endpoint, the token's client at the profile and tokeninfo endpoints. When
no registered client can be told (an unknown client, a token the mock did not issue), and for a preflight,
which carries no credentials, any client's Allowed Origin counts. Any other origin gets no CORS header at all,
and the request log's reason says the browser will not let the page read the answer.

Faults (``fail_next``…) answer the page's request, never a preflight, and their answers get the same header,
so the page sees the fault's status; a fault that names ``Access-Control-Allow-Origin`` itself keeps its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from .model import ALLOW_ORIGIN
from .wire import Answer, LwaRequest, params

if TYPE_CHECKING:
    from .authority import Authority

#: each path a page may call, and the method it takes
PATHS: Final = {"/auth/o2/token": "POST", "/auth/o2/tokeninfo": "GET", "/user/profile": "GET"}
#: the request headers a page may send (a preflight's answer)
ALLOW_HEADERS: Final = "Authorization, Content-Type, x-amz-access-token"
#: how long a browser may keep a preflight's answer, in seconds
MAX_AGE: Final = "600"


def is_preflight(request: LwaRequest) -> bool:
    """Whether ``request`` is a browser's CORS preflight for one of :data:`PATHS`."""
    return (
        request.method == "OPTIONS"
        and request.path in PATHS
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def preflight(authority: Authority, request: LwaRequest) -> Answer:
    """The answer to a preflight: ``200`` with an empty body, with the CORS headers for an allowed origin."""
    origin = request.headers["Origin"]
    answer = Answer(200, b"", [("Vary", "Origin")], None)
    refused = _refusal(authority, origin, None)
    method = PATHS[request.path]
    asked = request.headers["Access-Control-Request-Method"]
    if refused is None and asked != method:
        refused = f"the preflight asks for {asked}, and {request.path} takes {method}: the browser will not send it"
    if refused is None:
        answer.headers += [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", method),
            ("Access-Control-Allow-Headers", ALLOW_HEADERS),
            ("Access-Control-Max-Age", MAX_AGE),
        ]
    answer.reason = refused
    return answer


def add_headers(authority: Authority, request: LwaRequest, answer: Answer, client_id: str | None) -> None:
    """Give ``answer`` to a request from a page its CORS header, or say in its reason why it has none.

    ``client_id`` is the client the request names (the token endpoint's); the profile and tokeninfo
    endpoints' client is that of the token sent. A preflight's answer is left as it is (it has its own).
    """
    origin = request.headers.get("Origin")
    if origin is None or request.path not in PATHS or is_preflight(request):
        return
    if any(k.lower() == "access-control-allow-origin" for k, _ in answer.headers):
        return  # a fault's own, which replaces the server's as any header it names
    answer.headers = [(k, f"{v},Origin" if k == "Vary" else v) for k, v in answer.headers]
    if not any(k == "Vary" for k, _ in answer.headers):
        answer.headers.append(("Vary", "Origin"))
    if request.path != "/auth/o2/token":
        client_id = _token_client(authority, request)
    refused = _refusal(authority, origin, client_id)
    if refused is None:
        answer.headers.append(("Access-Control-Allow-Origin", origin))
    else:
        answer.reason = f"{answer.reason}; {refused}" if answer.reason else refused


def _refusal(authority: Authority, origin: str, client_id: str | None) -> str | None:
    """Why ``origin`` gets no CORS header (None: it gets one)."""
    seen = origin.rstrip("/").lower()
    client = authority.find_client(client_id) if client_id else None
    if client is not None:
        if seen in client.allowed_origins:
            return None
        listed = ", ".join(client.allowed_origins) or "none"
        return (
            f"Origin {origin!r} is not an Allowed Origin of client {client.client_id!r} (its allowed_origins:"
            f" {listed}): no CORS headers, so the browser will not let the page read the answer; {ALLOW_ORIGIN}"
        )
    if any(seen in other.allowed_origins for other in authority.clients):
        return None
    return (
        f"Origin {origin!r} is no client's Allowed Origin: no CORS headers, so the browser will not let the page"
        f" read the answer; {ALLOW_ORIGIN}"
    )


def _token_client(authority: Authority, request: LwaRequest) -> str | None:
    """The client of the access token a profile or tokeninfo request sends, if the mock issued it."""
    scheme, _, bearer = request.headers.get("Authorization", "").strip().partition(" ")
    token = bearer.strip() if scheme.lower() == "bearer" else ""
    token = token or request.headers.get("x-amz-access-token", "").strip()
    token = token or params(request, json_body=authority.settings.json_body, lenient=True).get("access_token", "")
    claims = authority.claims(token) if token else None
    return claims.client_id if claims is not None else None
