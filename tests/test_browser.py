"""The browser half in a real browser: headless Chromium, driven by Selenium through ChromeDriver, walks the
Selling Partner website workflow and the ``/ap/oa`` code + PKCE flow with interactive consent, against the
Flask app of ``examples/sp_website.py``, Cancel included, and one page by keyboard alone.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); without them every test here
is skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from helpers import example, token_request

from pytest_lwa import LwaServer

pytest.importorskip(
    "flask", reason="the browser tests drive the Flask app of examples/sp_website.py: pip install flask"
)
from chromium import (
    By,
    assert_labelled,
    click,
    navigate,
    needs_chromium,
    on_page,
    static_site,
    webdriver,
)
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def website_module() -> ModuleType:
    return example("sp_website")


@pytest.fixture
def website(lwa_server: LwaServer, website_module: ModuleType) -> Iterator[tuple[str, Any]]:
    """The example app, registered with the mock as an SP-API application and an LWA client, and the mock
    showing its sign-in and consent pages."""
    amazon = website_module.Amazon(lwa_server.url, lwa_server.url, application_id="", client_id="", client_secret="")
    with website_module.serve(website_module.create_app(amazon)) as url:
        client = lwa_server.add_client(
            redirect_uris=[url + "/lwa/callback"],
            name="Example seller tool website",
            description="Signs sellers in",
            privacy_notice_url=url + "/privacy",
        )
        app = lwa_server.add_sp_application(
            client,
            login_uri=url + "/amazon/login",
            redirect_uris=[url + "/amazon/callback"],
            name="Example seller tool",
        )
        amazon.application_id, amazon.client_id, amazon.client_secret = (
            app.application_id,
            client.client_id,
            client.client_secret,
        )
        amazon.beta = True  # a draft application, tested with version=beta as Amazon asks
        lwa_server.configure(interactive_consent=True)
        yield url, amazon


def test_website_workflow(browser: Any, lwa_server: LwaServer, website: tuple[str, Any]) -> None:
    url, amazon = website
    lwa_server.add_selling_partner("A2CHROMESELLER", name="Chrome Seller")
    browser.get(url + "/")
    click(browser, "#authorize")
    on_page(browser, "Authorize Example seller tool")  # the mock's Seller Central consent page
    assert_labelled(browser)
    Select(browser.find_element(By.ID, "lwa-account")).select_by_value("A2CHROMESELLER")
    click(browser, "button[value=allow]")
    on_page(browser, "Sign in to Example seller tool")  # the app's log-in URI
    click(browser, "#sign-in")
    on_page(browser, "Connected A2CHROMESELLER")  # the app's redirect URI handler
    refresh_token = amazon.sellers["A2CHROMESELLER"]
    answer = token_request(lwa_server, None, "refresh_token", refresh_token=refresh_token,
                           client_id=amazon.client_id, client_secret=amazon.client_secret)  # fmt: skip
    assert answer.status_code == 200
    assert lwa_server.verify(answer.json()["access_token"]).user_id == "A2CHROMESELLER"


def test_website_workflow_cancelled(browser: Any, lwa_server: LwaServer, website: tuple[str, Any]) -> None:
    url, amazon = website
    browser.get(url + "/")
    click(browser, "#authorize")
    on_page(browser, "Authorize Example seller tool")
    click(browser, "button[value=cancel]")
    on_page(browser, "You did not authorize Example seller tool")
    assert browser.current_url.startswith(lwa_server.url + "/apps/authorize/consent")  # no redirect
    assert amazon.sellers == {}


def test_login_with_amazon_code_and_pkce_by_keyboard(
    browser: Any, lwa_server: LwaServer, website: tuple[str, Any]
) -> None:
    url, amazon = website
    browser.get(url + "/lwa/login")
    on_page(browser, "Sign in with Amazon to Example seller tool website")  # the security profile's name (N19)
    privacy = browser.find_element(By.ID, "lwa-privacy")
    assert (privacy.text, privacy.get_attribute("href")) == (
        "Example seller tool website's privacy notice",
        url + "/privacy",
    )
    assert [item.text for item in browser.find_elements(By.CSS_SELECTOR, "ul li")] == ["profile"]
    assert_labelled(browser)
    keys = webdriver.ActionChains(browser)
    keys.send_keys(Keys.TAB, Keys.TAB, "amzn1.account.KEYBOARD", Keys.TAB).perform()  # the account list, the field
    assert browser.switch_to.active_element.get_attribute("value") == "allow"
    navigate(browser, keys.send_keys(Keys.ENTER).perform)
    on_page(browser, "Hello Test Customer")
    assert list(amazon.customers) == ["amzn1.account.KEYBOARD"]
    lwa_server.assert_token_requests(count=1, grant_type="authorization_code")


def test_login_with_amazon_cancelled(browser: Any, lwa_server: LwaServer, website: tuple[str, Any]) -> None:
    url, amazon = website
    browser.get(url + "/lwa/login")
    on_page(browser, "Sign in with Amazon to Example seller tool website")
    click(browser, "button[value=cancel]")
    on_page(browser, "Not signed in: access_denied")
    assert amazon.customers == {}


def test_a_long_unbroken_name_wraps_on_a_narrow_screen(browser: Any, lwa_server: LwaServer) -> None:
    long_name = "amzn1.application-oa2-client." + "a" * 96  # no space to break at
    client = lwa_server.add_client(redirect_uris=["https://app.example.com/cb"], name=long_name)
    lwa_server.configure(interactive_consent=True)
    browser.set_window_size(360, 640)
    try:
        browser.get(f"{lwa_server.url}/ap/oa?client_id={client.client_id}&scope=profile&response_type=code")
        on_page(browser, f"Sign in with Amazon to {long_name}")
        widths = "const h = document.querySelector('h1'); return [h.scrollWidth, h.clientWidth, innerWidth]"
        scroll, client_width, window = browser.execute_script(widths)
        assert scroll <= client_width <= window  # the heading wraps inside the page, nothing scrolls sideways
        assert browser.execute_script("return document.documentElement.scrollWidth <= innerWidth")
    finally:
        browser.set_window_size(1280, 800)


#: a page's script calling the profile endpoint: it reports the user id, or the browser's refusal
FETCH_PROFILE = """
const [url, token, done] = arguments;
fetch(url, {headers: {Authorization: "Bearer " + token}})
  .then((r) => r.json()).then((body) => done(body.user_id), (error) => done("refused: " + error.name));
