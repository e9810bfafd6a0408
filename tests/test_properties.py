"""Whatever arrives, the answer is one of the documented ones."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytest_lwa import Client, LwaServer, errors

CATALOGUE = {(e.status, e.error, e.description) for e in errors.catalogue()}

SCOPES = ["appstore::apps:readwrite", "adx_reporting::appstore:marketer", "profile", "nonsense"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LwaServer, Client]]:
    with LwaServer() as running:
        yield running, running.add_client(scopes=SCOPES[:2])


@st.composite
def fields(draw: st.DrawFn, client: Client) -> dict[str, str]:
    """A valid client-credentials request with up to three fields dropped or replaced."""
    scope = draw(st.lists(st.sampled_from(SCOPES[:2]), min_size=1, max_size=2).map(" ".join))
    data = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "scope": scope,
    }
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from([*data, "access_token", "code"]))
        if draw(st.booleans()):
            data.pop(key, None)
        else:
            data[key] = draw(st.sampled_from(["", "refresh_token", "wrong", *SCOPES]) | st.text(max_size=20))
    return data


@st.composite
def requests_(draw: st.DrawFn, client: Client) -> tuple[str, str, dict[str, str], bytes]:
    # weighted towards the real endpoints and methods, so that every check is reached
    if draw(st.integers(0, 9)):
        path = draw(st.sampled_from(["/auth/o2/token"] * 3 + ["/auth/O2/token", "/auth/o2/tokeninfo", "/user/profile"]))
    else:
        path = "/" + quote(draw(st.text(max_size=20)))
    usual = "GET" if path.endswith("tokeninfo") else "POST"
    method = draw(st.sampled_from([usual] * 6 + ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND"]))
    data = draw(fields(client))
    encoding = draw(st.sampled_from(["form", "form", "json", "bytes"]))
    if encoding == "form":
        body = urlencode(data).encode()
    elif encoding == "json":
        body = json.dumps(data).encode()
    else:
        body = draw(st.binary(max_size=200))
    if path.endswith("tokeninfo") and data:
        path += "?" + urlencode(data)
    headers = {}
    content_type = draw(
        st.sampled_from(["application/x-www-form-urlencoded"] * 4 + ["application/json"] * 2)
        | st.sampled_from(["application/x-www-form-urlencoded"] * 4 + ["application/json"] * 2)
        | st.none()
        | st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded;charset=UTF-8",
                "APPLICATION/JSON",
                "application/json; charset=latin-1",
                "text/plain",
                "multipart/form-data; boundary=x",
            ]
        )
        | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
    )
    if content_type is not None:
        headers["Content-Type"] = content_type
    basic = draw(
        st.none()
        | st.none()
        | st.just(f"{client.client_id}:{client.client_secret}").map(
            lambda s: "Basic " + base64.b64encode(s.encode()).decode()
        )
        | st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode())
        | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
    )
    if basic is not None:
        headers["Authorization"] = basic
    return method, path, headers, body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_answer_is_documented(server: tuple[LwaServer, Client], data: st.DataObject) -> None:
    running, client = server
    method, path, headers, body = data.draw(requests_(client))
    connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    event(f"{response.status}")
    assert response.getheader("Content-Type") == "application/json;charset=UTF-8"
    assert response.getheader("Cache-Control") == "no-cache, no-store, must-revalidate"
    if method == "HEAD":
        assert raw == b""
        return
    answer = json.loads(raw)
    assert raw == json.dumps(answer, separators=(",", ":")).encode()
    if response.status == 200:
        assert list(answer) in (
            ["access_token", "scope", "token_type", "expires_in"],
            ["aud", "iss", "exp", "app_id", "iat"],
        )
    else:
        assert list(answer) == ["error_description", "error"]
        assert (response.status, answer["error"], answer["error_description"]) in CATALOGUE
    assert running.errors == []
