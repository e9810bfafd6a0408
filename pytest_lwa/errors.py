"""The catalogue of Login With Amazon errors and how their bodies are rendered.

Every error the mock can answer is an :class:`LwaError`: an HTTP status, the OAuth ``error`` code and
the verbatim ``error_description``.  Two body styles exist, as the real service has used both:

``classic``
    ``{"error_description":"…","error":"…"}`` -- exactly two keys, description first, compact JSON.
``modern``
    ``{"error_index":"…","error_description":"…","error":"…","request_id":"…"}``, where ``error_index`` is
    264 characters of padded base64url (196 random bytes) and ``request_id`` equals the answer's
    ``x-amzn-RequestId`` (docs/contract.md R2).

Every error answer names its Java exception in ``X-Amzn-Errortype`` (R2, R17), see :attr:`LwaError.error_type`.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any, Final, Literal

from .unique import unique_bytes

__all__ = [
    "BODY_STYLES",
    "BodyStyle",
    "LwaError",
]

BodyStyle = Literal["classic", "modern"]
BODY_STYLES: Final[tuple[BodyStyle, ...]] = ("classic", "modern")


_COMPACT: Final = json.JSONEncoder(separators=(",", ":"))
_PANDA: Final = "http://internal.amazon.com/coral/com.amazon.panda/"
#: random bytes behind a modern body's ``error_index``: 264 characters of base64url with ``==`` (R2)
ERROR_INDEX_BYTES: Final = 196


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

    #: why the mock answered so, in plain words, for the request log and the test report (never sent)
    reason: str | None = None

    def __init__(
        self,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        self.reason = reason
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

    @property
    def error_type(self) -> str:
        """The ``X-Amzn-Errortype`` header Amazon sends with this error.

        Recorded: ``OA2UnsupportedGrantTypeException:…`` (R2), ``OA2InvalidGrantException:…`` (R17),
        ``InternalFailure:…`` for a server fault (R23). For the other codes the header follows the same
        pattern, ``OA2<Code>Exception:http://internal.amazon.com/coral/com.amazon.panda/`` [choice].
        """
        return f"OA2{_camel(self.error)}Exception:{_PANDA}"

    def body(self, style: BodyStyle = "classic", request_id: str | None = None) -> bytes:
        """The exact response body in ``style``; ``request_id`` is used by the modern style."""
        if style not in BODY_STYLES:
            raise ValueError(f"style must be one of {', '.join(BODY_STYLES)}, got {style!r}")
        fields: dict[str, str] = {}
        if style == "modern":
            fields["error_index"] = base64.urlsafe_b64encode(unique_bytes(ERROR_INDEX_BYTES)).decode("ascii")
        fields["error_description"] = self.description
        fields["error"] = self.error
        if style == "modern":
            fields["request_id"] = request_id if request_id is not None else ""
        return compact_json(fields)


def _camel(code: str) -> str:
    """``invalid_grant`` as ``InvalidGrant`` (``InvalidValue`` stays as it is)."""
    return "".join(part[:1].upper() + part[1:] for part in code.split("_"))


# Runs only while the module is imported, before mutation testing can switch a mutant on: mutants here
# could never be killed, so mutmut leaves it alone (tests/test_errors.py checks every entry it makes).
def _kind(status: int, error: str, description: str) -> type[LwaError]:  # pragma: no mutate block
    """A catalogue entry: raising it raises a new :class:`LwaError` with these fields."""
    return type(f"{_camel(error)}Error", (LwaError,), {"status": status, "error": error, "description": description})


class _ServerFault(LwaError):
    """Amazon's answer to a fault of its own: 500, an empty JSON object (docs/contract.md R23)."""

    status = 500
    error = "server_error"
    description = "The authorization server encountered an unexpected condition"

    @property
    def error_type(self) -> str:
        return "InternalFailure:http://internal.amazon.com/coral/com.amazon.coral.service/"

    def body(self, *_: object, **__: object) -> bytes:  # in every style
        return b"{}"


# --- the catalogue (docs/contract.md: Errors, Other grants) -------------------------------------

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
#: unknown, revoked or another client's refresh token: the description since 2022 (R4)
INVALID_REFRESH_TOKEN: Final = _kind(
    400,
    "invalid_grant",
    "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission.",
)
#: unknown, used or expired authorization code, wrong redirect_uri or PKCE verifier (R3, R17)
INVALID_CODE: Final = _kind(400, "invalid_grant", "The request has an invalid grant parameter : code")
#: ``GET /ap/oa`` asking for a scope that is unknown or not the client's, sent to the redirect URI (R7)
UNKNOWN_SCOPE: Final = _kind(400, "invalid_scope", "An unknown scope was requested")
#: the user cancels on the consent page (R22), or refuses a device code
ACCESS_DENIED: Final = _kind(400, "access_denied", "Access not permitted.")
#: ``POST /auth/o2/create/codepair`` with a client_id it does not know (R10)
INVALID_CLIENT_ID_VALUE: Final = _kind(400, "InvalidValue", "The request has an invalid parameter : client_id")

