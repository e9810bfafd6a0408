"""The Selling Partner website authorization workflow, end to end against a real Flask app (sp_website.py).

The test is the seller's browser: it follows every redirect by hand, between the app and the mock's Seller
Central, keeping the app's session cookie, and ends with the refresh token the app stored, which refreshes.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

pytest.importorskip("flask", reason="this example needs Flask: pip install flask")
import requests
from sp_website import Amazon, create_app, serve

from pytest_lwa import LwaServer


@pytest.fixture
def website(lwa_server: LwaServer) -> Iterator[tuple[str, Amazon]]:
    amazon = Amazon(lwa_server.url, lwa_server.url, application_id="", client_id="", client_secret="")
    with serve(create_app(amazon)) as url:
        client = lwa_server.add_client()
        app = lwa_server.add_sp_application(
            client, login_uri=url + "/amazon/login", redirect_uris=[url + "/amazon/callback"], published=True
        )
        amazon.application_id, amazon.client_id, amazon.client_secret = (
            app.application_id,
            client.client_id,
            client.client_secret,
        )
        yield url, amazon


def walk(browser: requests.Session, url: str, method: str = "GET") -> tuple[int, str]:
    """One request as a browser makes it; the status and the Location it was sent to next, if any."""
    r = browser.request(method, url, allow_redirects=False, timeout=10)
    return r.status_code, r.headers.get("Location", r.text)


def test_the_app_gets_a_refresh_token(lwa_server: LwaServer, website: tuple[str, Amazon]) -> None:
    url, amazon = website
    seller = lwa_server.add_selling_partner("A1EXAMPLESELLER", name="Example Seller")
    lwa_server.set_seller_consent(seller)
    with requests.Session() as browser:
        status, consent = walk(browser, url + "/authorize")  # the Authorize button
        assert (status, urlsplit(consent).path) == (302, "/apps/authorize/consent")
        status, login = walk(browser, consent)  # Seller Central: signed in, consented
        assert (status, urlsplit(login).path) == (302, "/amazon/login")
        assert walk(browser, login)[0] == 200  # the app's sign-in page
        status, callback = walk(browser, login, "POST")  # signed in to the app
        assert (status, urlsplit(callback).path) == (302, f"/apps/authorize/confirm/{amazon.application_id}")
        status, redirect = walk(browser, callback)  # Amazon: on to the redirect URI with the code
        assert (status, urlsplit(redirect).path) == (302, "/amazon/callback")
        status, page = walk(browser, redirect)  # the app's handler exchanged the code
        assert (status, "<h1 id='done'>Connected A1EXAMPLESELLER</h1>" in page) == (200, True)
    refreshed = requests.post(
        lwa_server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": amazon.sellers["A1EXAMPLESELLER"],
              "client_id": amazon.client_id, "client_secret": amazon.client_secret},
        timeout=10,
    )  # fmt: skip
    assert refreshed.status_code == 200
    assert lwa_server.verify(refreshed.json()["access_token"]).user_id == "A1EXAMPLESELLER"


def test_a_forged_callback_is_refused_by_the_app(lwa_server: LwaServer, website: tuple[str, Amazon]) -> None:
    url, amazon = website
    code = lwa_server.issue_spapi_code(amazon.application_id)
    with requests.Session() as browser:
        r = browser.get(f"{url}/amazon/callback?state=guess&selling_partner_id=A1&spapi_oauth_code={code}", timeout=10)
    assert r.status_code == 400
    assert amazon.sellers == {}
    lwa_server.assert_token_requests(count=0)
