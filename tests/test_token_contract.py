"""The client-credentials token contract, byte for byte, through real HTTP."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable

import pytest
import requests
from conftest import APPSTORE, REPORTING
from helpers import (
    INVALID_CLIENT,
    INVALID_SCOPE,
    MALFORMED,
    UNSUPPORTED_CONTENT,
    UNSUPPORTED_GRANT,
    missing,
)

from pytest_lwa import Client, LwaServer

TokenRequest = Callable[..., requests.Response]


def raw_post(server: LwaServer, body: bytes | str, content_type: str | None, **headers: str) -> requests.Response:
    if content_type is not None:
        headers["Content-Type"] = content_type
    return requests.post(server.token_url, data=body, headers=headers, timeout=5)


def form(client: Client, **fields: str) -> str:
    values = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "scope": APPSTORE,
        **fields,
    }
    return "&".join(f"{k}={v}" for k, v in values.items())


# --- success -------------------------------------------------------------------------------------


def test_success_body_has_the_seed_keys_in_order(token_request: TokenRequest) -> None:
    r = token_request()
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["access_token", "scope", "token_type", "expires_in"]
    assert body["scope"] == APPSTORE
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert re.fullmatch(r"Atc\|[A-Za-z0-9_-]{346,}", body["access_token"])
    assert len(body["access_token"].encode()) <= 2048
    # compact JSON, as the service sends it
    assert r.content == json.dumps(body, separators=(",", ":")).encode()


def test_success_headers(token_request: TokenRequest) -> None:
    r = token_request()
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    assert r.headers["Pragma"] == "no-cache"
    assert uuid.UUID(r.headers["x-amzn-RequestId"]).version == 4


def test_every_token_is_new(token_request: TokenRequest) -> None:
    tokens = {token_request().json()["access_token"] for _ in range(5)}
    assert len(tokens) == 5


def test_several_scopes_space_separated_come_back_as_requested(token_request: TokenRequest) -> None:
    r = token_request(scope=f"{REPORTING} {APPSTORE}")
    assert r.status_code == 200
    assert r.json()["scope"] == f"{REPORTING} {APPSTORE}"


def test_http_basic_client_authentication(lwa_server: LwaServer, client: Client) -> None:
    r = requests.post(
        lwa_server.token_url,
        data={"grant_type": "client_credentials", "scope": APPSTORE},
        auth=(client.client_id, client.client_secret),
        timeout=5,
    )
    assert r.status_code == 200, r.text


def test_http_basic_with_matching_body_credentials(lwa_server: LwaServer, client: Client) -> None:
    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    r = raw_post(lwa_server, form(client), "application/x-www-form-urlencoded", Authorization=f"Basic {basic}")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded;charset=UTF-8",
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-URLEncoded",
    ],
)
def test_form_content_types(lwa_server: LwaServer, client: Client, content_type: str) -> None:
    r = raw_post(lwa_server, form(client), content_type)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/auth/o2/token", "/auth/O2/token", "/AUTH/O2/TOKEN"])
def test_path_matches_in_any_case(lwa_server: LwaServer, client: Client, path: str) -> None:
    r = requests.post(
        lwa_server.url + path,
        data=form(client),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("host", ["api.amazon.com", "api.amazon.co.uk", "api.amazon.co.jp", "example.test:1234"])
def test_any_host_header(lwa_server: LwaServer, client: Client, host: str) -> None:
    r = raw_post(lwa_server, form(client), "application/x-www-form-urlencoded", Host=host)
    assert r.status_code == 200, r.text


def test_json_body_is_accepted_by_default(lwa_server: LwaServer, client: Client) -> None:
    r = requests.post(
        lwa_server.token_url,
        json={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "scope": APPSTORE,
        },
        timeout=5,
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == APPSTORE


def test_json_body_can_be_refused(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.configure(json_body=False)
    r = requests.post(lwa_server.token_url, json={"grant_type": "client_credentials"}, timeout=5)
    assert (r.status_code, r.content) == (400, UNSUPPORTED_CONTENT)


def test_expires_in_setting(lwa_server: LwaServer, token_request: TokenRequest) -> None:
    lwa_server.configure(expires_in=60)
    assert token_request().json()["expires_in"] == 60


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "body"),
    [
        pytest.param({"client_secret": "amzn1.oa2-cs.v1.wrong"}, 401, INVALID_CLIENT, id="wrong-secret"),
        pytest.param({"client_secret": None}, 401, INVALID_CLIENT, id="no-secret"),
        pytest.param({"client_id": "amzn1.application-oa2-client.unknown"}, 401, INVALID_CLIENT, id="unknown-client"),
        pytest.param({"scope": "appstore::apps:read"}, 400, INVALID_SCOPE, id="unknown-scope"),
        pytest.param({"scope": "sellingpartnerapi::notifications"}, 400, INVALID_SCOPE, id="scope-not-granted"),
        pytest.param({"scope": f"{APPSTORE} profile"}, 400, INVALID_SCOPE, id="one-scope-of-two-bad"),
        pytest.param({"scope": "   "}, 400, INVALID_SCOPE, id="blank-scope"),
        pytest.param({"grant_type": None}, 400, UNSUPPORTED_GRANT, id="no-grant-type"),
        pytest.param({"grant_type": "password"}, 400, UNSUPPORTED_GRANT, id="unknown-grant-type"),
        pytest.param({"grant_type": "CLIENT_CREDENTIALS"}, 400, UNSUPPORTED_GRANT, id="grant-type-case"),
        pytest.param({"scope": None}, 400, missing("scope"), id="no-scope"),
        pytest.param({"scope": ""}, 400, missing("scope"), id="empty-scope"),
        pytest.param({"client_id": None}, 400, missing("client_id"), id="no-client-id"),
    ],
)
def test_error_rows(token_request: TokenRequest, fields: dict[str, str | None], status: int, body: bytes) -> None:
    r = token_request(**fields)
    assert (r.status_code, r.content) == (status, body)
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["Cache-Control"] == "no-cache, no-store, must-revalidate"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b"grant_type=client_credentials", None, UNSUPPORTED_CONTENT, id="no-content-type"),
        pytest.param(b"grant_type=client_credentials", "text/plain", UNSUPPORTED_CONTENT, id="text-plain"),
        pytest.param(b"grant_type=client_credentials", "multipart/form-data", UNSUPPORTED_CONTENT, id="multipart"),
        pytest.param(b"{", "application/json", UNSUPPORTED_GRANT, id="broken-json"),
        pytest.param(b"[]", "application/json", UNSUPPORTED_GRANT, id="json-array"),
        pytest.param(b"[" * 5000 + b"]" * 5000, "application/json", UNSUPPORTED_GRANT, id="json-too-deep"),
        pytest.param(b'{"grant_type": 1}', "application/json", MALFORMED, id="json-number"),
        pytest.param(b'{"scope":"a","scope":"b"}', "application/json", MALFORMED, id="json-duplicate"),
        pytest.param(b"grant_type=\xff", "application/x-www-form-urlencoded", UNSUPPORTED_GRANT, id="invalid-utf8"),
        pytest.param(b"grant_type=%ff", "application/x-www-form-urlencoded", UNSUPPORTED_GRANT, id="bad-percent"),
        pytest.param(b"", "application/x-www-form-urlencoded", UNSUPPORTED_GRANT, id="empty-body"),
        pytest.param(
            b"scope=a&scope=b&grant_type=client_credentials",
            "application/x-www-form-urlencoded",
            MALFORMED,
            id="duplicate-parameter",
        ),
    ],
)
def test_body_errors(lwa_server: LwaServer, body: bytes, content_type: str | None, expected: bytes) -> None:
    r = raw_post(lwa_server, body, content_type)
    assert (r.status_code, r.content) == (400, expected)


def test_seed_curl_with_its_missing_ampersand(lwa_server: LwaServer, client: Client) -> None:
    """The seed's curl reads `client_secret=<secret>=appstore::apps:readwrite`: no scope parameter."""
    body = (
        f"grant_type=client_credentials&client_id={client.client_id}"
        f"&client_secret={client.client_secret}=appstore::apps:readwrite"
    )
    r = requests.post(
        lwa_server.url + "/auth/O2/token",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert (r.status_code, r.content) == (400, missing("scope"))


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic !!!", id="not-base64"),
        pytest.param("Basic " + base64.b64encode(b"no-colon").decode(), id="no-colon"),
        pytest.param("Basic " + base64.b64encode(b"\xff:\xfe").decode(), id="not-utf8"),
    ],
)
def test_malformed_basic_header_is_invalid_client(lwa_server: LwaServer, authorization: str) -> None:
    r = raw_post(
        lwa_server,
        f"grant_type=client_credentials&scope={APPSTORE}",
        "application/x-www-form-urlencoded",
        Authorization=authorization,
    )
    assert (r.status_code, r.content) == (401, INVALID_CLIENT)


