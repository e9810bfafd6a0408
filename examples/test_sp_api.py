"""python-amazon-sp-api's own AccessTokenClient, unmodified, against the mock.

The library hard-codes https://api.amazon.com, so these tests use `lwa_amazon_hosts`, which sends its
LWA requests (made through httpx) to the mock. Its token caches are module-level: clear them around
every test, or one test's token leaks into the next.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

pytest.importorskip("sp_api", reason="this example needs python-amazon-sp-api: pip install python-amazon-sp-api")

from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as sp_api_auth
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base.credential_provider import CredentialProvider

from pytest_lwa import Client, LwaServer

NOTIFICATIONS = "sellingpartnerapi::notifications"


@pytest.fixture(autouse=True)
def _empty_sp_api_caches() -> Iterator[None]:
    sp_api_auth.cache.clear()
    sp_api_auth.grantless_cache.clear()
    yield
    sp_api_auth.cache.clear()
    sp_api_auth.grantless_cache.clear()


def token_client(app: Client, refresh_token: str | None = None) -> AccessTokenClient:
    credentials = CredentialProvider(
        credentials={
            "lwa_app_id": app.client_id,
            "lwa_client_secret": app.client_secret,
            "refresh_token": refresh_token,
        }
    ).credentials
    return AccessTokenClient(credentials=credentials)


def test_grantless(lwa_amazon_hosts: LwaServer) -> None:
    app = lwa_amazon_hosts.add_client(scopes=[NOTIFICATIONS])
    auth = token_client(app).get_grantless_auth(NOTIFICATIONS)
    assert auth.access_token.startswith("Atc|")
    assert (auth.token_type, auth.expires_in) == ("bearer", 3600)
    lwa_amazon_hosts.assert_token_requests(count=1, grant_type="client_credentials", scope=NOTIFICATIONS)
    # the library sends the form with a charset, as its docstring shows
    assert lwa_amazon_hosts.request_log[0].content_type == "application/x-www-form-urlencoded;charset=UTF-8"


def test_refresh_token_then_revoked(lwa_amazon_hosts: LwaServer) -> None:
    server = lwa_amazon_hosts
    app = server.add_client()
    refresh = server.issue_refresh_token(app, scopes=["profile"])
    auth = token_client(app, refresh).get_auth()
    assert auth.access_token.startswith("Atza|")
    assert auth.refresh_token == refresh

    server.revoke(refresh)  # the seller removed the app
    sp_api_auth.cache.clear()
    with pytest.raises(AuthorizationError) as caught:
        token_client(app, refresh).get_auth()
    error = caught.value
    assert (error.status_code, error.error_code, error.message) == (
        400,
        "invalid_grant",
        "The request has an invalid grant parameter : refresh_token."
        " User may have revoked or didn't grant the permission.",
    )


def test_modern_error_bodies_read_the_same(lwa_amazon_hosts: LwaServer) -> None:
    lwa_amazon_hosts.configure(body_style="modern")
    app = lwa_amazon_hosts.add_client()
    with pytest.raises(AuthorizationError) as caught:
        token_client(app, "Atzr|unknown").get_auth()
    assert (caught.value.status_code, caught.value.error_code) == (400, "invalid_grant")


def test_an_html_502_escapes_as_a_json_error(lwa_amazon_hosts: LwaServer) -> None:
    """The library parses the body before it looks at the status, so a gateway's HTML page is not an
    AuthorizationError: code calling it must catch the JSON error too."""
    lwa_amazon_hosts.respond_next(502, "<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})
    app = lwa_amazon_hosts.add_client(scopes=[NOTIFICATIONS])
    with pytest.raises(json.JSONDecodeError):
        token_client(app).get_grantless_auth(NOTIFICATIONS)
