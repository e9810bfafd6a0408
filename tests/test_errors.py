"""The error catalogue as data: every answer the mock can give on its own, its body in both styles, its
``X-Amzn-Errortype``, and how an error is made, compared and shown."""

from __future__ import annotations

import base64
import json

import pytest

from pytest_lwa import LwaError, errors

PANDA = "http://internal.amazon.com/coral/com.amazon.panda/"

#: (status, error, description) of every answer, in the catalogue's order (docs/contract.md Errors, R2-R25)
CATALOGUE = [
    (500, "server_error", "The authorization server encountered an unexpected condition"),
    (401, "invalid_client", "Client authentication failed"),
    (400, "invalid_scope", "The request has an invalid parameter : scope"),
    (400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server"),
    (400, "invalid_request", "The Content-Type is not supported by the authorization server"),
    (400, "invalid_request", "Malformed request"),
    (400, "unauthorized_client", "Not authorized for requested operation"),
    (400, "invalid_token", "The request has an invalid parameter : access_token"),
    (400, "invalid_grant", "The request has an invalid grant parameter : refresh_token. User may have revoked or"
                           " didn't grant the permission."),
    (400, "invalid_grant", "The request has an invalid grant parameter : code"),
    (400, "invalid_scope", "An unknown scope was requested"),
    (400, "access_denied", "Access not permitted."),
    (400, "InvalidValue", "The request has an invalid parameter : client_id"),
    (400, "authorization_pending", "The user has not yet approved the code pair"),
    (400, "slow_down", "The client is polling faster than the interval allows"),
    (400, "invalid_code_pair", "The code pair is unknown or has expired"),
    (400, "unsupported_response_type", "The response type is not supported by the authorization server"),
    (400, "invalid_client", "The client_id is missing or unknown"),
    (400, "invalid_request", "The redirect_uri is missing or not registered for this client"),
    (400, "invalid_request", "The origin of the page is not an Allowed Origin for this client"),
    (403, "insufficient_scope", "The access token does not grant access to the customer profile"),
    (404, "not_found", "The requested URL was not found on the server"),
    (405, "method_not_allowed", "The method is not allowed for the requested URL"),
    (408, "invalid_request", "The request was not received in time"),
    (413, "invalid_request", "The request body is too large"),
    (400, "invalid_request", "The plain HTTP request was sent to the HTTPS port"),
    (503, "temporarily_unavailable", "The authorization server is temporarily unavailable"),
    (429, "too_many_requests", "The request rate is too high"),
    *[(400, "invalid_request", f"The request is missing a required parameter : {name}")
      for name in ("scope", "client_id", "access_token", "refresh_token", "code", "device_code", "user_code")],
    (400, "invalid_scope", "Client does not have permission to use scope : com.amazon.aztec.service.Scope@157aa0f"),
]  # fmt: skip


def test_the_catalogue_is_exactly_the_contract() -> None:
    assert [(e.status, e.error, e.description) for e in errors.catalogue()] == CATALOGUE
    assert all(type(e) is not LwaError for e in errors.catalogue()[:27])  # each fixed entry is its own kind


@pytest.mark.parametrize(("status", "error", "description"), CATALOGUE)
def test_classic_body_and_header(status: int, error: str, description: str) -> None:
    [made] = [e for e in errors.catalogue() if (e.status, e.error, e.description) == (status, error, description)]
    if error == "server_error":  # Amazon's own fault: 500 {} (R23)
        assert (made.body(), made.body("modern", "rid")) == (b"{}", b"{}")
        assert made.error_type == "InternalFailure:http://internal.amazon.com/coral/com.amazon.coral.service/"
        return
    expected = json.dumps({"error_description": description, "error": error}, separators=(",", ":"))
    assert made.body() == made.body("classic", "ignored") == expected.encode()
    camel = "".join(part[:1].upper() + part[1:] for part in error.split("_"))
    assert made.error_type == f"OA2{camel}Exception:{PANDA}"


def test_modern_body() -> None:
    body = json.loads(errors.INVALID_CLIENT().body("modern", "a-request-id"))
    assert list(body) == ["error_index", "error_description", "error", "request_id"]
    assert (body["error_description"], body["error"], body["request_id"]) == (
        "Client authentication failed",
        "invalid_client",
        "a-request-id",
    )
    index = body["error_index"]
    assert (len(index), index[-2:]) == (264, "==")  # 196 bytes, as recorded (R2)
    assert len(base64.urlsafe_b64decode(index)) == 196
    assert json.loads(errors.INVALID_CLIENT().body("modern"))["request_id"] == ""
    assert index != json.loads(errors.INVALID_CLIENT().body("modern", "a-request-id"))["error_index"]


def test_header_names_the_exception_as_recorded() -> None:
    assert errors.UNSUPPORTED_GRANT_TYPE().error_type == f"OA2UnsupportedGrantTypeException:{PANDA}"  # R2
    assert errors.INVALID_CODE().error_type == f"OA2InvalidGrantException:{PANDA}"  # R17
    assert errors.INVALID_CLIENT_ID_VALUE().error_type == f"OA2InvalidValueException:{PANDA}"


def test_an_error_of_ones_own() -> None:
    made = LwaError(418, "teapot", "short and stout", reason="why")
    assert (made.status, made.error, made.description, made.reason) == (418, "teapot", "short and stout", "why")
    assert made.args == (418, "teapot", "short and stout")
    assert (str(made), repr(made)) == ("418 teapot: short and stout", "LwaError(418, 'teapot', 'short and stout')")
    partial = errors.INVALID_CLIENT(description="other words")
    assert (partial.status, partial.error, partial.description, partial.reason) == (
        401,
        "invalid_client",
        "other words",
        None,
    )
    assert errors.INVALID_CLIENT(status=400).status == 400
    assert errors.INVALID_CLIENT(error="x").error == "x"
    bare = LwaError()
    assert (bare.status, bare.error, bare.description) == (500, "server_error", "")


def test_equal_errors_are_equal_and_hash_alike() -> None:
    assert errors.INVALID_CLIENT() == LwaError(401, "invalid_client", "Client authentication failed")
    assert hash(errors.INVALID_CLIENT()) == hash(LwaError(401, "invalid_client", "Client authentication failed"))
    assert errors.INVALID_CLIENT() != errors.UNKNOWN_CLIENT_ID()
    assert hash(errors.INVALID_CLIENT()) != hash(errors.UNKNOWN_CLIENT_ID())
    assert len({errors.INVALID_CLIENT(), errors.INVALID_CLIENT(), errors.UNKNOWN_CLIENT_ID()}) == 2
    assert errors.INVALID_CLIENT().__eq__("invalid_client") is NotImplemented
    assert errors.INVALID_CLIENT() is not errors.INVALID_CLIENT()  # raised anew each time


def test_made_errors() -> None:
    missing = errors.missing_parameter("code")
    assert (missing.status, missing.error, missing.reason) == (
        400,
        "invalid_request",
        "the request has no (or an empty) code",
    )
    assert errors.missing_parameter("code", "said why").reason == "said why"
    proxy = errors.forbidden_host("example.com", "not an LWA host")
    assert (proxy.status, proxy.error, proxy.reason) == (403, "forbidden_host", "not an LWA host")
    assert proxy.description == (
        "pytest-lwa's proxy serves Amazon's LWA hosts only, not example.com; start it with --proxy-passthrough"
        " (LwaServer(proxy_passthrough=True)) to tunnel other hosts untouched"
    )
    assert errors.forbidden_host("example.com").reason is None
    scope = errors.scope_not_permitted("postal_code", "its scopes: profile")
    assert (scope.status, scope.error, scope.description, scope.reason) == (
        400,
        "invalid_scope",
        "Client does not have permission to use scope : com.amazon.aztec.service.Scope@6a98e376",  # N2
        "its scopes: profile",
    )


def test_an_unknown_body_style_is_an_error() -> None:
    with pytest.raises(ValueError, match="style must be one of classic, modern, got 'fancy'"):
        errors.INVALID_CLIENT().body("fancy")  # type: ignore[arg-type]


def test_compact_json() -> None:
    assert errors.compact_json({"a": [1, "é"], "b": None}) == b'{"a":[1,"\\u00e9"],"b":null}'
