"""pytest_lwa.strategies: what they generate, and the server answering each request exactly as paired."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_lwa import Client, LwaServer
from pytest_lwa.strategies import (
    access_tokens,
    client_ids,
    client_secrets,
    error_responses,
    invalid_token_requests,
    refresh_tokens,
    scopes,
    token_responses,
    valid_token_requests,
)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LwaServer, Client, requests.Session]]:
    with LwaServer() as server, requests.Session() as session:
        client = server.add_client(scopes=["appstore::apps:readwrite", "adx_reporting::appstore:marketer"])
        yield server, client, session


@PROPERTY
@given(data=st.data())
def test_server_answers_every_invalid_request_with_its_paired_error(
    served: tuple[LwaServer, Client, requests.Session], data: st.DataObject
) -> None:
    server, client, session = served
    request = data.draw(invalid_token_requests(client))
    assert request.expected is not None
    r = session.post(server.token_url, data=request.body, headers=request.headers, timeout=5)
    assert (r.status_code, r.content) == (request.expected.status, request.expected.body()), request.mutation


@PROPERTY
@given(data=st.data())
def test_server_accepts_every_valid_request(
    served: tuple[LwaServer, Client, requests.Session], data: st.DataObject
) -> None:
    server, client, session = served
    request = data.draw(valid_token_requests(client))
    r = session.post(server.token_url, data=request.body, headers=request.headers, timeout=5)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == request.fields["scope"]


@given(client_ids(), client_secrets(), access_tokens(), access_tokens("user"), refresh_tokens())
def test_formats(client_id: str, secret: str, client_token: str, user_token: str, refresh: str) -> None:
    assert re.fullmatch(r"amzn1\.application-oa2-client\.[0-9a-f]{32}", client_id)
    assert re.fullmatch(r"amzn1\.oa2-cs\.v1\.[0-9a-f]{64}", secret)
    assert client_token.startswith("Atc|")
    assert len(client_token) >= 350
    assert user_token.startswith("Atza|")
    assert refresh.startswith("Atzr|")


@given(scopes("user", min_size=2, max_size=2))
def test_scopes(scope: str) -> None:
    first, second = scope.split(" ")
    assert first != second


@given(token_responses(), token_responses("refresh_token", min_expires_in=60, max_expires_in=60))
def test_token_responses(grantless: dict[str, object], user: dict[str, object]) -> None:
    assert list(grantless) == ["access_token", "scope", "token_type", "expires_in"]
    assert list(user) == ["access_token", "refresh_token", "token_type", "expires_in"]
    assert user["expires_in"] == 60


@given(error_responses("classic"), error_responses("modern"))
def test_error_responses(classic: tuple[int, bytes], modern: tuple[int, bytes]) -> None:
    if classic[0] == 500:  # a server fault: {} in either style (docs/contract.md R23)
        assert classic[1] == b"{}"
    else:
        assert list(json.loads(classic[1])) == ["error_description", "error"]
    if modern[0] != 500:
        assert list(json.loads(modern[1])) == ["error_index", "error_description", "error", "request_id"]
    assert 400 <= classic[0] < 600


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: scopes("admin"), "kind must be one of client_credentials, user, any"),
        (lambda: scopes(min_size=3, max_size=2), "need 0 <= min_size <= max_size"),
        (lambda: scopes(min_size=0), "min_size must be at least 1"),
        (lambda: access_tokens("refresh"), "kind must be 'client' or 'user'"),  # type: ignore[arg-type]
        (lambda: token_responses("password"), "grant_type must be one of client_credentials"),
        (lambda: token_responses(min_expires_in=0), "need 1 <= min_expires_in <= max_expires_in"),
        (lambda: error_responses("fancy"), "style must be one of classic, modern or None"),  # type: ignore[arg-type]
        (lambda: valid_token_requests("client-id"), "client must be a pytest_lwa.Client"),  # type: ignore[arg-type]
        (lambda: invalid_token_requests(Client("x", "y", scopes=())), "needs at least one scope"),
    ],
)
def test_arguments_are_checked(make: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        make()  # type: ignore[operator]


def test_plugin_never_imports_strategies(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_plain(lwa_server):
            assert "pytest_lwa.strategies" not in sys.modules
        """
    )
    pytester.runpytest_subprocess("-p", "no:hypothesispytest").assert_outcomes(passed=1)
