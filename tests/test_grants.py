"""Every LWA grant end to end over HTTP: refresh tokens, authorization codes with PKCE, device codes."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers import INVALID_CLIENT, INVALID_TOKEN, missing, token_request

from pytest_lwa import Client, LwaServer, pkce_challenge

INVALID_REFRESH = (  # docs/contract.md R4
    b'{"error_description":"The request has an invalid grant parameter : refresh_token.'
    b' User may have revoked or didn\'t grant the permission.","error":"invalid_grant"}'
)
INVALID_CODE = b'{"error_description":"The request has an invalid grant parameter : code","error":"invalid_grant"}'
UNAUTHORIZED = b'{"error_description":"Not authorized for requested operation","error":"unauthorized_client"}'
PENDING = b'{"error_description":"The user has not yet approved the code pair","error":"authorization_pending"}'
SLOW_DOWN = b'{"error_description":"The client is polling faster than the interval allows","error":"slow_down"}'
INVALID_PAIR = b'{"error_description":"The code pair is unknown or has expired","error":"invalid_code_pair"}'
DENIED = b'{"error_description":"Access not permitted.","error":"access_denied"}'  # R22
REDIRECT = "https://app.example.com/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def refresh(server: LwaServer, client: Client, token: str) -> requests.Response:
    return token_request(server, client, "refresh_token", refresh_token=token)


def assert_user_tokens(r: requests.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert list(body) == ["access_token", "refresh_token", "token_type", "expires_in"]
    assert re.fullmatch(r"Atza\|[A-Za-z0-9_-]{345,}", body["access_token"])
    assert body["refresh_token"].startswith("Atzr|")
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    assert r.headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    return body


@pytest.fixture
def app(lwa_server: LwaServer) -> Client:
    return lwa_server.add_client(redirect_uris=[REDIRECT])


# --- refresh tokens ------------------------------------------------------------------------------


def test_refresh_gives_a_user_token_and_the_same_refresh_token(lwa_server: LwaServer, app: Client) -> None:
    token = lwa_server.issue_refresh_token(app, scopes=["profile"])
    body = assert_user_tokens(refresh(lwa_server, app, token))
    assert body["refresh_token"] == token
    info = requests.get(lwa_server.tokeninfo_url, params={"access_token": body["access_token"]}, timeout=5).json()
    assert list(info) == ["aud", "user_id", "iss", "exp", "app_id", "iat"]
    assert (info["aud"], info["user_id"]) == (app.client_id, lwa_server.default_user.user_id)
    assert lwa_server.default_user.user_id.startswith("amzn1.account.")


def test_revoked_refresh_token(lwa_server: LwaServer, app: Client) -> None:
    token = lwa_server.issue_refresh_token(app, scopes=["profile"])
    assert refresh(lwa_server, app, token).status_code == 200
    lwa_server.revoke(token)
    r = refresh(lwa_server, app, token)
    assert (r.status_code, r.content) == (400, INVALID_REFRESH)


def test_refresh_tokens_do_not_expire(lwa_server: LwaServer, app: Client) -> None:
    token = lwa_server.issue_refresh_token(app)
    lwa_server.clock.advance(10 * 365 * 86400)
    assert refresh(lwa_server, app, token).status_code == 200


@pytest.mark.parametrize("kind", ["other-client", "unknown", "access-token", "pre-reset-lookalike"])
def test_refresh_token_not_this_clients(lwa_server: LwaServer, app: Client, kind: str) -> None:
    other = lwa_server.add_client()
    if kind == "other-client":
        token = lwa_server.issue_refresh_token(other)
    elif kind == "unknown":
        token = "Atzr|IwEBIA-not-a-real-one"
    elif kind == "access-token":
        token = assert_user_tokens(refresh(lwa_server, app, lwa_server.issue_refresh_token(app)))["access_token"]
    else:
        token = lwa_server.issue_refresh_token(app) + "x"
    r = refresh(lwa_server, app, token)
    assert (r.status_code, r.content) == (400, INVALID_REFRESH)


def test_rotation_setting(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.configure(rotate_refresh_tokens=True)
    first = lwa_server.issue_refresh_token(app)
    second = assert_user_tokens(refresh(lwa_server, app, first))["refresh_token"]
    assert second != first
    claims = lwa_server.authority.claims(second)  # the new token carries the old one's grant
    assert claims is not None
    assert (claims.scope, claims.user_id, claims.public) == (
        "profile",
        lwa_server.authority.default_user.user_id,
        False,
    )
    assert refresh(lwa_server, app, first).content == INVALID_REFRESH
    assert assert_user_tokens(refresh(lwa_server, app, second))["refresh_token"] != second


def test_refresh_checks_the_client_before_the_token(lwa_server: LwaServer, app: Client) -> None:
    r = token_request(lwa_server, app, "refresh_token", refresh_token="nonsense", client_secret="wrong")
    assert (r.status_code, r.content) == (401, INVALID_CLIENT)
    r = token_request(lwa_server, app, "refresh_token")
    assert (r.status_code, r.content) == (400, missing("refresh_token"))


def test_refresh_with_basic_auth(lwa_server: LwaServer, app: Client) -> None:
    token = lwa_server.issue_refresh_token(app)
    r = requests.post(
        lwa_server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(app.client_id, app.client_secret),
        timeout=5,
    )
    assert_user_tokens(r)


def test_invalid_grant_in_modern_style(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.configure(body_style="modern")
    body = refresh(lwa_server, app, "Atzr|gone").json()
    assert list(body) == ["error_index", "error_description", "error", "request_id"]
    assert (body["error"], body["error_description"]) == (
        "invalid_grant",
        "The request has an invalid grant parameter : refresh_token."
        " User may have revoked or didn't grant the permission.",
    )


def test_revoke_rejects_what_it_did_not_issue(lwa_server: LwaServer) -> None:
    with pytest.raises(ValueError, match="not a token this server issued"):
        lwa_server.revoke("Atzr|made-up")


def test_revoked_access_token_fails_tokeninfo(lwa_server: LwaServer, app: Client) -> None:
    access = assert_user_tokens(refresh(lwa_server, app, lwa_server.issue_refresh_token(app)))["access_token"]
    lwa_server.revoke(access)
    r = requests.get(lwa_server.tokeninfo_url, params={"access_token": access}, timeout=5)
    assert r.content == INVALID_TOKEN


# --- authorization code --------------------------------------------------------------------------


def authorize(server: LwaServer, **params: str) -> requests.Response:
    return requests.get(server.url + "/ap/oa", params=params, allow_redirects=False, timeout=5)


def redirect_params(r: requests.Response, base: str = REDIRECT) -> dict[str, str]:
    assert r.status_code == 302, r.text
    location = r.headers["Location"]
    assert location.split("?")[0] == base
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def redeem(server: LwaServer, client: Client, code: str, **extra: str | None) -> requests.Response:
    return token_request(server, client, "authorization_code", code=code, **extra)


def test_browser_flow(lwa_server: LwaServer, app: Client) -> None:
    r = authorize(
        lwa_server, client_id=app.client_id, scope="profile postal_code", response_type="code",
        redirect_uri=REDIRECT, state="xyz 1",
    )  # fmt: skip
    got = redirect_params(r)
    assert list(got) == ["code", "scope", "state"]
    assert (got["scope"], got["state"]) == ("profile postal_code", "xyz 1")
    assert re.fullmatch(r"[A-Za-z]{20}", got["code"])
    tokens = assert_user_tokens(redeem(lwa_server, app, got["code"], redirect_uri=REDIRECT))
    profile = requests.get(
        lwa_server.url + "/user/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=5
    )
    user = lwa_server.default_user
    assert profile.json() == {
        "user_id": user.user_id,
        "name": user.name,
        "email": user.email,
        "postal_code": user.postal_code,
    }
    # the refresh token from the code works like any other
    assert_user_tokens(refresh(lwa_server, app, tokens["refresh_token"]))


def test_code_works_once(lwa_server: LwaServer, app: Client) -> None:
    code = lwa_server.issue_authorization_code(app, redirect_uri=REDIRECT)
    assert_user_tokens(redeem(lwa_server, app, code, redirect_uri=REDIRECT))
    r = redeem(lwa_server, app, code, redirect_uri=REDIRECT)
    assert (r.status_code, r.content) == (400, INVALID_CODE)


def test_code_lives_five_minutes(lwa_server: LwaServer, app: Client) -> None:
    fresh = lwa_server.issue_authorization_code(app)
    stale = lwa_server.issue_authorization_code(app)
    lwa_server.clock.advance(299)
    assert_user_tokens(redeem(lwa_server, app, fresh))
    lwa_server.clock.advance(1)
    assert redeem(lwa_server, app, stale).content == INVALID_CODE


@pytest.mark.parametrize(
    ("issued", "presented"),
    [
        pytest.param(REDIRECT, "https://app.example.com/other", id="wrong-redirect"),
        pytest.param(REDIRECT, None, id="missing-redirect"),
        pytest.param(REDIRECT, REDIRECT + "/", id="trailing-slash"),
    ],
)
def test_redirect_uri_must_match(lwa_server: LwaServer, app: Client, issued: str, presented: str | None) -> None:
    code = lwa_server.issue_authorization_code(app, redirect_uri=issued)
    assert redeem(lwa_server, app, code, redirect_uri=presented).content == INVALID_CODE
    # a failed attempt does not use the code up
    assert_user_tokens(redeem(lwa_server, app, code, redirect_uri=issued))


def test_another_clients_code(lwa_server: LwaServer, app: Client) -> None:
    other = lwa_server.add_client()
    code = lwa_server.issue_authorization_code(other)
    assert redeem(lwa_server, app, code).content == INVALID_CODE
    assert redeem(lwa_server, app, "ANdNAVhyhqirUelHGEHA").content == INVALID_CODE


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_pkce(lwa_server: LwaServer, app: Client, method: str) -> None:
    r = authorize(
        lwa_server, client_id=app.client_id, scope="profile", response_type="code", redirect_uri=REDIRECT,
        code_challenge=pkce_challenge(VERIFIER, method), code_challenge_method=method,
    )  # fmt: skip
    code = redirect_params(r)["code"]
    assert redeem(lwa_server, app, code, redirect_uri=REDIRECT).content == INVALID_CODE  # no verifier
    assert redeem(lwa_server, app, code, redirect_uri=REDIRECT, code_verifier=VERIFIER[:-1] + "A").content == (
        INVALID_CODE
    )
    assert redeem(lwa_server, app, code, redirect_uri=REDIRECT, code_verifier="short").content == INVALID_CODE
    assert_user_tokens(redeem(lwa_server, app, code, redirect_uri=REDIRECT, code_verifier=VERIFIER))


def test_pkce_known_vector() -> None:
    # RFC 7636 appendix B
    assert pkce_challenge(VERIFIER) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_public_client_with_pkce_may_omit_its_secret(lwa_server: LwaServer, app: Client) -> None:
    code = lwa_server.issue_authorization_code(app, code_challenge=pkce_challenge(VERIFIER))
    r = redeem(lwa_server, app, code, client_secret=None, code_verifier=VERIFIER)
    assert (r.status_code, list(r.json())) == (200, ["access_token", "token_type", "expires_in"])  # N3: no refresh


def test_secret_required_without_pkce(lwa_server: LwaServer, app: Client) -> None:
    code = lwa_server.issue_authorization_code(app)
    r = redeem(lwa_server, app, code, client_secret=None)
    assert (r.status_code, r.content) == (401, INVALID_CLIENT)


def test_wrong_secret_with_pkce_is_still_invalid_client(lwa_server: LwaServer, app: Client) -> None:
    code = lwa_server.issue_authorization_code(app, code_challenge=pkce_challenge(VERIFIER))
    r = redeem(lwa_server, app, code, client_secret="wrong", code_verifier=VERIFIER)
    assert (r.status_code, r.content) == (401, INVALID_CLIENT)


def test_authorize_without_redirect_uri_uses_the_only_registered_one(lwa_server: LwaServer, app: Client) -> None:
    code = redirect_params(authorize(lwa_server, client_id=app.client_id, scope="profile", response_type="code"))[
        "code"
    ]
    assert_user_tokens(redeem(lwa_server, app, code))  # no redirect_uri needed at the token endpoint


def test_redirect_keeps_the_uris_own_query(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(redirect_uris=[REDIRECT + "?tenant=7"])
    r = authorize(
        lwa_server,
        client_id=client.client_id,
        scope="profile",
        response_type="code",
        redirect_uri=REDIRECT + "?tenant=7",
    )
    got = redirect_params(r)
    assert got["tenant"] == "7"
    assert "code" in got


@pytest.mark.parametrize(
    ("params", "error"),
    [
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="response-type"),
        pytest.param({"scope": "profile nonsense"}, "invalid_scope", id="scope"),
        pytest.param({"scope": ""}, "invalid_request", id="no-scope"),
        pytest.param({"code_challenge": "abc", "code_challenge_method": "S512"}, "invalid_request", id="pkce-method"),
        pytest.param({"code_challenge_method": "S256"}, "invalid_request", id="method-without-challenge"),
    ],
)
def test_authorize_errors_go_to_the_redirect_uri(
    lwa_server: LwaServer, app: Client, params: dict[str, str], error: str
) -> None:
    query = {"client_id": app.client_id, "scope": "profile", "response_type": "code", "redirect_uri": REDIRECT}
    got = redirect_params(authorize(lwa_server, **{**query, **params, "state": "s1"}))
    assert (got["error"], got["state"]) == (error, "s1")
    assert got["error_description"]
    assert "code" not in got


def test_user_denies_consent(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.set_consent(granted=False)
    r = authorize(lwa_server, client_id=app.client_id, scope="profile", response_type="code", state="s")
    assert redirect_params(r) == {
        "error": "access_denied",
        "error_description": "Access not permitted.",
        "state": "s",
    }


def test_another_user_consents(lwa_server: LwaServer, app: Client) -> None:
    alice = lwa_server.add_user(name="Alice", email="alice@example.com", postal_code="10001")
    lwa_server.set_consent(alice)
    code = redirect_params(authorize(lwa_server, client_id=app.client_id, scope="profile", response_type="code"))[
        "code"
    ]
    access = assert_user_tokens(redeem(lwa_server, app, code))["access_token"]
    profile = requests.get(lwa_server.url + "/user/profile", params={"access_token": access}, timeout=5).json()
    assert profile == {"user_id": alice.user_id, "name": "Alice", "email": "alice@example.com"}


@pytest.mark.parametrize(
    ("params", "body"),
    [
        pytest.param(
            {"client_id": "amzn1.application-oa2-client.nobody"},
            b'{"error_description":"The client_id is missing or unknown","error":"invalid_client"}',
            id="unknown-client",
        ),
        pytest.param(
            {"client_id": ""},
            b'{"error_description":"The client_id is missing or unknown","error":"invalid_client"}',
            id="no-client",
        ),
        pytest.param(
            {"redirect_uri": "https://evil.example.com/"},
            b'{"error_description":"The redirect_uri is missing or not registered for this client",'
            b'"error":"invalid_request"}',
            id="unregistered-redirect",
        ),
    ],
)
def test_authorize_errors_that_must_not_redirect(
    lwa_server: LwaServer, app: Client, params: dict[str, str], body: bytes
) -> None:
    query = {"client_id": app.client_id, "scope": "profile", "response_type": "code", "redirect_uri": REDIRECT}
    r = authorize(lwa_server, **{**query, **params})
    assert (r.status_code, r.content) == (400, body)
    assert "Location" not in r.headers


def test_authorize_needs_redirect_uri_when_several_are_registered(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(redirect_uris=[REDIRECT, REDIRECT + "2"])
    r = authorize(lwa_server, client_id=client.client_id, scope="profile", response_type="code")
    assert r.status_code == 400
    assert "Location" not in r.headers


def test_authorize_is_get_only(lwa_server: LwaServer) -> None:
    r = requests.post(lwa_server.url + "/ap/oa", timeout=5)
    assert (r.status_code, r.headers["Allow"]) == (405, "GET")


# --- device code ---------------------------------------------------------------------------------


def codepair(server: LwaServer, client: Client, scope: str = "profile", **extra: str) -> requests.Response:
    form = {"response_type": "device_code", "client_id": client.client_id, "scope": scope, **extra}
    return requests.post(server.url + "/auth/o2/create/codepair", data=form, timeout=5)


def poll(server: LwaServer, client: Client, pair: dict[str, Any]) -> requests.Response:
    fields = {"device_code": pair["device_code"], "user_code": pair["user_code"], "client_secret": None}
    return token_request(server, client, "device_code", **fields)


def test_device_flow(lwa_server: LwaServer, app: Client) -> None:
    r = codepair(lwa_server, app)
    assert r.status_code == 200
    pair = r.json()
    assert list(pair) == ["device_code", "user_code", "verification_uri", "expires_in", "interval"]
    assert (pair["expires_in"], pair["interval"]) == (600, 30)
    assert pair["verification_uri"].startswith("https://")
    assert re.fullmatch(r"[A-Z0-9]{6}", pair["user_code"])

    assert poll(lwa_server, app, pair).content == PENDING
    assert poll(lwa_server, app, pair).content == PENDING  # however often it polls (R8)
    lwa_server.clock.advance(30)
    assert poll(lwa_server, app, pair).content == PENDING
    lwa_server.approve_device(pair["user_code"])
    lwa_server.clock.advance(30)
    tokens = assert_user_tokens(poll(lwa_server, app, pair))
    info = requests.get(lwa_server.tokeninfo_url, params={"access_token": tokens["access_token"]}, timeout=5)
    assert info.json()["user_id"] == lwa_server.default_user.user_id
    lwa_server.clock.advance(30)
    assert poll(lwa_server, app, pair).content == INVALID_PAIR  # used


@pytest.mark.parametrize("rotate", [False, True], ids=["same-token", "rotated"])
def test_a_public_clients_refresh_token_stays_public(lwa_server: LwaServer, app: Client, rotate: bool) -> None:
    """A device's refresh token refreshes without a secret, again and again, rotated or not (R9, R25); a PKCE
    code redeemed without a secret has no refresh token at all (N3)."""
    lwa_server.configure(rotate_refresh_tokens=rotate)
    pair = codepair(lwa_server, app).json()
    lwa_server.approve_device(pair["user_code"])
    token = assert_user_tokens(poll(lwa_server, app, pair))["refresh_token"]
    for _ in range(3):
        r = token_request(lwa_server, app, "refresh_token", refresh_token=token, client_secret=None)
        renewed = assert_user_tokens(r)["refresh_token"]
        assert (renewed != token) is rotate
        token = renewed


def test_poll_interval_enforced_on_request(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.configure(enforce_poll_interval=True)
    pair = codepair(lwa_server, app).json()
    assert poll(lwa_server, app, pair).content == PENDING
    assert poll(lwa_server, app, pair).content == SLOW_DOWN  # no time passed
    lwa_server.clock.advance(29)
    assert poll(lwa_server, app, pair).content == SLOW_DOWN  # 29 s after the last poll
    lwa_server.clock.advance(30)
    assert poll(lwa_server, app, pair).content == PENDING
    lwa_server.approve_device(pair["user_code"])
    lwa_server.clock.advance(30)
    assert_user_tokens(poll(lwa_server, app, pair))


def test_device_pair_expires(lwa_server: LwaServer, app: Client) -> None:
    pair = codepair(lwa_server, app).json()
    lwa_server.clock.advance(600)
    assert poll(lwa_server, app, pair).content == INVALID_PAIR
    with pytest.raises(KeyError, match="no live code pair"):
        lwa_server.approve_device(pair["user_code"])


def test_device_denied(lwa_server: LwaServer, app: Client) -> None:
    pair = codepair(lwa_server, app).json()
    lwa_server.deny_device(pair["user_code"])
    assert poll(lwa_server, app, pair).content == DENIED


def test_device_pair_of_another_client_or_wrong_user_code(lwa_server: LwaServer, app: Client) -> None:
    other = lwa_server.add_client()
    pair = codepair(lwa_server, app).json()
    lwa_server.approve_device(pair["user_code"])
    assert poll(lwa_server, other, pair).content == INVALID_PAIR
    assert poll(lwa_server, app, {**pair, "user_code": "ZZZZZZ"}).content == INVALID_PAIR
    assert_user_tokens(poll(lwa_server, app, pair))


@pytest.mark.parametrize(
    ("form", "status", "body"),
    [
        pytest.param({"response_type": "code"}, 400, None, id="response-type"),
        pytest.param({"scope": ""}, 400, missing("scope"), id="no-scope"),
        pytest.param(
            {"scope": "profile nonsense"},
            400,
            b'{"error_description":"Client does not have permission to use scope :'
            b' com.amazon.aztec.service.Scope@264afb20","error":"invalid_scope"}',
            id="bad-scope",  # R11
        ),
        pytest.param(
            {"client_id": "amzn1.application-oa2-client.nobody"},
            400,
            b'{"error_description":"The request has an invalid parameter : client_id","error":"InvalidValue"}',
            id="unknown-client",  # R10
        ),
    ],
)
def test_codepair_errors(
    lwa_server: LwaServer, app: Client, form: dict[str, str], status: int, body: bytes | None
) -> None:
    r = codepair(lwa_server, app, **form)
    assert r.status_code == status
    if body is None:
        body = (
            b'{"error_description":"The response type is not supported by the authorization server",'
            b'"error":"unsupported_response_type"}'
        )
    assert r.content == body


# --- grant permissions, secret rotation ----------------------------------------------------------


def test_grant_not_permitted(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(grants=["client_credentials"], redirect_uris=[REDIRECT])
    token = lwa_server.issue_refresh_token(client)
    assert refresh(lwa_server, client, token).content == UNAUTHORIZED
    assert codepair(lwa_server, client).content == UNAUTHORIZED
    got = redirect_params(authorize(lwa_server, client_id=client.client_id, scope="profile", response_type="code"))
    assert got["error"] == "unauthorized_client"


def test_unknown_grant_name_is_refused(lwa_server: LwaServer) -> None:
    with pytest.raises(ValueError, match="unknown grant 'password'; grants are: client_credentials, refresh_token"):
        lwa_server.add_client(grants=["password"])


def test_secret_rotation(lwa_server: LwaServer) -> None:
    old = lwa_server.add_client(scopes=["appstore::apps:readwrite"])
    new = lwa_server.rotate_secret(old)
    assert new.client_secret != old.client_secret
    assert new.client_secret not in repr(new)

    def grantless(secret: str) -> int:
        return token_request(lwa_server, old, client_secret=secret).status_code

    assert (grantless(old.client_secret), grantless(new.client_secret)) == (200, 200)
    lwa_server.retire_secret(new)
    assert (grantless(old.client_secret), grantless(new.client_secret)) == (401, 200)


def test_retire_secret_misuse(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client()
    with pytest.raises(ValueError, match=r"not one of the client's previous secrets \(it is the current secret\)"):
        lwa_server.retire_secret(client, client.client_secret)
    with pytest.raises(KeyError, match=r"no client with client_id 'ghost' is registered; add_client\(\)"):
        lwa_server.rotate_secret("ghost")


# --- profile -------------------------------------------------------------------------------------


def user_token(server: LwaServer, client: Client, scopes: list[str]) -> str:
    token: str = assert_user_tokens(refresh(server, client, server.issue_refresh_token(client, scopes=scopes)))[
        "access_token"
    ]
    return token


@pytest.mark.parametrize(
    ("scopes", "fields"),
    [
        (["profile"], ["user_id", "name", "email"]),
        (["profile:user_id"], ["user_id"]),
        (["postal_code"], ["user_id", "postal_code"]),
        (["profile", "postal_code"], ["user_id", "name", "email", "postal_code"]),
    ],
)
def test_profile_fields_follow_scopes(lwa_server: LwaServer, app: Client, scopes: list[str], fields: list[str]) -> None:
    token = user_token(lwa_server, app, scopes)
    r = requests.get(lwa_server.url + "/user/profile", headers={"x-amz-access-token": token}, timeout=5)
    assert r.status_code == 200
    assert list(r.json()) == fields


def test_profile_refuses_tokens_without_a_profile_scope(lwa_server: LwaServer, app: Client) -> None:
    grantless = token_request(lwa_server, app).json()["access_token"]
    forbidden = (
        b'{"error_description":"The access token does not grant access to the customer profile",'
        b'"error":"insufficient_scope"}'
    )
    for token in (grantless, user_token(lwa_server, app, ["alexa:all"])):
        r = requests.get(lwa_server.url + "/user/profile", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert (r.status_code, r.content) == (403, forbidden)


def test_profile_with_bad_or_no_token(lwa_server: LwaServer, app: Client) -> None:
    token = user_token(lwa_server, app, ["profile"])
    lwa_server.clock.advance(3600)
    r = requests.get(lwa_server.url + "/user/profile", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert (r.status_code, r.content) == (400, INVALID_TOKEN)
    r = requests.get(lwa_server.url + "/user/profile", timeout=5)
    assert (r.status_code, r.content) == (400, missing("access_token"))
