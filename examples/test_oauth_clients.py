"""Generic OAuth 2.0 client-credentials clients against the mock: requests-oauthlib, Authlib, httpx async.

oauthlib refuses plain http unless told otherwise, so these use `lwa_https_server` and trust its
certificate authority (`ca_bundle` for requests, `ssl_context` for httpx).
"""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("authlib", reason="this example needs authlib: pip install authlib")
pytest.importorskip("requests_oauthlib", reason="this example needs requests-oauthlib: pip install requests-oauthlib")
pytest.importorskip("httpx", reason="this example needs httpx: pip install httpx")

import httpx
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient, InvalidClientError
from requests_oauthlib import OAuth2Session

from pytest_lwa import LwaServer

SCOPE = "appstore::apps:readwrite"


def test_requests_oauthlib(lwa_https_server: LwaServer) -> None:
    app = lwa_https_server.add_client(scopes=[SCOPE])
    # oauthlib sends the scope the client (not the session) was given
    session = OAuth2Session(client=BackendApplicationClient(client_id=app.client_id, scope=[SCOPE]))
    token = session.fetch_token(
        lwa_https_server.token_url,
        client_id=app.client_id,
        client_secret=app.client_secret,
        verify=lwa_https_server.ca_bundle,
    )
    assert token["token_type"] == "bearer"
    assert token["scope"] == [SCOPE]
    lwa_https_server.verify(token["access_token"], scopes=[SCOPE])
    # oauthlib authenticates with HTTP Basic here
    lwa_https_server.assert_token_requests(count=1, auth_method="basic")


def test_requests_oauthlib_wrong_secret(lwa_https_server: LwaServer) -> None:
    app = lwa_https_server.add_client(scopes=[SCOPE])
    session = OAuth2Session(client=BackendApplicationClient(client_id=app.client_id, scope=[SCOPE]))
    with pytest.raises(InvalidClientError, match="Client authentication failed"):
        session.fetch_token(
            lwa_https_server.token_url,
            client_id=app.client_id,
            client_secret="amzn1.oa2-cs.v1.wrong",
            verify=lwa_https_server.ca_bundle,
        )


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_both_client_authentication_methods(lwa_https_server: LwaServer, method: str) -> None:
    app = lwa_https_server.add_client(scopes=[SCOPE])
    with AuthlibSession(app.client_id, app.client_secret, scope=SCOPE, token_endpoint_auth_method=method) as session:
        token = session.fetch_token(
            lwa_https_server.token_url, grant_type="client_credentials", verify=lwa_https_server.ca_bundle
        )
    assert token["access_token"].startswith("Atc|")
    expected = "basic" if method == "client_secret_basic" else "body"
    lwa_https_server.assert_token_requests(count=1, auth_method=expected, status=200)


def test_httpx_async_over_https(lwa_https_server: LwaServer) -> None:
    app = lwa_https_server.add_client(scopes=[SCOPE])

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(verify=lwa_https_server.ssl_context) as client:
            return await client.post(
                lwa_https_server.token_url,
                data={"grant_type": "client_credentials", "scope": SCOPE},
                auth=(app.client_id, app.client_secret),
            )

    response = asyncio.run(fetch())
    assert response.status_code == 200
    assert response.json()["expires_in"] == 3600


def test_plain_httpx_async_to_the_hard_coded_host(lwa_amazon_hosts: LwaServer) -> None:
    """Code that posts to https://api.amazon.com with an httpx.AsyncClient reaches the mock unchanged."""
    app = lwa_amazon_hosts.add_client(scopes=[SCOPE])
    form = {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.post("https://api.amazon.com/auth/o2/token", data=form)

    response = asyncio.run(fetch())
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
