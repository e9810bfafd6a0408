"""python-amazon-ad-api's AccessTokenClient (requests, hard-coded https://api.amazon.com) against the mock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("ad_api", reason="this example needs python-amazon-ad-api: pip install python-amazon-ad-api")

import ad_api.base  # noqa: F401  (first: ad_api.auth alone hits the library's own import cycle)
from ad_api.auth import access_token_client as ad_api_auth
from ad_api.auth.access_token_client import AccessTokenClient
from ad_api.auth.exceptions import AuthorizationError

from pytest_lwa import LwaServer

CAMPAIGNS = "advertising::campaign_management"


@pytest.fixture(autouse=True)
def _empty_ad_api_cache() -> Iterator[None]:
    ad_api_auth.cache.clear()
    yield
    ad_api_auth.cache.clear()


def test_refresh(lwa_amazon_hosts: LwaServer) -> None:
    app = lwa_amazon_hosts.add_client()
    refresh = lwa_amazon_hosts.issue_refresh_token(app, scopes=[CAMPAIGNS])
    credentials = {"client_id": app.client_id, "client_secret": app.client_secret, "refresh_token": refresh}
    auth = AccessTokenClient(credentials=credentials).get_auth()
    assert auth.access_token.startswith("Atza|")
    assert lwa_amazon_hosts.verify(auth.access_token, scopes=[CAMPAIGNS]).client_id == app.client_id


def test_rotated_secret(lwa_amazon_hosts: LwaServer) -> None:
    app = lwa_amazon_hosts.add_client()
    refresh = lwa_amazon_hosts.issue_refresh_token(app, scopes=[CAMPAIGNS])
    lwa_amazon_hosts.rotate_secret(app)
    lwa_amazon_hosts.retire_secret(app)  # the secret the integration still holds no longer works
    credentials = {"client_id": app.client_id, "client_secret": app.client_secret, "refresh_token": refresh}
    with pytest.raises(AuthorizationError) as caught:
        AccessTokenClient(credentials=credentials).get_auth()
    assert (caught.value.status_code, caught.value.error_code) == (401, "invalid_client")
