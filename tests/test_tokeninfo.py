"""GET /auth/o2/tokeninfo: what an API checks a bearer token with."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from helpers import INVALID_TOKEN, MALFORMED, missing

from pytest_lwa import Client, LwaServer

TokenRequest = Callable[..., requests.Response]


def tokeninfo(server: LwaServer, **params: str) -> requests.Response:
    return requests.get(server.tokeninfo_url, params=params, timeout=5)


def test_live_token(lwa_server: LwaServer, client: Client, token_request: TokenRequest) -> None:
    issued_at = int(lwa_server.clock.now())
    token = token_request().json()["access_token"]
    r = tokeninfo(lwa_server, access_token=token)
    assert r.status_code == 200
    assert r.json() == {
        "aud": client.client_id,
        "iss": "https://www.amazon.com",
        "exp": 3600,
        "app_id": client.app_id,
        "iat": issued_at,
    }
    assert list(r.json()) == ["aud", "iss", "exp", "app_id", "iat"]
    assert client.app_id.startswith("amzn1.application.")
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_exp_is_seconds_remaining_on_the_server_clock(lwa_server: LwaServer, token_request: TokenRequest) -> None:
    token = token_request().json()["access_token"]
    lwa_server.clock.advance(1000)
    assert tokeninfo(lwa_server, access_token=token).json()["exp"] == 2600
    lwa_server.clock.advance(2599.5)
    assert tokeninfo(lwa_server, access_token=token).json()["exp"] == 1


def test_token_expires_after_expires_in(lwa_server: LwaServer, token_request: TokenRequest) -> None:
    token = token_request().json()["access_token"]
    lwa_server.clock.advance(3600)
    r = tokeninfo(lwa_server, access_token=token)
    assert (r.status_code, r.content) == (400, INVALID_TOKEN)


def test_expiry_follows_the_expires_in_setting(lwa_server: LwaServer, token_request: TokenRequest) -> None:
    lwa_server.configure(expires_in=60)
    token = token_request().json()["access_token"]
    lwa_server.clock.advance(59)
    assert tokeninfo(lwa_server, access_token=token).json()["exp"] == 1
    lwa_server.clock.advance(1)
    assert tokeninfo(lwa_server, access_token=token).status_code == 400


@pytest.mark.parametrize(
    "token",
    ["Atc|nonsense", "Atza|", "not-a-token", "Atc|" + "A" * 400, "Atzr|abc"],
)
def test_unknown_token(lwa_server: LwaServer, token: str) -> None:
    r = tokeninfo(lwa_server, access_token=token)
    assert (r.status_code, r.content) == (400, INVALID_TOKEN)


def test_altered_token_is_unknown(lwa_server: LwaServer, token_request: TokenRequest) -> None:
    token = token_request().json()["access_token"]
    for altered in (token + "A", token[:-1], token[:10] + ("B" if token[10] != "B" else "C") + token[11:]):
        assert tokeninfo(lwa_server, access_token=altered).content == INVALID_TOKEN


def test_token_from_before_a_reset_is_unknown(lwa_server: LwaServer, token_request: TokenRequest) -> None:
    token = token_request().json()["access_token"]
    lwa_server.reset()
    assert tokeninfo(lwa_server, access_token=token).content == INVALID_TOKEN


def test_missing_access_token(lwa_server: LwaServer) -> None:
    r = tokeninfo(lwa_server)
    assert (r.status_code, r.content) == (400, missing("access_token"))


def test_duplicate_access_token_is_malformed(lwa_server: LwaServer) -> None:
    r = requests.get(lwa_server.tokeninfo_url + "?access_token=a&access_token=b", timeout=5)
    assert (r.status_code, r.content) == (400, MALFORMED)


def test_post_is_not_allowed(lwa_server: LwaServer) -> None:
    r = requests.post(lwa_server.tokeninfo_url, timeout=5)
    assert (r.status_code, r.headers["Allow"]) == (405, "GET")