"""


def test_a_page_calls_the_api_from_its_allowed_origin_only(browser: Any, lwa_server: LwaServer) -> None:
    """The preflight (an Authorization header) and the request pass for an Allowed Origin (N15); from any
    other origin the browser itself refuses the answer, as it would Amazon's."""
    with static_site("<!DOCTYPE html><title>site</title>") as allowed, static_site("<title>x</title>") as other:
        client = lwa_server.add_client(allowed_origins=[allowed])
        refresh = lwa_server.issue_refresh_token(client, scopes=["profile"])
        access = token_request(lwa_server, client, "refresh_token", refresh_token=refresh).json()["access_token"]
        lwa_server.clear_log()
        browser.get(allowed + "/")
        assert browser.execute_async_script(FETCH_PROFILE, lwa_server.url + "/user/profile", access) == (
            lwa_server.default_user.user_id
        )
        assert [r.method for r in lwa_server.request_log] == ["OPTIONS", "GET"]
        browser.get(other + "/")
        assert browser.execute_async_script(FETCH_PROFILE, lwa_server.url + "/user/profile", access) == (
            "refused: TypeError"
        )
        assert "no client's Allowed Origin" in (lwa_server.request_log[-1].reason or "")


#: a page's script calling the profile endpoint: it reports the answer's status and error, or the refusal
FETCH_STATUS = """
const [url, token, done] = arguments;
fetch(url, {headers: {Authorization: "Bearer " + token}})
  .then((r) => r.json().then((body) => done([r.status, body.error || null])), (error) => done(["refused", error.name]));
"""


def test_a_page_sees_the_fault_it_was_sent(browser: Any, lwa_server: LwaServer) -> None:
    """The fault answers the page's request, not the browser's preflight before it (which a fault's answer
    without CORS headers would fail, leaving the page a network error), and carries the CORS header."""
    with static_site("<!DOCTYPE html><title>site</title>") as site:  # a new origin: no preflight cached
        client = lwa_server.add_client(allowed_origins=[site])
        refresh = lwa_server.issue_refresh_token(client, scopes=["profile"])
        access = token_request(lwa_server, client, "refresh_token", refresh_token=refresh).json()["access_token"]
        fault = lwa_server.fail_next("temporarily_unavailable", path="/user/profile")
        lwa_server.clear_log()
        browser.get(site + "/")
        answer = browser.execute_async_script(FETCH_STATUS, lwa_server.url + "/user/profile", access)
    assert answer == [503, "temporarily_unavailable"]
    assert [(r.method, r.status, r.fault) for r in lwa_server.request_log] == [
        ("OPTIONS", 200, None),
        ("GET", 503, "503 temporarily_unavailable on /user/profile, fired 1 of 1"),
    ]
    assert fault.fired == 1


def test_a_voluntary_scope_unticked_in_the_browser(browser: Any, lwa_server: LwaServer) -> None:
    lwa_server.configure(interactive_consent=True)
    with static_site("<!DOCTYPE html><title>back</title><h1>Back on the site</h1>") as site:
        client = lwa_server.add_client(redirect_uris=[site + "/cb"])
        asked = {
            "client_id": client.client_id,
            "scope": "profile postal_code",
            "response_type": "code",
            "scope_data": '{"postal_code":{"essential":false}}',
        }
        browser.get(f"{lwa_server.url}/ap/oa?{urlencode(asked)}")
        on_page(browser, "Sign in with Amazon to Test Application")
        assert_labelled(browser)
        browser.find_element(By.CSS_SELECTOR, "label[for=lwa-keep-1]").click()  # the label unticks its box
        assert not browser.find_element(By.ID, "lwa-keep-1").is_selected()
        click(browser, "button[value=allow]")
        on_page(browser, "Back on the site")
        back = urlsplit(browser.current_url)
    assert parse_qs(back.query)["scope"] == ["profile"]
    assert lwa_server.consents[-1].scope == "profile"
