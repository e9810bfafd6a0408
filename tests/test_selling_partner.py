"""Seller Central's part of the SP-API authorization workflows, walked over HTTP as a browser walks them:
every redirect followed by hand, the test playing the application's website in between."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers import token_request

from pytest_lwa import LwaServer, SellingPartnerApp

LOGIN = "https://app.example/amazon/login"
REDIRECT = "https://app.example/amazon/callback"
HTML = "text/html;charset=UTF-8"


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def get(url: str, **params: str) -> requests.Response:
    return requests.get(url, params=params, allow_redirects=False, timeout=5)


@pytest.fixture
def app(lwa_server: LwaServer) -> SellingPartnerApp:
    return lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[REDIRECT, REDIRECT + "2"], published=True)


def start(server: LwaServer, app: SellingPartnerApp, **extra: str) -> requests.Response:
    return get(server.url + "/apps/authorize/consent", application_id=app.application_id, state="website-1", **extra)


def to_login(server: LwaServer, app: SellingPartnerApp, **extra: str) -> dict[str, str]:
    """Steps 3-5: the Authorize button, Seller Central's consent, the redirect to the log-in URI."""
    r = start(server, app, **extra)
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    assert location.startswith(LOGIN + "?")
    return query(location)


def exchange(server: LwaServer, app: SellingPartnerApp, code: str) -> requests.Response:
    client = next(c for c in server.clients if c.client_id == app.client_id)
    return token_request(server, client, "authorization_code", code=code)


def assert_page(r: requests.Response, status: int, *texts: str) -> None:
    assert (r.status_code, r.headers["Content-Type"]) == (status, HTML), r.text
    assert "Location" not in r.headers  # a failure never redirects
    for text in texts:
        assert text in r.text


def assert_failure(
    server: LwaServer, r: requests.Response, status: int, message: str, code: str | None, reason: str
) -> None:
    """Seller Central's error page: exactly this message and code, and the reason in the request log."""
    assert_page(r, status)
    assert re.findall(r'<p role="alert">(.*?)</p>', r.text) == [html.escape(message)]
    assert re.findall(r"Error code: <strong>(.*?)</strong>", r.text) == ([code] if code else [])
    assert server.request_log[-1].reason == reason


