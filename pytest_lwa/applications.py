"""The Selling Partner API for Application Management (docs/contract.md N10): ``POST
/applications/2023-11-30/clientSecret`` rotates the LWA client secret of the application whose client got the
grantless token it is called with. Answers and bodies as Amazon's model gives them; the 403s are the SP-API
guard's (:mod:`pytest_lwa.guard`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from .errors import compact_json
from .model import TokenRejected
from .wire import Answer

if TYPE_CHECKING:
    from .authority import Authority

__all__ = ["DETAILS", "MESSAGE", "RATE_LIMIT", "ROTATION_PATH", "ROTATION_SCOPE", "rotate", "unauthorized"]

ROTATION_PATH: Final = "/applications/2023-11-30/clientSecret"
ROTATION_SCOPE: Final = "sellingpartnerapi::client_credential:rotation"
#: the operation's usage plan: 0.0167 requests per second, burst 1 (one rotation a minute)
RATE_LIMIT: Final = "0.0167"
MIN_INTERVAL: Final = 1 / 0.0167

MESSAGE: Final = "Access to requested resource is denied."
DETAILS: Final = {
    "missing": "Access token is missing in the request header.",
    "expired": "The access token you provided has expired.",
    "invalid": "The access token you provided is revoked, malformed or invalid.",
}
NOT_ENROLLED: Final = (
    "Application is not enrolled for rotation notification. Please update application notification preference in"
    " Developer console."
)
QUOTA_EXCEEDED: Final = "You exceeded your quota for the requested resource."
_JSON: Final = "application/json"


def unauthorized(reason: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The SP-API 403 body for a token refused for ``reason`` (a :class:`TokenRejected` reason or
    ``"scope"``: a good token without the operation's scope, N12), and the headers beside it."""
    details = "" if reason == "scope" else DETAILS.get(reason, DETAILS["invalid"])
    headers = [("x-amzn-ErrorType", "AccessDeniedException")] if reason == "missing" else []
    return {"errors": [{"code": "Unauthorized", "message": MESSAGE, "details": details}]}, headers


def _answer(status: int, body: dict[str, Any] | None, reason: str | None, headers: list[tuple[str, str]]) -> Answer:
    data = compact_json(body) if body is not None else b""
    answer = Answer(status, data, [*(() if body is None else [("Content-Type", _JSON)]), *headers], body)
    answer.reason = reason
    return answer


def rotate(authority: Authority, token: str) -> Answer:
    """Answer ``rotateApplicationClientSecret`` called with the access token ``token``."""
    authority.send_due_notices()
    try:
        claims = authority.verify(token)
    except TokenRejected as rejected:
        body, headers = unauthorized(rejected.reason)
        return _answer(403, body, f"the x-amz-access-token is refused: {rejected.detail}", headers)
    if ROTATION_SCOPE not in claims.scopes or claims.user_id is not None:
        body, headers = unauthorized("scope")
        why = f"the access token has scope {claims.scope!r}, not a grantless token with {ROTATION_SCOPE}"
        return _answer(403, body, why, headers)
    app = next((a for a in authority.sp_applications if a.client_id == claims.client_id), None)
    if app is None:
        body, headers = unauthorized("scope")
        why = f"client {claims.client_id!r} is the LWA client of no SP-API application (add_sp_application)"
        return _answer(403, body, why, headers)
    limit = [("x-amzn-RateLimit-Limit", RATE_LIMIT)]
    if app.notification_queue is None:
        body = {"errors": [{"code": "InvalidInput", "message": NOT_ENROLLED}]}
        why = f"application {app.application_id!r} has no notification_queue registered (set_notification_queue)"
        return _answer(400, body, why, limit)
    interval = MIN_INTERVAL if authority.settings.rotation_rate_limit else None
    wait = authority.notices.take_rotation(app.application_id, authority.clock.now(), interval)
    if wait is not None:
        body = {"errors": [{"code": "QuotaExceeded", "message": QUOTA_EXCEEDED, "details": ""}]}
        why = (
            f"application {app.application_id!r} rotated less than 60 s ago (server clock); the next rotation is"
            f" served in {wait:.1f} s (rotation_rate_limit=False lifts the limit)"
        )
        return _answer(429, body, why, [])
    authority.rotate_application_secret(app)
    return _answer(204, None, None, limit)
