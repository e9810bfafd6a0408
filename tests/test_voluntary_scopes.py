"""``scope_data`` and voluntary scopes at ``/ap/oa`` (docs/contract.md N16): the customer may untick a scope
marked ``"essential": false`` (and any Data Portability one), and the code, the redirect and the tokens carry
only what was granted."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers import token_request

from pytest_lwa import Client, Consent, LwaServer

REDIRECT = "https://app.example.com/callback"
VOLUNTARY_POSTAL = json.dumps({"profile": {"essential": True}, "postal_code": {"essential": False}})
AVS = {"alexa:all": {"productID": "x", "productInstanceAttributes": {"deviceSerialNumber": "1"}}}


@pytest.fixture
def app(lwa_server: LwaServer) -> Client:
    return lwa_server.add_client(redirect_uris=[REDIRECT], scopes=["alexa:all", "portability::customer_profile"])


def authorize(server: LwaServer, app: Client, scope: str, **params: str) -> dict[str, str]:
    query = {"client_id": app.client_id, "scope": scope, "response_type": "code", "state": "s", **params}
    r = requests.get(server.url + "/ap/oa", params=query, allow_redirects=False, timeout=5)
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    assert location.split("?")[0] == REDIRECT
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def profile(server: LwaServer, app: Client, code: str) -> dict[str, Any]:
    r = token_request(server, app, "authorization_code", code=code)
    assert r.status_code == 200, r.text
    body = requests.get(server.url + "/user/profile", params={"access_token": r.json()["access_token"]}, timeout=5)
    result: dict[str, Any] = body.json()
    return result


def test_every_scope_is_granted_by_default(lwa_server: LwaServer, app: Client) -> None:
    got = authorize(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    assert (got["scope"], got["state"]) == ("profile postal_code", "s")
    assert "postal_code" in profile(lwa_server, app, got["code"])


def test_an_unticked_voluntary_scope_is_not_granted(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.set_consent(grant_scopes=["profile"])
    got = authorize(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    assert list(got) == ["code", "scope", "state"]
    assert got["scope"] == "profile"
    user = lwa_server.default_user
    assert profile(lwa_server, app, got["code"]) == {"user_id": user.user_id, "name": user.name, "email": user.email}
    assert lwa_server.consents == [
        Consent(app.client_id, user.user_id, "profile postal_code", "profile", json.loads(VOLUNTARY_POSTAL))
    ]


def test_a_consent_record_after_a_login(lwa_server: LwaServer, app: Client) -> None:
    """``Consent`` is a public name: what a test reads in ``server.consents`` after a customer signs in."""
    import dataclasses

    import pytest_lwa
    from pytest_lwa import stores

    assert pytest_lwa.Consent is stores.Consent
    assert "Consent" in pytest_lwa.__all__
    lwa_server.set_consent(grant_scopes=[])
    got = authorize(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    [record] = lwa_server.consents
    assert isinstance(record, Consent)
    assert [f.name for f in dataclasses.fields(Consent)] == ["client_id", "user_id", "requested", "scope", "scope_data"]
    assert (record.client_id, record.user_id) == (app.client_id, lwa_server.default_user.user_id)
    assert (record.requested, record.scope, got["scope"]) == ("profile postal_code", "profile", "profile")
    assert record.scope_data == {"profile": {"essential": True}, "postal_code": {"essential": False}}
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.scope = "profile postal_code"  # type: ignore[misc]


def test_an_essential_scope_is_granted_even_if_not_named(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.set_consent(grant_scopes=[])
    # profile is essential (no "essential": false), postal_code is not named in scope_data: both essential
    got = authorize(lwa_server, app, "profile postal_code", scope_data='{"profile":{}}')
    assert got["scope"] == "profile postal_code"


def test_the_refresh_token_keeps_the_narrower_scope(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.set_consent(grant_scopes=[])
    got = authorize(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    tokens = token_request(lwa_server, app, "authorization_code", code=got["code"]).json()
    again = token_request(lwa_server, app, "refresh_token", refresh_token=tokens["refresh_token"]).json()
    body = requests.get(lwa_server.url + "/user/profile", params={"access_token": again["access_token"]}, timeout=5)
    assert "postal_code" not in body.json()


def test_avs_product_attributes_are_kept_with_the_grant(lwa_server: LwaServer, app: Client) -> None:
    got = authorize(lwa_server, app, "alexa:all", scope_data=json.dumps(AVS))
    assert got["scope"] == "alexa:all"
    [consent] = lwa_server.consents
    assert (consent.scope, consent.scope_data) == ("alexa:all", AVS)
    assert consent.scope_data["alexa:all"]["productInstanceAttributes"] == {"deviceSerialNumber": "1"}


def test_a_data_portability_scope_is_voluntary_without_scope_data(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.set_consent(grant_scopes=["portability::customer_profile"])
    got = authorize(lwa_server, app, "portability::customer_profile portability::advertising_insights")
    assert got["scope"] == "portability::customer_profile"


def test_at_least_one_data_portability_scope_must_stay_ticked(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.set_consent(grant_scopes=["profile"])
    got = authorize(lwa_server, app, "profile portability::customer_profile")
    assert got == {"error": "access_denied", "error_description": "Access not permitted.", "state": "s"}
    assert lwa_server.consents == []


@pytest.mark.parametrize(
    "scope_data",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param('["profile"]', id="array"),
        pytest.param('"profile"', id="string"),
    ],
)
def test_malformed_scope_data_is_an_invalid_request(lwa_server: LwaServer, app: Client, scope_data: str) -> None:
    got = authorize(lwa_server, app, "profile", scope_data=scope_data)
    assert got == {"error": "invalid_request", "error_description": "Malformed request", "state": "s"}
    assert lwa_server.consents == []


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        pytest.param("profile", TypeError, r"grant_scopes must be a list of strings, e\.g\. \['profile'\]", id="str"),
        pytest.param([""], ValueError, "each of grant_scopes must be a non-empty string without spaces", id="empty"),
    ],
)
def test_set_consent_refuses_bad_grant_scopes(
    lwa_server: LwaServer, value: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        lwa_server.set_consent(grant_scopes=value)


def test_reset_forgets_grant_scopes_and_consents(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.set_consent(grant_scopes=[])
    authorize(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    lwa_server.reset()
    assert lwa_server.consents == []
    app = lwa_server.add_client(redirect_uris=[REDIRECT])
    got = authorize(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    assert got["scope"] == "profile postal_code"


# --- the consent page ----------------------------------------------------------------------------

PORTABILITY = "portability::customer_profile portability::advertising_insights"


def page_request(server: LwaServer, app: Client, scope: str, **params: str) -> dict[str, str]:
    return {"client_id": app.client_id, "scope": scope, "response_type": "code", "state": "s", **params}


def decide(server: LwaServer, asked: dict[str, str], **form: str) -> requests.Response:
    data = {**asked, "lwa_decision": "allow", **form}
    return requests.post(server.url + "/ap/oa/consent", data=data, allow_redirects=False, timeout=5)


def query(r: requests.Response) -> dict[str, str]:
    assert r.status_code == 302, r.text
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}


@pytest.mark.lwa(interactive_consent=True)
def test_the_page_offers_voluntary_scopes_as_ticked_checkboxes(lwa_server: LwaServer, app: Client) -> None:
    asked = page_request(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    page = requests.get(lwa_server.url + "/ap/oa", params=asked, timeout=5)
    assert page.status_code == 200
    assert (
        '<ul aria-labelledby="lwa-access">\n<li>profile</li>\n<li><input type="checkbox" id="lwa-keep-1"'
        ' name="lwa_keep:postal_code" value="on" checked><label for="lwa-keep-1">postal_code</label></li>\n</ul>'
    ) in page.text
    assert '<input type="hidden" name="scope_data" value="{&quot;profile&quot;: {&quot;essential' in page.text
    assert "<script" not in page.text
    assert 'role="alert"' not in page.text


@pytest.mark.lwa(interactive_consent=True)
def test_unticking_a_voluntary_scope_narrows_the_grant(lwa_server: LwaServer, app: Client) -> None:
    asked = page_request(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    got = query(decide(lwa_server, asked))  # the checkbox unticked: the browser sends no lwa_keep:postal_code
    assert list(got) == ["code", "scope", "state"]
    assert (got["scope"], got["state"]) == ("profile", "s")
    assert "postal_code" not in profile(lwa_server, app, got["code"])
    [consent] = lwa_server.consents
    assert (consent.requested, consent.scope) == ("profile postal_code", "profile")


@pytest.mark.lwa(interactive_consent=True)
def test_a_ticked_voluntary_scope_is_granted(lwa_server: LwaServer, app: Client) -> None:
    asked = page_request(lwa_server, app, "profile postal_code", scope_data=VOLUNTARY_POSTAL)
    got = query(decide(lwa_server, asked, **{"lwa_keep:postal_code": "on"}))
    assert got["scope"] == "profile postal_code"
    assert "postal_code" in profile(lwa_server, app, got["code"])


@pytest.mark.lwa(interactive_consent=True)
def test_the_page_insists_on_one_data_portability_scope(lwa_server: LwaServer, app: Client) -> None:
    asked = page_request(lwa_server, app, PORTABILITY)
    again = decide(lwa_server, asked)
    assert again.status_code == 200
    assert (
        '<p role="alert">Keep at least one Data Portability permission ticked, or press Cancel.</p>\n<form'
    ) in again.text
    assert (
        '<li><input type="checkbox" id="lwa-keep-0" name="lwa_keep:portability::customer_profile" value="on">'
        '<label for="lwa-keep-0">portability::customer_profile</label></li>'
    ) in again.text
    assert lwa_server.consents == []
    assert lwa_server.request_log[-1].reason == "at least one Data Portability (portability::) scope must stay ticked"
    got = query(decide(lwa_server, asked, **{"lwa_keep:portability::advertising_insights": "on"}))
    assert got["scope"] == "portability::advertising_insights"
    cancelled = query(decide(lwa_server, asked, lwa_decision="cancel"))
    assert cancelled == {"error": "access_denied", "error_description": "Access not permitted.", "state": "s"}


@pytest.mark.lwa(interactive_consent=True)
def test_the_page_is_not_shown_for_malformed_scope_data(lwa_server: LwaServer, app: Client) -> None:
    asked = page_request(lwa_server, app, "profile", scope_data="[]")
    r = requests.get(lwa_server.url + "/ap/oa", params=asked, allow_redirects=False, timeout=5)
    assert query(r) == {"error": "invalid_request", "error_description": "Malformed request", "state": "s"}
