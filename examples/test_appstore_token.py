"""An Appstore reporting client's token step, tested against the fake LWA server.

`fetch_token` is the kind of code an integration has: it posts the seed document's request and turns
LWA's error bodies into an exception.
"""

from __future__ import annotations

import pytest
import requests

from pytest_lwa import LwaServer


class LwaAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status, self.error, self.description = status, error, description


def fetch_token(token_url: str, client_id: str, client_secret: str, scope: str) -> str:
    r = requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        },
        timeout=10,
    )
    if r.status_code != 200:
        body = r.json()
        raise LwaAuthError(r.status_code, body["error"], body["error_description"])
    token: str = r.json()["access_token"]
    return token


def test_reporting_token(lwa_server: LwaServer) -> None:
    app = lwa_server.add_client(scopes=["adx_reporting::appstore:marketer"])
    token = fetch_token(lwa_server.token_url, app.client_id, app.client_secret, "adx_reporting::appstore:marketer")
    assert token.startswith("Atc|")


def test_wrong_secret(lwa_server: LwaServer) -> None:
    app = lwa_server.add_client()
    with pytest.raises(LwaAuthError) as caught:
        fetch_token(lwa_server.token_url, app.client_id, "amzn1.oa2-cs.v1.old", "appstore::apps:readwrite")
    assert (caught.value.status, caught.value.error) == (401, "invalid_client")


def test_profile_missing_the_reporting_scope(lwa_server: LwaServer) -> None:
    app = lwa_server.add_client(scopes=["appstore::apps:readwrite"])
    with pytest.raises(LwaAuthError, match="invalid_scope: The request has an invalid parameter : scope"):
        fetch_token(lwa_server.token_url, app.client_id, app.client_secret, "adx_reporting::appstore:marketer")
