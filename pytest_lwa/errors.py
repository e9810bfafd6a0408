"""The catalogue of Login With Amazon errors and how their bodies are rendered.

Every error the mock can answer is an :class:`LwaError`: an HTTP status, the OAuth ``error`` code and
the verbatim ``error_description``.  Two body styles exist, as the real service has used both:

``classic``
    ``{"error_description":"…","error":"…"}`` -- exactly two keys, description first, compact JSON.
``modern``
    ``{"error_index":"…","error_description":"…","error":"…","request_id":"…"}``.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any, Final, Literal

__all__ = [
    "BODY_STYLES",
    "BodyStyle",
    "LwaError",
]

BodyStyle = Literal["classic", "modern"]
BODY_STYLES: Final[tuple[BodyStyle, ...]] = ("classic", "modern")


_COMPACT: Final = json.JSONEncoder(separators=(",", ":"))


def compact_json(value: Any) -> bytes:
    """``value`` as JSON without spaces, as Amazon writes every LWA answer."""
    return _COMPACT.encode(value).encode("utf-8")


class LwaError(Exception):
    """An error answer of the authorization server: an HTTP status, the OAuth ``error`` code and the
    verbatim ``error_description``.

    Raised by the authority and rendered by the HTTP app. The catalogue below holds one subclass per
    answer, with its status, code and description as defaults, so ``raise errors.INVALID_CLIENT`` raises
    a new exception every time: an exception instance raised again would carry every earlier raise's
    frames (and the requests in them) in its traceback. ``LwaError(status, error, description)`` makes
    any other answer. Two errors are equal when status, code and description are.
    """

    status: int = 500
    error: str = "server_error"
    description: str = ""

    def __init__(self, status: int | None = None, error: str | None = None, description: str | None = None) -> None:
        if status is not None:
            self.status = status
        if error is not None:
            self.error = error
        if description is not None:
            self.description = description
        super().__init__(self.status, self.error, self.description)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LwaError):
            return NotImplemented
        return (self.status, self.error, self.description) == (other.status, other.error, other.description)

    def __hash__(self) -> int:
        return hash((self.status, self.error, self.description))

    def __repr__(self) -> str:
        return f"LwaError({self.status!r}, {self.error!r}, {self.description!r})"

    def __str__(self) -> str:
        return f"{self.status} {self.error}: {self.description}"

    def body(self, style: BodyStyle = "classic", request_id: str | None = None) -> bytes:
        """The exact response body in ``style``; ``request_id`` is used by the modern style."""
        fields: dict[str, str] = {}
        if style == "modern":
            fields["error_index"] = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode("ascii")
        fields["error_description"] = self.description
        fields["error"] = self.error
        if style == "modern":
            fields["request_id"] = request_id if request_id is not None else ""
        return compact_json(fields)


def _kind(status: int, error: str, description: str) -> type[LwaError]:
    """A catalogue entry: raising it raises a new :class:`LwaError` with these fields."""
    name = "".join(part.title() for part in error.split("_")) + "Error"
    return type(name, (LwaError,), {"status": status, "error": error, "description": description})


# --- the catalogue (LWA-CONTRACT section 4) --------------------------------------------------------

INVALID_CLIENT: Final = _kind(401, "invalid_client", "Client authentication failed")
INVALID_SCOPE: Final = _kind(400, "invalid_scope", "The request has an invalid parameter : scope")
UNSUPPORTED_GRANT_TYPE: Final = _kind(
    400,
    "unsupported_grant_type",
    "The authorization grant type is not supported by the authorization server",
)
UNSUPPORTED_CONTENT_TYPE: Final = _kind(
    400, "invalid_request", "The Content-Type is not supported by the authorization server"
)
MALFORMED_REQUEST: Final = _kind(400, "invalid_request", "Malformed request")
UNAUTHORIZED_CLIENT: Final = _kind(400, "unauthorized_client", "Not authorized for requested operation")
INVALID_TOKEN: Final = _kind(400, "invalid_token", "The request has an invalid parameter : access_token")

# Device flow (LWA for devices); the error codes are documented, their descriptions are the mock's choice.
AUTHORIZATION_PENDING: Final = _kind(400, "authorization_pending", "The user has not yet approved the code pair")
SLOW_DOWN: Final = _kind(400, "slow_down", "The client is polling faster than the interval allows")
INVALID_CODE_PAIR: Final = _kind(400, "invalid_code_pair", "The code pair is unknown or has expired")
ACCESS_DENIED: Final = _kind(400, "access_denied", "The user denied the request")

# The mock's own choices: nothing public shows what Amazon answers for these.
UNSUPPORTED_RESPONSE_TYPE: Final = _kind(
    400, "unsupported_response_type", "The response type is not supported by the authorization server"
)
UNKNOWN_CLIENT_ID: Final = _kind(400, "invalid_client", "The client_id is missing or unknown")
UNREGISTERED_REDIRECT_URI: Final = _kind(
    400, "invalid_request", "The redirect_uri is missing or not registered for this client"
)
INSUFFICIENT_SCOPE: Final = _kind(
    403, "insufficient_scope", "The access token does not grant access to the customer profile"
)
NOT_FOUND: Final = _kind(404, "not_found", "The requested URL was not found on the server")
METHOD_NOT_ALLOWED: Final = _kind(405, "method_not_allowed", "The method is not allowed for the requested URL")
REQUEST_TIMEOUT: Final = _kind(408, "invalid_request", "The request was not received in time")
REQUEST_TOO_LARGE: Final = _kind(413, "invalid_request", "The request body is too large")
SERVER_ERROR: Final = _kind(500, "server_error", "The authorization server encountered an unexpected condition")
TEMPORARILY_UNAVAILABLE: Final = _kind(
    503, "temporarily_unavailable", "The authorization server is temporarily unavailable"
)
TOO_MANY_REQUESTS: Final = _kind(429, "too_many_requests", "The request rate is too high")


def missing_parameter(name: str) -> LwaError:
    """``invalid_request`` for a required parameter that is absent or empty."""
    return LwaError(400, "invalid_request", f"The request is missing a required parameter : {name}")


def invalid_grant(parameter: str) -> LwaError:
    """``invalid_grant`` naming the grant parameter (``refresh_token`` or ``code``) that failed."""
    return LwaError(400, "invalid_grant", f"The request has an invalid grant parameter : {parameter}")


def catalogue() -> list[LwaError]:
    """Every error the mock can answer on its own (faults can add any other)."""
    kinds = [kind for kind in globals().values() if isinstance(kind, type) and issubclass(kind, LwaError)]
    fixed = [kind() for kind in kinds if kind is not LwaError]
    named = ("scope", "client_id", "access_token", "refresh_token", "code", "device_code", "user_code")
    return [*fixed, *map(missing_parameter, named), invalid_grant("refresh_token"), invalid_grant("code")]