def test_basic_and_body_naming_different_clients_is_invalid_client(lwa_server: LwaServer, client: Client) -> None:
    other = lwa_server.add_client()
    r = requests.post(
        lwa_server.token_url,
        data={"grant_type": "client_credentials", "scope": APPSTORE, "client_id": other.client_id},
        auth=(client.client_id, client.client_secret),
        timeout=5,
    )
    assert (r.status_code, r.content) == (401, INVALID_CLIENT)


def test_basic_credentials_are_percent_decoded(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(client_id="my:client", client_secret="s%cret+1", scopes=[APPSTORE])
    basic = base64.b64encode(b"my%3Aclient:s%25cret%2B1").decode()
    r = raw_post(
        lwa_server,
        f"grant_type=client_credentials&scope={APPSTORE}",
        "application/x-www-form-urlencoded",
        Authorization=f"Basic {basic}",
    )
    assert r.status_code == 200, (client, r.text)


def test_removed_client_is_invalid_client(lwa_server: LwaServer, client: Client, token_request: TokenRequest) -> None:
    lwa_server.remove_client(client.client_id)
    r = token_request()
    assert (r.status_code, r.content) == (401, INVALID_CLIENT)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        # content type is checked before the body is read
        pytest.param(b"{", "text/plain", UNSUPPORTED_CONTENT, id="content-type-before-parse"),
        # grant type before missing parameters
        pytest.param(b"grant_type=password", "application/x-www-form-urlencoded", UNSUPPORTED_GRANT, id="grant-first"),
        # missing parameters before client authentication
        pytest.param(
            b"grant_type=client_credentials&client_id=nobody",
            "application/x-www-form-urlencoded",
            missing("scope"),
            id="missing-before-auth",
        ),
        # client authentication before scope
        pytest.param(
            b"grant_type=client_credentials&client_id=nobody&scope=nonsense",
            "application/x-www-form-urlencoded",
            INVALID_CLIENT,
            id="auth-before-scope",
        ),
    ],
)
def test_order_of_checks(lwa_server: LwaServer, body: bytes, content_type: str, expected: bytes) -> None:
    r = raw_post(lwa_server, body, content_type)
    assert r.content == expected


