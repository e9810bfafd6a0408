"""A website's "Login with Amazon" button on Amazon's JavaScript SDK, in Chromium: the mock's stand-in for the
SDK (docs/contract.md N14) loaded by the site of ``examples/sdk_site.py``, served on its own origin, in popup
and redirect mode, Allow and Cancel, a voluntary scope unticked (N16), the implicit grant refused (N4), a
single-page app's PKCE exchange and profile call through CORS (N15, N3), a page from an origin that is not
allowed, and the same site through ``lwa_proxy`` with the SDK at Amazon's own URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from helpers import example

from pytest_lwa import LwaServer

pytest.importorskip("flask", reason="the site of examples/sdk_site.py is a Flask app: pip install flask")
from chromium import HANG, By, chromium, click, needs_chromium, on_page, static_site
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def sdk_site() -> ModuleType:
    return example("sdk_site")


@contextlib.contextmanager
def shop(
    server: LwaServer, module: ModuleType, *, sdk_url: str, api: str, allowed: bool = True, **http: Any
) -> Iterator[tuple[str, Any]]:
    """The example site on its own origin, registered with ``server`` as the security profile "Example shop":
    its ``/handle_login`` a return URL, and its origin allowed (else only another one is)."""
    site = module.Site(client_id="", client_secret="", sdk_url=sdk_url, api=api)
    for name, value in http.items():
        setattr(site.http, name, value)
    with module.serve(module.create_app(site)) as url:
        client = server.add_client(
            name="Example shop",
            redirect_uris=[url + "/handle_login"],
            allowed_origins=[url if allowed else "https://shop.example.com"],
        )
        site.client_id, site.client_secret = client.client_id, client.client_secret
        yield url, site


@pytest.fixture
def site(lwa_server: LwaServer, sdk_site: ModuleType) -> Iterator[tuple[str, Any]]:
    with shop(lwa_server, sdk_site, sdk_url=lwa_server.url + "/sdk/na/login1.js", api=lwa_server.url) as found:
        yield found


def fresh(driver: Any) -> None:
    """Leave one window, and no cookie for ``127.0.0.1`` (a browser keeps cookies by host, not port: every
    site of these tests shares them, the SDK's PKCE and token cookies too)."""
    main, *others = driver.window_handles
    for handle in others:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(main)
    driver.delete_all_cookies()


def load(driver: Any, url: str) -> None:
    """Open ``url`` with no cookies left from elsewhere, and wait until the SDK has loaded and the page's
    ``onAmazonLoginReady`` has run."""
    driver.get(url)
    fresh(driver)
    WebDriverWait(driver, HANG).until(
        lambda d: d.execute_script("return !!(window.amazon && amazon.Login.getClientId())")
    )


@contextlib.contextmanager
def popup(driver: Any, act: Callable[[], object]) -> Iterator[None]:
    """Do what opens the SDK's popup, work in the popup for the ``with`` block, then wait until it has closed
    and go back to the page that opened it."""
    main = driver.current_window_handle
    act()
    WebDriverWait(driver, HANG).until(lambda d: len(d.window_handles) == 2)
    (opened,) = set(driver.window_handles) - {main}
    driver.switch_to.window(opened)
    yield
    WebDriverWait(driver, HANG).until(lambda d: len(d.window_handles) == 1)
    driver.switch_to.window(main)


def closes_itself(driver: Any, css: str) -> Callable[[], object]:
    """Click what makes the popup close itself (the consent page's buttons)."""
    return driver.find_element(By.CSS_SELECTOR, css).click


def wait_heading(driver: Any, text: str) -> None:
    WebDriverWait(driver, HANG).until(
        lambda d: d.execute_script("var h = document.querySelector('h1'); return h && h.textContent") == text
    )


@pytest.mark.parametrize(
    ("decision", "shown"),
    [("allow", "Hello Test Customer"), ("cancel", "Not signed in: access_denied")],
    ids=["allow", "cancel"],
)
def test_the_button_signs_in_through_the_popup(
    browser: Any, lwa_server: LwaServer, site: tuple[str, Any], decision: str, shown: str
) -> None:
    url, shop_site = site
    lwa_server.configure(interactive_consent=True)
    load(browser, url + "/")
    with popup(browser, browser.find_element(By.ID, "LoginWithAmazon").click):
        on_page(browser, "Sign in with Amazon to Example shop")  # the security profile's name (N19)
        closes_itself(browser, f"button[value={decision}]")()
    wait_heading(browser, shown)
    if decision == "allow":
        assert browser.find_element(By.ID, "scope").text == "profile postal_code"
        assert list(shop_site.customers) == [lwa_server.default_user.user_id]
    else:
        assert shop_site.customers == {}
    paths = [(r.method, r.path) for r in lwa_server.request_log]
    assert paths[0] == ("GET", "/sdk/na/login1.js")
    assert ("GET", "/ap/oa/popup") in paths  # the popup's answer came back through the relay page


def test_the_popup_lets_the_customer_untick_a_voluntary_scope(
    browser: Any, lwa_server: LwaServer, site: tuple[str, Any]
) -> None:
    url, _ = site
    lwa_server.configure(interactive_consent=True)
    load(browser, url + "/")
    with popup(browser, browser.find_element(By.ID, "LoginWithAmazon").click):
        on_page(browser, "Sign in with Amazon to Example shop")
        browser.find_element(By.CSS_SELECTOR, "label[for=lwa-keep-1]").click()  # postal_code, voluntary
        closes_itself(browser, "button[value=allow]")()
    wait_heading(browser, "Hello Test Customer")
    assert browser.find_element(By.ID, "scope").text == "profile"  # what the site's server sees (N16)
    assert (lwa_server.consents[-1].requested, lwa_server.consents[-1].scope) == ("profile postal_code", "profile")


@pytest.mark.parametrize(
    ("decision", "shown"),
    [("allow", "Hello Test Customer"), ("cancel", "Not signed in: access_denied")],
    ids=["allow", "cancel"],
)
def test_the_button_signs_in_by_redirecting_the_page(
    browser: Any, lwa_server: LwaServer, site: tuple[str, Any], decision: str, shown: str
) -> None:
    url, _ = site
    lwa_server.configure(interactive_consent=True)
    load(browser, url + "/?popup=false")
    click(browser, "#LoginWithAmazon")
    on_page(browser, "Sign in with Amazon to Example shop")
    assert len(browser.window_handles) == 1  # no popup
    click(browser, f"button[value={decision}]")
    on_page(browser, shown)
    assert browser.current_url.startswith(url + "/handle_login?")
    authorize = next(r for r in lwa_server.request_log if r.path == "/ap/oa")
    assert authorize.params["redirect_uri"] == url + "/handle_login"  # an Allowed Return URL, not the relay


def test_the_implicit_grant_fails_as_amazon_s_does(browser: Any, lwa_server: LwaServer, site: tuple[str, Any]) -> None:
    """``response_type=token``, the SDK's default, is refused since 2021 (N4): the page gets the error."""
    url, _ = site
    load(browser, url + "/?response_type=token")
    browser.find_element(By.ID, "LoginWithAmazon").click()  # automatic consent: the popup closes by itself
    wait_heading(browser, "Not signed in: unsupported_response_type")


def test_a_single_page_app_signs_in_with_pkce_in_the_browser(
    browser: Any, lwa_server: LwaServer, site: tuple[str, Any]
) -> None:
    url, _ = site
    load(browser, url + "/spa")
    browser.find_element(By.ID, "LoginWithAmazon").click()  # automatic consent: the popup closes by itself
    WebDriverWait(browser, HANG).until(lambda d: d.find_element(By.ID, "status").text)
    assert browser.find_element(By.ID, "status").text == "Hello Test Customer"
    (token,) = [r for r in lwa_server.request_log if r.path == "/auth/o2/token"]
    assert token.headers["Origin"] == url  # sent by the page, through CORS (N15)
    assert "client_secret" not in token.params
    assert token.params["code_verifier"]
    assert set(token.answer) == {"access_token", "token_type", "expires_in"}  # no refresh token (N3)
    assert [r.method for r in lwa_server.request_log if r.path == "/user/profile"] == ["OPTIONS", "GET"]
    authorize = next(r for r in lwa_server.request_log if r.path == "/ap/oa")
    assert authorize.params["code_challenge_method"] == "S256"


def test_a_page_whose_origin_is_not_allowed_gets_amazon_s_error_in_the_popup(
    browser: Any, lwa_server: LwaServer, sdk_site: ModuleType
) -> None:
    sdk_url = lwa_server.url + "/sdk/na/login1.js"
    with shop(lwa_server, sdk_site, sdk_url=sdk_url, api=lwa_server.url, allowed=False) as (url, _):
        load(browser, url + "/spa")
        main = browser.current_window_handle
        browser.find_element(By.ID, "LoginWithAmazon").click()
        WebDriverWait(browser, HANG).until(lambda d: len(d.window_handles) == 2)
        (opened,) = set(browser.window_handles) - {main}
        browser.switch_to.window(opened)
        wait_heading(browser, "We're sorry!")
        assert "The domain on which you are using the JavaScript SDK has not been whitelisted." in (
            browser.find_element(By.TAG_NAME, "main").text
        )
        browser.close()
        browser.switch_to.window(main)
        assert browser.find_element(By.ID, "status").text == ""  # the page heard nothing
    (authorize,) = [r for r in lwa_server.request_log if r.path == "/ap/oa"]
    assert (authorize.status, "not an Allowed Origin" in (authorize.reason or "")) == (400, True)


@pytest.fixture(scope="module")
def proxied_browser(tmp_path_factory: pytest.TempPathFactory, lwa_proxy_session_server: LwaServer) -> Iterator[Any]:
    """A Chromium whose requests for Amazon's hosts go through the mock's proxy (loopback ones go direct, as
    Chromium always sends them), trusting the certificates the proxy presents."""
    flags = (f"--proxy-server={lwa_proxy_session_server.proxy_url}", "--ignore-certificate-errors")
    with chromium(Path(tmp_path_factory.mktemp("chromium")), *flags) as driver:
        yield driver


def test_the_site_works_through_the_proxy_with_the_sdk_at_amazon_s_url(
    proxied_browser: Any, lwa_proxy: LwaServer, sdk_site: ModuleType
) -> None:
    # the site's server reaches the API through the proxy too (trust_env off: the environment's CA bundle
    # would otherwise win over the session's)
    http = {"proxies": {"https": lwa_proxy.proxy_url}, "verify": lwa_proxy.ca_bundle, "trust_env": False}
    amazon = "https://assets.loginwithamazon.com/sdk/na/login1.js"
    with shop(lwa_proxy, sdk_site, sdk_url=amazon, api="https://api.amazon.com", **http) as (url, _):
        load(proxied_browser, url + "/")
        proxied_browser.find_element(By.ID, "LoginWithAmazon").click()
        wait_heading(proxied_browser, "Hello Test Customer")
        load(proxied_browser, url + "/spa")
        proxied_browser.find_element(By.ID, "LoginWithAmazon").click()
        WebDriverWait(proxied_browser, HANG).until(lambda d: d.find_element(By.ID, "status").text)
        assert proxied_browser.find_element(By.ID, "status").text == "Hello Test Customer"
    hosts = [(r.host, r.path) for r in lwa_proxy.request_log if r.method != "OPTIONS"]
    assert hosts[:2] == [("assets.loginwithamazon.com", "/sdk/na/login1.js"), ("www.amazon.com", "/ap/oa")]
    assert ("www.amazon.com", "/ap/oa/popup") in hosts
    assert ("api.amazon.com", "/auth/o2/token") in hosts
    assert ("api.amazon.com", "/user/profile") in hosts


#: a bare page with the SDK and nothing else: the tests below drive ``amazon.Login`` from Selenium
BARE = """<!DOCTYPE html><html lang="en"><title>bare</title><body><div id="amazon-root"></div>
<script>window.onAmazonLoginReady = function () { window.ready = typeof amazon.Login.authorize; };</script>
<script src="{sdk}"></script></body></html>"""

#: run the SDK call in ``arguments[0]`` (a function body that calls ``done``) and answer what it passed
CALL = "const done = arguments[arguments.length - 1]; new Function('done', arguments[0])(done);"


@pytest.fixture
def bare(lwa_server: LwaServer, browser: Any) -> Iterator[tuple[str, Any]]:
    """A bare page on its own origin, the SDK loaded, and a client allowing that origin."""
    with static_site(BARE.replace("{sdk}", lwa_server.url + "/sdk/na/login1.js")) as url:
        client = lwa_server.add_client(allowed_origins=[url])
        browser.get(url + "/")
        fresh(browser)
        WebDriverWait(browser, HANG).until(lambda d: d.execute_script("return window.ready"))
        yield url, client


def run(driver: Any, body: str) -> Any:
    return driver.execute_async_script(CALL, body)


def test_the_sdk_calls_on_amazon_login_ready_and_checks_its_arguments(
    browser: Any, lwa_server: LwaServer, bare: tuple[str, Any]
) -> None:
    assert browser.execute_script("return window.ready") == "function"
    assert browser.execute_script("return amazon.Login.getClientId()") is None
    thrown = """try { amazon.Login.authorize({scope: 'profile'}, function () {}); done('no error'); }
                catch (e) { done(e.message); }"""
    assert run(browser, thrown) == "amazon.Login.authorize: call amazon.Login.setClientId(clientId) first"
    browser.execute_script("amazon.Login.setClientId(arguments[0])", bare[1].client_id)
    assert browser.execute_script("return amazon.Login.getClientId()") == bare[1].client_id
    for call, message in [
        ("amazon.Login.authorize({}, function () {})", "options.scope is required: a string, or an array of strings"),
        ("amazon.Login.authorize({scope: 'profile', popup: false}, function () {})",
         "with popup: false, next must be the redirect URL (one of the security profile's Allowed Return URLs)"),
        ("amazon.Login.authorize({scope: 'profile', interactive: 'sometimes'})",
         "options.interactive is 'auto', 'always' or 'never', not \"sometimes\""),
        ("amazon.Login.setRegion('Mars')",
         "the region is one of amazon.Login.Region's: NorthAmerica, Europe, AsiaPacific"),
    ]:  # fmt: skip
        assert run(browser, f"try {{ {call}; done('no error'); }} catch (e) {{ done(e.message); }}") == (
            call.split("(")[0] + ": " + message
        )
    assert [r.path for r in lwa_server.request_log] == ["/sdk/na/login1.js"]  # nothing reached the mock


def test_interactive_never_answers_invalid_grant_without_a_window(
    browser: Any, lwa_server: LwaServer, bare: Any
) -> None:
    browser.execute_script("amazon.Login.setClientId(arguments[0])", bare[1].client_id)
    never = """var request = amazon.Login.authorize({scope: 'profile', interactive: 'never'}, function (r) {
                 done([r.status, r.error, r.error_description, r === request]); });"""
    assert run(browser, never) == ["complete", "invalid_grant", "No cached token: interactive is 'never'", True]
    assert len(browser.window_handles) == 1
    assert [r.path for r in lwa_server.request_log] == ["/sdk/na/login1.js"]


def test_authorize_sends_what_the_options_and_settings_say(browser: Any, lwa_server: LwaServer, bare: Any) -> None:
    url, client = bare
    browser.execute_script("amazon.Login.setClientId(arguments[0])", client.client_id)
    popup_code = """amazon.Login.setSandboxMode(true);
      amazon.Login.setRegion(amazon.Login.Region.Europe);
      var request = amazon.Login.authorize({scope: ['profile', 'postal_code'], state: 7, response_type: 'code',
        scope_data: {postal_code: {essential: false}}});
      var first = request.status;
      request.onComplete(function (r) {
        r.onComplete(function (again) {  // after completion: called at once
          done([first, Object.keys(JSON.parse(JSON.stringify(again))).sort(), again.code.length, again.scope,
                again.state]);
        });
      });"""
    assert run(browser, popup_code) == [
        "in_progress",
        ["code", "scope", "state", "status"],  # what a page logging the answer sees: the answer alone
        20,
        "profile postal_code",
        "7",
    ]
    (authorize,) = [r for r in lwa_server.request_log if r.path == "/ap/oa"]
    assert authorize.params == {
        "client_id": client.client_id,
        "scope": "profile postal_code",
        "response_type": "code",
        "state": "7",
        "scope_data": '{"postal_code":{"essential":false}}',
        "sandbox": "true",
        "redirect_uri": f"{lwa_server.url}/ap/oa/popup?uri={quote(url + '/', safe='')}",
    }


def test_the_token_kept_in_a_cookie_serves_retrieve_profile_until_logout(
    browser: Any, lwa_server: LwaServer, bare: Any
) -> None:
    browser.execute_script("amazon.Login.setClientId(arguments[0]); amazon.Login.setUseCookie(true)", bare[1].client_id)
    missing = "amazon.Login.retrieveToken('C0DE', function (t) { done([t.error, t.error_description]); });"
    assert run(browser, missing) == [
        "invalid_request",
        "No PKCE verifier on this site: call amazon.Login.authorize({pkce: true, ...}) on this domain first,"
        " with cookies enabled",
    ]
    sign_in = """amazon.Login.authorize({scope: 'profile', pkce: true}, function (r) {
      amazon.Login.retrieveToken(r.code, function (t) { done([t.token_type, document.cookie.indexOf(
        'amazon_Login_accessToken=' + encodeURIComponent(t.access_token)) >= 0]); }); });"""
    assert run(browser, sign_in) == ["bearer", True]
    profile = "amazon.Login.retrieveProfile(function (p) { done([p.success, p.profile]); });"
    user = lwa_server.default_user
    assert run(browser, profile) == [True, {"CustomerId": user.user_id, "Name": user.name, "PrimaryEmail": user.email}]
    browser.execute_script("amazon.Login.logout()")
    assert "amazon_Login_accessToken" not in browser.execute_script("return document.cookie")
    assert run(browser, "amazon.Login.retrieveProfile(function (p) { done([p.success, p.error]); });") == [
        False,
        "invalid_grant",
    ]
    refused = "amazon.Login.retrieveProfile('Atza|not-ours', function (p) { done([p.success, p.error]); });"
    assert run(browser, refused) == [False, "invalid_token"]
    # a token no Authorization header can carry: the mock's answer for a token not its own, not a hint at CORS
    before = len(lwa_server.request_log)
    unsendable = "amazon.Login.retrieveProfile('Atza|\\u20ac\\n', function (p) { done(p); });"
    assert run(browser, unsendable) == {
        "success": False,
        "error": "invalid_token",
        "error_description": "The request has an invalid parameter : access_token",
    }
    assert len(lwa_server.request_log) == before  # nothing sent


def test_a_request_no_url_can_carry_is_refused_never_left_in_progress(
    browser: Any, lwa_server: LwaServer, bare: Any
) -> None:
    """A lone surrogate (which ``encodeURIComponent`` refuses) in an option throws, naming the option, and
    opens nothing; in anything else the request completes with ``invalid_request`` and its popup closes, rather
    than staying ``in_progress`` beside a blank window."""
    browser.execute_script("amazon.Login.setClientId(arguments[0])", bare[1].client_id)
    for option in ["state: '\\uD800'", "scope: 'profile \\uDC00'", "scope_data: '\\uD800'"]:
        call = f"amazon.Login.authorize({{scope: 'profile', response_type: 'code', {option}}}, function () {{}})"
        name = option.split(":")[0]
        assert run(browser, f"try {{ {call}; done('no error'); }} catch (e) {{ done(e.message); }}") == (
            f"amazon.Login.authorize: options.{name} is not well-formed Unicode (a lone surrogate): no URL can carry it"
        )
    assert len(browser.window_handles) == 1
    browser.execute_script("amazon.Login.setClientId('\\uD800')")
    lone = """var request = amazon.Login.authorize({scope: 'profile', response_type: 'code'},
                function (r) { done([r.status, r.error, r.error_description]); });
              window.setTimeout(function () { done([request.status]); }, 2000);  // the callback never came"""
    assert run(browser, lone) == ["complete", "invalid_request", "The request cannot be sent: URI malformed"]
    WebDriverWait(browser, HANG).until(lambda d: len(d.window_handles) == 1)
    assert [r.path for r in lwa_server.request_log] == ["/sdk/na/login1.js"]


def test_a_second_click_supersedes_the_first_request_s_popup(browser: Any, lwa_server: LwaServer, bare: Any) -> None:
    """A second ``authorize`` while the popup is still open (a double click) reuses the popup: only the second
    request hears its answer; the first, superseded, is left ``in_progress`` as a closed popup leaves it, so the
    page does not get one code twice (the second redemption of a code fails)."""
    lwa_server.configure(interactive_consent=True)
    browser.execute_script("amazon.Login.setClientId(arguments[0])", bare[1].client_id)
    twice = """window.heard = [];
      window.first = amazon.Login.authorize({scope: 'profile', response_type: 'code', state: 'one'},
        function (r) { window.heard.push(['one', r.state]); });
      amazon.Login.authorize({scope: 'profile', response_type: 'code', state: 'two'},
        function (r) { window.heard.push(['two', r.state]); });"""
    with popup(browser, lambda: browser.execute_script(twice)):
        WebDriverWait(browser, HANG).until(lambda d: "state=two" in d.current_url)  # the second request's page
        WebDriverWait(browser, HANG).until(lambda d: d.find_elements(By.CSS_SELECTOR, "button[value=allow]"))
        closes_itself(browser, "button[value=allow]")()
    WebDriverWait(browser, HANG).until(lambda d: d.execute_script("return window.heard.length"))
    assert browser.execute_script("return [window.heard, window.first.status]") == [[["two", "two"]], "in_progress"]