def test_website_workflow_ends_with_a_refresh_token_that_refreshes(
    lwa_server: LwaServer, app: SellingPartnerApp
) -> None:
    partner = lwa_server.default_selling_partner
    login = to_login(lwa_server, app)
    assert list(login) == ["amazon_callback_uri", "amazon_state", "selling_partner_id"]
    assert login["selling_partner_id"] == partner.selling_partner_id
    assert login["amazon_callback_uri"] == f"{lwa_server.url}/apps/authorize/confirm/{app.application_id}"
    # step 7: the app, having signed the seller in, sends them to the callback with its own state
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="app-2", redirect_uri=REDIRECT)
    assert r.status_code == 302
    back = r.headers["Location"]
    assert back.startswith(REDIRECT + "?")
    answer = query(back)
    assert list(answer) == ["state", "selling_partner_id", "spapi_oauth_code"]
    assert (answer["state"], answer["selling_partner_id"]) == ("app-2", partner.selling_partner_id)
    # step 9: the code for a refresh token, which refreshes
    tokens = exchange(lwa_server, app, answer["spapi_oauth_code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert list(body) == ["access_token", "refresh_token", "token_type", "expires_in"]
    assert body["refresh_token"].startswith("Atzr|")
    assert body["access_token"].startswith("Atza|")
    client = next(c for c in lwa_server.clients if c.client_id == app.client_id)
    refreshed = token_request(lwa_server, client, "refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    claims = lwa_server.verify(refreshed.json()["access_token"])
    assert (claims.user_id, claims.client_id, claims.scope) == (partner.selling_partner_id, app.client_id, "")


def test_without_redirect_uri_the_first_registered_one_is_used(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    login = to_login(lwa_server, app)
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s")
    assert urlsplit(r.headers["Location"])._replace(query="").geturl() == REDIRECT


def test_the_code_works_once_for_five_minutes(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    first = lwa_server.issue_spapi_code(app)
    assert exchange(lwa_server, app, first).status_code == 200
    again = exchange(lwa_server, app, first)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    late = lwa_server.issue_spapi_code(app)
    lwa_server.clock.advance(300)
    assert exchange(lwa_server, app, late).json()["error"] == "invalid_grant"


def test_unknown_application(lwa_server: LwaServer) -> None:
    r = get(lwa_server.url + "/apps/authorize/consent", application_id="amzn1.sp.solution.nope", state="s")
    assert_failure(
        lwa_server, r, 404, "This application is not available.", None,
        "application_id 'amzn1.sp.solution.nope' is not registered (registered: none); add_sp_application()"
        " registers one",
    )  # fmt: skip


def test_a_draft_needs_version_beta_md1000(lwa_server: LwaServer) -> None:
    draft = lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[REDIRECT])
    assert draft.application_id.startswith("amzn1.sp.solution.")
    assert not draft.published
    reason = (
        f"application {draft.application_id!r} is a draft: add version=beta to the authorization URI and to the"
        " Amazon callback URI, or register it with published=True"
    )
    draft_message = "The application is in draft status and cannot be authorized without version=beta."
    assert_failure(lwa_server, start(lwa_server, draft), 400, draft_message, "MD1000", reason)
    login = to_login(lwa_server, draft, version="beta")
    # the app must add version=beta to the callback too
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s")
    assert_failure(lwa_server, r, 400, draft_message, "MD1000", reason)
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s", version="beta")
    assert r.status_code == 302
    assert "spapi_oauth_code=" in r.headers["Location"]


@pytest.mark.parametrize("tamper", ["missing", "unknown", "reused", "expired", "other app"])
def test_amazon_state_must_be_the_one_given(lwa_server: LwaServer, app: SellingPartnerApp, tamper: str) -> None:
    login = to_login(lwa_server, app)
    state = {"missing": "", "unknown": "forged"}.get(tamper, login["amazon_state"])
    callback = login["amazon_callback_uri"]
    if tamper == "reused":
        assert get(callback, amazon_state=state, state="s").status_code == 302
    if tamper == "expired":
        lwa_server.clock.advance(600)
    if tamper == "other app":
        other = lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[REDIRECT], published=True)
        callback = callback.replace(app.application_id, other.application_id)
    r = get(callback, amazon_state=state, state="s")
    why = (
        "missing"
        if tamper == "missing"
        else "not one this server gave (or used, expired after 600 s, or another app's)"
    )
    assert_failure(
        lwa_server, r, 400, "The authorization request is invalid or has expired. Please start again.", None,
        f"amazon_state is {why}: send back the amazon_state the log-in URI received, once",
    )  # fmt: skip


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("https://evil.example/", id="another-site"),
        pytest.param(REDIRECT + "/x", id="a-registered-uri-extended"),  # matched exactly, never by prefix
        pytest.param(REDIRECT + "?next=https://evil.example/", id="a-registered-uri-with-a-query"),
        pytest.param(REDIRECT[:-1], id="a-prefix-of-a-registered-uri"),
        pytest.param(REDIRECT.upper(), id="another-case"),
    ],
)
def test_unregistered_redirect_uri_md5101(lwa_server: LwaServer, app: SellingPartnerApp, given: str) -> None:
    login = to_login(lwa_server, app)
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s", redirect_uri=given)
    assert_failure(
        lwa_server, r, 400, "The redirect URI does not match the application's registered redirect URIs.", "MD5101",
        f"redirect_uri {given!r} is not registered for application {app.application_id!r} (registered:"
        f" {REDIRECT!r}, {REDIRECT + '2'!r}); add_sp_application(redirect_uris=[...]) registers it",
    )  # fmt: skip
    # the workflow is still live: the registered URI itself goes through
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s", redirect_uri=REDIRECT + "2")
    assert (r.status_code, urlsplit(r.headers["Location"])._replace(query="").geturl()) == (302, REDIRECT + "2")


def test_redirect_uri_with_a_fragment_md5110(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    login = to_login(lwa_server, app)
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s", redirect_uri=REDIRECT + "#x")
    assert_failure(
        lwa_server, r, 400, "The redirect URI must not contain a fragment.", "MD5110",
        f"redirect_uri {REDIRECT + '#x'!r} contains a fragment (#), which OAuth forbids",
    )  # fmt: skip


@pytest.mark.parametrize("where", ["authorization URI", "callback"])
def test_state_is_required(lwa_server: LwaServer, app: SellingPartnerApp, where: str) -> None:
    if where == "authorization URI":
        r = get(lwa_server.url + "/apps/authorize/consent", application_id=app.application_id)
    else:
        login = to_login(lwa_server, app)
        r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"])
    reason = {
        "authorization URI": "the authorization URI has no state: the website workflow requires one (the app checks"
        " it on return)",
        "callback": "the callback has no state: the app must send one with amazon_state (it comes back with the code)",
    }[where]
    assert_failure(lwa_server, r, 400, "The authorization request is missing its state.", None, reason)


def test_the_seller_declines(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    lwa_server.set_seller_consent(granted=False)
    r = start(lwa_server, app)
    assert_page(r, 200, f"<h1>You did not authorize {app.name}</h1>")
    partner = lwa_server.default_selling_partner.selling_partner_id
    assert lwa_server.request_log[-1].reason == f"{partner} cancelled on Seller Central's consent page"


def test_another_selling_partner_signs_in(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    vendor = lwa_server.add_selling_partner("AVENDOR0000001", name="Vendor Inc")
    lwa_server.set_seller_consent(vendor)
    assert to_login(lwa_server, app)["selling_partner_id"] == "AVENDOR0000001"


def test_appstore_workflow(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    r = get(f"{lwa_server.url}/selling-partner-appstore/dp/{app.application_id}")
    assert r.status_code == 302
    login = query(r.headers["Location"])
    assert list(login) == ["amazon_callback_uri", "amazon_state", "selling_partner_id"]
    # the seller consents at the callback, in this workflow
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="store", redirect_uri=REDIRECT)
    answer = query(r.headers["Location"])
    assert answer["state"] == "store"
    assert exchange(lwa_server, app, answer["spapi_oauth_code"]).status_code == 200


def test_appstore_workflow_declined_at_the_callback(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    login = query(get(f"{lwa_server.url}/selling-partner-appstore/dp/{app.application_id}").headers["Location"])
    lwa_server.set_seller_consent(granted=False)
    r = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s")
    assert_page(r, 200, f"<h1>You did not authorize {app.name}</h1>")
    seller = login["selling_partner_id"]
    assert lwa_server.request_log[-1].reason == f"{seller} cancelled on Seller Central's consent page"
    # the workflow has ended: its amazon_state works no more
    again = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s")
    assert again.status_code == 400


@pytest.mark.parametrize("kind", ["draft", "vendor"])
def test_appstore_lists_published_seller_apps_only(lwa_server: LwaServer, kind: str) -> None:
    app = lwa_server.add_sp_application(
        login_uri=LOGIN, redirect_uris=[REDIRECT], published=kind == "vendor", vendor=kind == "vendor"
    )
    r = get(f"{lwa_server.url}/selling-partner-appstore/dp/{app.application_id}")
    why = "a vendor application (the Appstore workflow is for seller applications)" if kind == "vendor" else "a draft"
    assert_failure(
        lwa_server, r, 404, "This application is not listed in the Selling Partner Appstore.", None,
        f"application {app.application_id!r} is {why}; test a draft through the authorization URI with version=beta",
    )  # fmt: skip


def test_registration_errors(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    with pytest.raises(ValueError, match="absolute http"):
        lwa_server.add_sp_application(login_uri="/login", redirect_uris=[REDIRECT])
    clients = len(lwa_server.clients)
    with pytest.raises(ValueError, match="already registered"):
        lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[REDIRECT], application_id=app.application_id)
    assert len(lwa_server.clients) == clients  # no client made for an application that was refused
    with pytest.raises(KeyError, match="add_selling_partner"):
        lwa_server.set_seller_consent("ANOBODY")
    with pytest.raises(KeyError, match="add_sp_application"):
        lwa_server.issue_spapi_code("amzn1.sp.solution.none")


# --- interactive consent, driven by posting the page's form ------------------------------------


def test_interactive_seller_consent(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    lwa_server.configure(interactive_consent=True)
    page = start(lwa_server, app)
    assert (page.status_code, page.headers["Content-Type"]) == (200, HTML)
    assert f"Authorize {app.name}" in page.text
    assert 'value="allow"' in page.text
    assert 'value="cancel"' in page.text
    form = {"application_id": app.application_id, "state": "website-1", "lwa_typed_account": "ATYPED00000001"}
    r = requests.post(
        lwa_server.url + "/apps/authorize/consent",
        data={**form, "lwa_decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    assert r.status_code == 302
    login = query(r.headers["Location"])
    assert login["selling_partner_id"] == "ATYPED00000001"
    # consent is given: the callback goes straight on to the redirect URI, no second page
    back = get(login["amazon_callback_uri"], amazon_state=login["amazon_state"], state="s")
    assert back.status_code == 302
    assert query(back.headers["Location"])["selling_partner_id"] == "ATYPED00000001"
    r = requests.post(
        lwa_server.url + "/apps/authorize/consent",
        data={**form, "lwa_decision": "cancel"},
        allow_redirects=False,
        timeout=5,
    )
    assert_page(r, 200, "You did not authorize")


def test_interactive_authorize_page(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(redirect_uris=[REDIRECT])
    lwa_server.configure(interactive_consent=True)
    params = {"client_id": client.client_id, "scope": "profile postal_code", "response_type": "code", "state": "x"}
    page = get(lwa_server.url + "/ap/oa", **params)
    assert (page.status_code, page.headers["Content-Type"]) == (200, HTML)
    assert "<li>profile</li>" in page.text
    assert "<li>postal_code</li>" in page.text
    assert lwa_server.default_user.user_id in page.text
    decide = lwa_server.url + "/ap/oa/consent"
    r = requests.post(decide, data={**params, "lwa_typed_account": "amzn1.account.TYPED", "lwa_decision": "allow"},
                      allow_redirects=False, timeout=5)  # fmt: skip
    answer = query(r.headers["Location"])
    assert (answer["state"], answer["scope"]) == ("x", "profile postal_code")
    tokens = requests.post(
        lwa_server.token_url,
        data={"grant_type": "authorization_code", "code": answer["code"], "client_id": client.client_id,
              "client_secret": client.client_secret},
        timeout=5,
    )  # fmt: skip
    assert lwa_server.verify(tokens.json()["access_token"]).user_id == "amzn1.account.TYPED"
    r = requests.post(decide, data={**params, "lwa_decision": "cancel"}, allow_redirects=False, timeout=5)
    assert query(r.headers["Location"]) == {
        "error": "access_denied",
        "error_description": "Access not permitted.",
        "state": "x",
    }


def test_interactive_appstore_workflow(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    lwa_server.configure(interactive_consent=True)
    seller = lwa_server.add_selling_partner("ASTORESELLER01")
    detail = f"{lwa_server.url}/selling-partner-appstore/dp/{app.application_id}"
    page = get(detail)
    assert (page.status_code, page.headers["Content-Type"]) == (200, HTML)
    assert f"{app.name} in the Appstore" in page.text
    assert "Authorize now" in page.text
    assert 'value="cancel"' not in page.text
    r = requests.post(detail, data={"lwa_account": seller.selling_partner_id, "lwa_decision": "allow"},
                      allow_redirects=False, timeout=5)  # fmt: skip
    login = query(r.headers["Location"])
    assert login["selling_partner_id"] == "ASTORESELLER01"
    # the seller consents at the callback, signed in already
    callback = {"amazon_state": login["amazon_state"], "state": "s"}
    page = get(login["amazon_callback_uri"], **callback)
    assert f"Authorize {app.name}" in page.text
    assert "Signed in as <strong>ASTORESELLER01</strong>" in page.text
    r = requests.post(login["amazon_callback_uri"], data={**callback, "lwa_decision": "allow"}, allow_redirects=False,
                      timeout=5)  # fmt: skip
    answer = query(r.headers["Location"])
    assert (answer["state"], answer["selling_partner_id"]) == ("s", "ASTORESELLER01")
    assert exchange(lwa_server, app, answer["spapi_oauth_code"]).status_code == 200
    # Cancel at the callback declines, though the seller's standing consent (set_seller_consent) is to allow
    r = requests.post(detail, data={"lwa_account": seller.selling_partner_id, "lwa_decision": "allow"},
                      allow_redirects=False, timeout=5)  # fmt: skip
    login = query(r.headers["Location"])
    r = requests.post(login["amazon_callback_uri"], data={"amazon_state": login["amazon_state"], "state": "s",
                      "lwa_decision": "cancel"}, allow_redirects=False, timeout=5)  # fmt: skip
    assert (r.status_code, "Location" in r.headers) == (200, False)
    assert f"You did not authorize {app.name}" in r.text
