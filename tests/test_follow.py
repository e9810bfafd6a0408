"""``LwaServer.follow``: an authorization URL a library built for Amazon, followed as a browser would."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from pytest_lwa import LwaServer

CALLBACK = "https://app.example/callback"


def authorize_url(host: str, client_id: str, **extra: str) -> str:
    query = {"client_id": client_id, "scope": "profile", "response_type": "code", "redirect_uri": CALLBACK}
    return f"https://{host}/ap/oa?" + urlencode({**query, "state": "s-1", **extra})


@pytest.mark.parametrize(
    "host",
    [
        "www.amazon.com",
        "www.amazon.co.uk",
        "www.amazon.co.jp",
        "www.amazon.de",
        "eu.account.amazon.com",  # Amazon Ads' regional sign-in hosts (docs/contract.md N18)
        "apac.account.amazon.com",
    ],
)
def test_an_amazon_sign_in_url_comes_back_with_a_code(lwa_server: LwaServer, host: str) -> None:
    app = lwa_server.add_client(redirect_uris=[CALLBACK])
    back = lwa_server.follow(authorize_url(host, app.client_id))
    assert back.startswith(CALLBACK + "?")
    query = parse_qs(urlsplit(back).query)
    assert query["state"] == ["s-1"]
    form = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": CALLBACK,
            "client_id": app.client_id, "client_secret": app.client_secret}  # fmt: skip
    assert requests.post(lwa_server.token_url, data=form, timeout=5).json()["token_type"] == "bearer"
    (authorize, _) = lwa_server.request_log
    assert (authorize.host, authorize.path) == (host, "/ap/oa")


def test_a_declined_consent_comes_back_with_the_error(lwa_server: LwaServer) -> None:
    app = lwa_server.add_client(redirect_uris=[CALLBACK])
    lwa_server.set_consent(granted=False)
    back = lwa_server.follow(authorize_url("www.amazon.com", app.client_id))
    assert parse_qs(urlsplit(back).query) == {
        "error": ["access_denied"],
        "error_description": ["Access not permitted."],
        "state": ["s-1"],
    }


def test_a_url_on_the_server_itself_is_followed_too(lwa_server: LwaServer) -> None:
    app = lwa_server.add_client(redirect_uris=[CALLBACK])
    url = authorize_url("x", app.client_id).replace("https://x", lwa_server.url)
    assert "code" in parse_qs(urlsplit(lwa_server.follow(url)).query)


def test_any_other_url_is_returned_as_it_is(lwa_server: LwaServer) -> None:
    assert lwa_server.follow("https://app.example/login?x=1") == "https://app.example/login?x=1"
    assert lwa_server.request_log == []


def test_an_error_page_raises_with_what_the_server_answered(lwa_server: LwaServer) -> None:
    app = lwa_server.add_client(redirect_uris=[CALLBACK])
    url = authorize_url("www.amazon.com", app.client_id, redirect_uri="https://elsewhere.example/cb")
    with pytest.raises(AssertionError, match=r"answered 400 Bad Request, not a redirect:\n") as raised:
        lwa_server.follow(url)
    assert "redirect_uri" in str(raised.value)


@pytest.mark.lwa(interactive_consent=True)
def test_a_page_for_a_person_raises_saying_so(lwa_server: LwaServer) -> None:
    app = lwa_server.add_client(redirect_uris=[CALLBACK])
    with pytest.raises(AssertionError, match=r"answered 200 OK, not a redirect \(a page for a person"):
        lwa_server.follow(authorize_url("www.amazon.com", app.client_id))


def test_seller_central_sends_the_browser_to_the_applications_log_in_page(lwa_server: LwaServer) -> None:
    login = "https://app.example/login"
    sp_app = lwa_server.add_sp_application(login_uri=login, redirect_uris=[CALLBACK], published=True)
    url = "https://sellercentral.amazon.com/apps/authorize/consent?" + urlencode(
        {"application_id": sp_app.application_id, "state": "s-2"}
    )
    back = urlsplit(lwa_server.follow(url))
    assert f"{back.scheme}://{back.netloc}{back.path}" == login
    callback = urlsplit(parse_qs(back.query)["amazon_callback_uri"][0])
    assert (callback.scheme, callback.netloc, callback.path) == (
        "https",
        "sellercentral.amazon.com",
        f"/apps/authorize/confirm/{sp_app.application_id}",
    )


def test_over_https(lwa_https_server: LwaServer) -> None:
    app = lwa_https_server.add_client(redirect_uris=[CALLBACK])
    assert "code" in parse_qs(urlsplit(lwa_https_server.follow(authorize_url("www.amazon.com", app.client_id))).query)
