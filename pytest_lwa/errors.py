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
from dataclasses import dataclass
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


@dataclass(eq=False)
class LwaError(Exception):
    """An error answer of the authorization server.

    Raised by the authority and rendered by the HTTP app; users meet it in the catalogue below when they
    want to compare an answer with what the mock promises.
    """

    status: int
    error: str
    description: str

    def __post_init__(self) -> None:
        super().__init__(self.status, self.error, self.description)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LwaError):
            return NotImplemented
        return (self.status, self.error, self.description) == (other.status, other.error, other.description)

    def __hash__(self) -> int:
        return hash((self.status, self.error, self.description))

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


# --- the catalogue (LWA-CONTRACT section 4) --------------------------------------------------------

INVALID_CLIENT: Final = LwaError(401, "invalid_client", "Client authentication failed")
INVALID_SCOPE: Final = LwaError(400, "invalid_scope", "The request has an invalid parameter : scope")
UNSUPPORTED_GRANT_TYPE: Final = LwaError(
    400,
    "unsupported_grant_type",
    "The authorization grant type is not supported by the authorization server",
)
UNSUPPORTED_CONTENT_TYPE: Final = LwaError(
    400, "invalid_request", "The Content-Type is not supported by the authorization server"
)
MALFORMED_REQUEST: Final = LwaError(400, "invalid_request", "Malformed request")
UNAUTHORIZED_CLIENT: Final = LwaError(400, "unauthorized_client", "Not authorized for requested operation")
INVALID_TOKEN: Final = LwaError(400, "invalid_token", "The request has an invalid parameter : access_token")

# Device flow (LWA for devices); the error codes are documented, their descriptions are the mock's choice.
AUTHORIZATION_PENDING: Final = LwaError(400, "authorization_pending", "The user has not yet approved the code pair")
SLOW_DOWN: Final = LwaError(400, "slow_down", "The client is polling faster than the interval allows")
INVALID_CODE_PAIR: Final = LwaError(400, "invalid_code_pair", "The code pair is unknown or has expired")
ACCESS_DENIED: Final = LwaError(400, "access_denied", "The user denied the request")

# The mock's own choices: nothing public shows what Amazon answers for these.
UNSUPPORTED_RESPONSE_TYPE: Final = LwaError(
    400, "unsupported_response_type", "The response type is not supported by the authorization server"
)
UNKNOWN_CLIENT_ID: Final = LwaError(400, "invalid_client", "The client_id is missing or unknown")
UNREGISTERED_REDIRECT_URI: Final = LwaError(
    400, "invalid_request", "The redirect_uri is missing or not registered for this client"
)
INSUFFICIENT_SCOPE: Final = LwaError(
    403, "insufficient_scope", "The access token does not grant access to the customer profile"
)
NOT_FOUND: Final = LwaError(404, "not_found", "The requested URL was not found on the server")
METHOD_NOT_ALLOWED: Final = LwaError(405, "method_not_allowed", "The method is not allowed for the requested URL")
REQUEST_TOO_LARGE: Final = LwaError(413, "invalid_request", "The request body is too large")
SERVER_ERROR: Final = LwaError(500, "server_error", "The authorization server encountered an unexpected condition")
TEMPORARILY_UNAVAILABLE: Final = LwaError(
    503, "temporarily_unavailable", "The authorization server is temporarily unavailable"
)
TOO_MANY_REQUESTS: Final = LwaError(429, "too_many_requests", "The request rate is too high")


def missing_parameter(name: str) -> LwaError:
    """``invalid_request`` for a required parameter that is absent or empty."""
    return LwaError(400, "invalid_request", f"The request is missing a required parameter : {name}")


def invalid_grant(parameter: str) -> LwaError:
    """``invalid_grant`` naming the grant parameter (``refresh_token`` or ``code``) that failed."""
    return LwaError(400, "invalid_grant", f"The request has an invalid grant parameter : {parameter}")


def catalogue() -> list[LwaError]:
    """Every error the mock can answer on its own (faults can add any other)."""
    fixed = [error for error in globals().values() if isinstance(error, LwaError)]
    named = ("scope", "client_id", "access_token", "refresh_token", "code", "device_code", "user_code")
    return [*fixed, *map(missing_parameter, named), invalid_grant("refresh_token"), invalid_grant("code")]