def test_modern_error_body_style(lwa_server: LwaServer, token_request: TokenRequest) -> None:
    lwa_server.configure(body_style="modern")
    r = token_request(client_secret="wrong")
    assert r.status_code == 401
    body = r.json()
    assert list(body) == ["error_index", "error_description", "error", "request_id"]
    assert body["error_description"] == "Client authentication failed"
    assert body["error"] == "invalid_client"
    assert body["request_id"] == r.headers["x-amzn-RequestId"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{262}==", body["error_index"])  # 196 bytes, as recorded (R2)
    assert r.content == json.dumps(body, separators=(",", ":")).encode()


# --- other routes --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_wrong_method_on_token_url(lwa_server: LwaServer, method: str) -> None:
    r = requests.request(method, lwa_server.token_url, timeout=5)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    assert (
        r.content
        == b'{"error_description":"The method is not allowed for the requested URL","error":"method_not_allowed"}'
    )
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_head_on_token_url_has_no_body(lwa_server: LwaServer) -> None:
    r = requests.head(lwa_server.token_url, timeout=5)
    assert (r.status_code, r.headers["Allow"], r.content) == (405, "POST", b"")


@pytest.mark.parametrize("path", ["/", "/auth/o2/token/", "/auth/o2/tokens", "/ap/oa/x", "/%ff"])
def test_unknown_path(lwa_server: LwaServer, path: str) -> None:
    r = requests.post(lwa_server.url + path, timeout=5)
    assert r.status_code == 404
    assert r.content == b'{"error_description":"The requested URL was not found on the server","error":"not_found"}'


def test_body_over_the_limit_is_413(lwa_server: LwaServer) -> None:
    r = raw_post(lwa_server, b"a" * (64 * 1024 + 1), "application/x-www-form-urlencoded")
    assert r.status_code == 413
    assert r.content == b'{"error_description":"The request body is too large","error":"invalid_request"}'


@pytest.mark.lwa(teardown_checks=False)  # the error it provokes would fail the test at teardown
def test_unexpected_failure_is_a_json_500_and_is_recorded(
    lwa_server: LwaServer, token_request: TokenRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(lwa_server.authority, "token", broken)
    r = token_request()
    assert (r.status_code, r.content) == (500, b"{}")  # as Amazon answers a fault of its own (R23)
    assert r.headers["X-Amzn-Errortype"] == "InternalFailure:http://internal.amazon.com/coral/com.amazon.coral.service/"
    assert [str(e) for e in lwa_server.errors] == ["boom"]


def test_a_missing_grant_parameter_is_named_before_a_missing_client_id(lwa_server: LwaServer) -> None:
    """The order of checks: the grant's required parameters, then client_id."""
    r = requests.post(lwa_server.token_url, data={"grant_type": "client_credentials"}, timeout=5)
    assert (r.status_code, r.content) == (400, missing("scope"))
    r = requests.post(lwa_server.token_url, data={"grant_type": "refresh_token"}, timeout=5)
    assert (r.status_code, r.content) == (400, missing("refresh_token"))


def test_http_basic_names_the_client_even_beside_a_body_client_id(lwa_server: LwaServer) -> None:
    """With Basic, a body client_id must name the same client: it never wins over the header."""
    first = lwa_server.add_client("amzn1.application-oa2-client.first", "shared-secret")
    lwa_server.add_client("amzn1.application-oa2-client.second", "shared-secret")
    form = {"grant_type": "client_credentials", "scope": "appstore::apps:readwrite"}
    auth = (first.client_id, "shared-secret")
    other = requests.post(lwa_server.token_url, data={**form, "client_id": "amzn1.application-oa2-client.second"},
                          auth=auth, timeout=5)  # fmt: skip
    assert (other.status_code, other.content) == (401, INVALID_CLIENT)
    alone = requests.post(lwa_server.token_url, data=form, auth=auth, timeout=5)
    info = requests.get(lwa_server.tokeninfo_url, params={"access_token": alone.json()["access_token"]}, timeout=5)
    assert info.json()["aud"] == first.client_id