# Device flow (LWA for devices); the error codes are documented, their descriptions are the mock's choice.
AUTHORIZATION_PENDING: Final = _kind(400, "authorization_pending", "The user has not yet approved the code pair")
SLOW_DOWN: Final = _kind(400, "slow_down", "The client is polling faster than the interval allows")
INVALID_CODE_PAIR: Final = _kind(400, "invalid_code_pair", "The code pair is unknown or has expired")

# The mock's own choices: nothing public shows what Amazon answers for these.
UNSUPPORTED_RESPONSE_TYPE: Final = _kind(
    400, "unsupported_response_type", "The response type is not supported by the authorization server"
)
UNKNOWN_CLIENT_ID: Final = _kind(400, "invalid_client", "The client_id is missing or unknown")
UNREGISTERED_REDIRECT_URI: Final = _kind(
    400, "invalid_request", "The redirect_uri is missing or not registered for this client"
)
#: the SDK's popup opened by a page whose origin is not one of the client's Allowed Origins (N14)
UNLISTED_ORIGIN: Final = _kind(
    400, "invalid_request", "The origin of the page is not an Allowed Origin for this client"
)
INSUFFICIENT_SCOPE: Final = _kind(
    403, "insufficient_scope", "The access token does not grant access to the customer profile"
)
NOT_FOUND: Final = _kind(404, "not_found", "The requested URL was not found on the server")
METHOD_NOT_ALLOWED: Final = _kind(405, "method_not_allowed", "The method is not allowed for the requested URL")
REQUEST_TIMEOUT: Final = _kind(408, "invalid_request", "The request was not received in time")
REQUEST_TOO_LARGE: Final = _kind(413, "invalid_request", "The request body is too large")
#: plain HTTP sent to the port of ``tls=True`` (as nginx answers it, without a handshake)
PLAIN_HTTP_TO_TLS_PORT: Final = _kind(400, "invalid_request", "The plain HTTP request was sent to the HTTPS port")
SERVER_ERROR: Final = _ServerFault
TEMPORARILY_UNAVAILABLE: Final = _kind(
    503, "temporarily_unavailable", "The authorization server is temporarily unavailable"
)
TOO_MANY_REQUESTS: Final = _kind(429, "too_many_requests", "The request rate is too high")


def missing_parameter(name: str, reason: str | None = None) -> LwaError:
    """``invalid_request`` for a required parameter that is absent or empty."""
    description = f"The request is missing a required parameter : {name}"
    return LwaError(400, "invalid_request", description, reason=reason or f"the request has no (or an empty) {name}")


def forbidden_host(host: str, reason: str | None = None) -> LwaError:
    """The proxy's answer for a host it does not serve (the mock's own: Amazon has no such answer)."""
    return LwaError(
        403,
        "forbidden_host",
        f"pytest-lwa's proxy serves Amazon's LWA hosts only, not {host}; start it with --proxy-passthrough"
        " (LwaServer(proxy_passthrough=True)) to tunnel other hosts untouched",
        reason=reason,
    )


def scope_not_permitted(scope: str, reason: str | None = None) -> LwaError:
    """``invalid_scope`` from ``POST /auth/o2/create/codepair`` for a scope the client may not use (R11).

    Amazon's description prints an internal Java object where the scope would be (N2), as
    ``com.amazon.aztec.service.Scope@`` and a hash; the mock's hash is the scope's CRC-32 (in 31 bits, lower-case
    hex as Java prints it), so a body is the same in every run. The request log's reason (``reason``) names the scope.
    """
    java_object = f"com.amazon.aztec.service.Scope@{zlib.crc32(scope.encode()) & 0x7FFFFFFF:x}"
    return LwaError(
        400,
        "invalid_scope",
        f"Client does not have permission to use scope : {java_object}",
        reason=reason,
    )


def catalogue() -> list[LwaError]:
    """Every error the mock can answer on its own (faults can add any other)."""
    kinds = dict.fromkeys(kind for kind in globals().values() if isinstance(kind, type) and issubclass(kind, LwaError))
    fixed = [kind() for kind in kinds if kind is not LwaError]  # SERVER_ERROR is _ServerFault: listed once
    named = ("scope", "client_id", "access_token", "refresh_token", "code", "device_code", "user_code")
    return [*fixed, *map(missing_parameter, named), scope_not_permitted("profile")]
