"""The authority's registration API as data, without HTTP: what each call registers or issues, in Amazon's
formats, and the exact error each misuse gets."""

from __future__ import annotations

import re
import string
import threading
from urllib.parse import parse_qsl, urlsplit

import pytest

from pytest_lwa import Authority, errors, pkce_challenge, stores
from pytest_lwa.grants import selling_partner
from pytest_lwa.grants.selling_partner import login_redirect
from pytest_lwa.model import NotRegistered, TokenRejected

NO_SPACES = "must be a non-empty string without spaces or control characters"


@pytest.fixture
def authority() -> Authority:
    return Authority()


def test_generated_client(authority: Authority) -> None:
    client = authority.add_client()
    assert re.fullmatch(r"amzn1\.application-oa2-client\.[0-9a-f]{32}", client.client_id)
    assert re.fullmatch(r"amzn1\.oa2-cs\.v1\.[0-9a-f]{64}", client.client_secret)
    assert client.grants == ("client_credentials", "refresh_token", "authorization_code", "device_code")
    assert (client.redirect_uris, client.previous_secrets, client.retired_secrets) == ((), (), ())
    assert authority.clients == [client]
    assert authority.find_client(client.client_id) is client


@pytest.mark.parametrize(
    ("keywords", "error", "message"),
    [
        ({"grants": ["implicit"]}, ValueError,
         "unknown grant 'implicit'; grants are: client_credentials, refresh_token, authorization_code, device_code"),
        ({"grants": "refresh_token"}, TypeError, "grants must be a list of strings, e.g. ['refresh_token']"),
        ({"client_id": "a b"}, ValueError, f"client_id {NO_SPACES}, got 'a b'"),
        ({"client_secret": ""}, ValueError, f"client_secret {NO_SPACES}, got ''"),
        ({"scopes": ["a b"]}, ValueError, "each of scopes must be a non-empty string without spaces, got 'a b'"),
        ({"redirect_uris": [""]}, ValueError, "each of redirect_uris must be a non-empty string without spaces"),
    ],
)  # fmt: skip
def test_bad_clients(authority: Authority, keywords: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        authority.add_client(**keywords)  # type: ignore[arg-type]
    assert authority.clients == []


def test_clients_are_unique_and_removable(authority: Authority) -> None:
    authority.add_client("cid", "s1")
    with pytest.raises(ValueError, match=re.escape("a client with client_id 'cid' is already registered; call")):
        authority.add_client("cid", "s2")
    authority.remove_client("cid")
    assert authority.clients == []
    with pytest.raises(NotRegistered) as missing:
        authority.remove_client("cid")
    assert str(missing.value) == "no client with client_id 'cid' is registered; add_client() registers one"


def test_secrets_rotate_and_retire(authority: Authority) -> None:
    first = authority.add_client("cid", "one")
    second = authority.rotate_secret(first, "two")
    assert (second.client_secret, second.previous_secrets) == ("two", ("one",))
    third = authority.rotate_secret("cid")
    assert re.fullmatch(r"amzn1\.oa2-cs\.v1\.[0-9a-f]{64}", third.client_secret)
    assert third.previous_secrets == ("two", "one")
    assert authority.find_client("cid") == third
    for taken in ("one", third.client_secret):
        with pytest.raises(
            ValueError, match=r"^new_secret must differ from the client's current and previous secrets$"
        ):
            authority.rotate_secret("cid", taken)
    with pytest.raises(
        ValueError, match=r"^that secret is not one of the client's previous secrets \(it is the current"
    ):
        authority.retire_secret("cid", third.client_secret)
    with pytest.raises(ValueError, match=r"^that secret is not one of the client's previous secrets$"):
        authority.retire_secret("cid", "never")
    fourth = authority.retire_secret("cid", "two")
    assert (fourth.previous_secrets, fourth.retired_secrets) == (("one",), ("two",))
    fifth = authority.retire_secret("cid")
    assert (fifth.previous_secrets, fifth.retired_secrets) == ((), ("two", "one"))
    assert fifth.accepts_secret(third.client_secret)
    assert not fifth.accepts_secret("one")


def test_users(authority: Authority) -> None:
    default = authority.default_user
    assert re.fullmatch(r"amzn1\.account\.[A-Z0-9]{28}", default.user_id)
    assert (default.name, default.email, default.postal_code) == ("Test Customer", "customer@example.com", "98109")
    named = authority.add_user("amzn1.account.X", name="N", email="e@example.com", postal_code="10001")
    another = authority.add_user()  # the default user's details, a new id
    assert (another.name, another.email, another.postal_code) == (default.name, default.email, default.postal_code)
    assert another.user_id != default.user_id
    assert (named.name, named.email, named.postal_code) == ("N", "e@example.com", "10001")
    assert authority.users == [default, named, another]
    assert authority.find_user("amzn1.account.X") is named
    with pytest.raises(ValueError, match=re.escape("a user with user_id 'amzn1.account.X' is already registered")):
        authority.add_user("amzn1.account.X")
    with pytest.raises(NotRegistered, match=re.escape("no user with user_id 'nobody' is registered")):
        authority.set_consent("nobody")
    authority.set_consent(named, granted=False)
    assert authority.consent == (named, False)
    authority.set_consent()
    assert authority.consent == (default, True)


def test_refresh_tokens(authority: Authority) -> None:
    client = authority.add_client("cid", "s")
    user = authority.add_user("amzn1.account.U")
    authority.clock.set(1000)
    token = authority.issue_refresh_token(client, ["profile", "postal_code"], user)
    claims = authority.claims(token)
    assert claims is not None
    assert (claims.prefix, claims.client_id, claims.scope, claims.issued_at, claims.expires_at, claims.user_id) == (
        "Atzr|", "cid", "profile postal_code", 1000.0, None, "amzn1.account.U",
    )  # fmt: skip
    assert not claims.public
    default = authority.claims(authority.issue_refresh_token("cid"))
    assert default is not None
    assert (default.scope, default.user_id) == ("profile", authority.default_user.user_id)
    chosen = authority.issue_refresh_token("cid", token="Atzr|ci-token")
    assert chosen == "Atzr|ci-token"
    assert authority.claims(chosen) is not None
    for bad in ("ci-token", "Atzr|two words", "Atza|x"):
        with pytest.raises(ValueError, match=re.escape("a chosen refresh token must start with 'Atzr|' and have no")):
            authority.issue_refresh_token("cid", token=bad)
    for taken in ("Atzr|ci-token", token):
        with pytest.raises(ValueError, match=re.escape(f"the refresh token {taken!r} already exists")):
            authority.issue_refresh_token("cid", token=taken)
    authority.revoke(chosen)
    assert authority.claims(chosen) is None
    with pytest.raises(ValueError, match=re.escape("that is not a token this server issued (or it was issued before")):
        authority.revoke("Atzr|never")
    public = authority.claims(authority.mint_refresh("cid", "profile", "u", public=True))
    assert public is not None
    assert public.public


def test_authorization_codes(authority: Authority) -> None:
    authority.add_client("cid", "s")
    code = authority.issue_authorization_code("cid", ["profile"], redirect_uri="https://a/cb", code_challenge="c")
    record = authority.codes.get(code)
    assert record is not None
    assert (record.client_id, record.user_id, record.scope, record.redirect_uri, record.challenge, record.method) == (
        "cid", authority.default_user.user_id, "profile", "https://a/cb", "c", "S256",
    )  # fmt: skip
    assert re.fullmatch(f"[{string.ascii_letters}]{{20}}", code)
    plain = authority.codes.get(authority.issue_authorization_code("cid", code_challenge_method="plain"))
    assert plain is not None
    assert (plain.challenge, plain.method) == (None, None)  # no challenge, no method
    with pytest.raises(ValueError, match=r"^code_challenge_method must be 'S256' or 'plain'$"):
        authority.issue_authorization_code("cid", code_challenge="c", code_challenge_method="S512")
    with pytest.raises(TypeError, match=r"^scopes must be a list of strings, e.g. \['profile'\], not a single string$"):
        authority.issue_authorization_code("cid", "profile")
    assert pkce_challenge("v" * 43, "plain") == "v" * 43


def test_device_decisions(authority: Authority) -> None:
    client = authority.add_client("cid", "s")
    pair = authority.create_code_pair(
        {"response_type": "device_code", "client_id": client.client_id, "scope": "profile"}
    )
    user = authority.add_user("amzn1.account.D")
    authority.approve_device(pair["user_code"], user)
    stored = authority.pairs.find(pair["device_code"])
    assert stored is not None
    assert (stored.state, stored.user_id) == ("approved", "amzn1.account.D")
    authority.deny_device(pair["user_code"])
    stored = authority.pairs.find(pair["device_code"])
    assert stored is not None
    assert (stored.state, stored.user_id) == ("denied", None)
    authority.clock.advance(600)
    with pytest.raises(NotRegistered, match=re.escape(f"no live code pair with user_code {pair['user_code']!r}")):
        authority.approve_device(pair["user_code"])
    with pytest.raises(NotRegistered, match=re.escape("no live code pair with user_code 'NOPE'")):
        authority.deny_device("NOPE")


def test_selling_partners(authority: Authority) -> None:
    default = authority.default_selling_partner
    assert re.fullmatch(r"A[A-Z0-9]{13}", default.selling_partner_id)
    assert default.name == "Test Seller"
    named = authority.add_selling_partner("ASELLER", name="Seller Inc")
    assert (named.selling_partner_id, named.name) == ("ASELLER", "Seller Inc")
    assert [p.selling_partner_id for p in authority.selling_partners] == [default.selling_partner_id, "ASELLER"]
    with pytest.raises(ValueError, match=re.escape("a selling partner with id 'ASELLER' is already registered")):
        authority.add_selling_partner("ASELLER")
    authority.set_seller_consent("ASELLER", granted=False)
    assert authority.seller_consent == (named, False)
    app = authority.add_sp_application(login_uri="https://a/login", redirect_uris=["https://a/cb"], name="Tool")
    assert re.fullmatch(r"amzn1\.sp\.solution\.[0-9a-f-]{36}", app.application_id)
    assert (app.name, app.login_uri, app.redirect_uris, app.published, app.vendor) == (
        "Tool", "https://a/login", ("https://a/cb",), False, False,
    )  # fmt: skip
    assert app.client_id == authority.clients[-1].client_id
    vendor = authority.add_sp_application(
        authority.clients[0], login_uri="http://a/l", redirect_uris=[], published=True, vendor=True
    )
    assert (vendor.client_id, vendor.published, vendor.vendor) == (authority.clients[0].client_id, True, True)
    for login in ("ftp://a/l", "https:///l", "/l"):
        with pytest.raises(
            ValueError, match=re.escape(f"log-in and redirect URIs must be absolute http(s) URLs, got {login!r}")
        ):
            authority.add_sp_application(login_uri=login, redirect_uris=[])
    code = authority.codes.get(authority.issue_spapi_code(app, "ASELLER"))
    assert code is not None
    assert (code.client_id, code.user_id, code.scope, code.redirect_uri) == (app.client_id, "ASELLER", "", None)


def authorize(authority: Authority, **params: str) -> tuple[dict[str, str], str | None]:
    """The query ``/ap/oa`` redirects with, and the reason recorded."""
    answer = authority.authorize({"response_type": "code", "redirect_uri": "https://a/cb", **params})
    assert answer.location is not None
    query = dict(parse_qsl(urlsplit(answer.location).query))
    return query, answer.reason


def test_authorize_rejections(authority: Authority) -> None:
    authority.add_client("cid", "s", scopes=["custom:scope"], redirect_uris=["https://a/cb"])
    query, reason = authorize(authority, client_id="cid", scope="")
    assert query == {
        "error": "invalid_request",
        "error_description": "The request is missing a required parameter : scope",
    }
    assert reason == "the request has no (or an empty) scope"
    query, reason = authorize(authority, client_id="cid", scope="profile", code_challenge_method="S256", state="s")
    assert query == {
        "error": "invalid_request",
        "error_description": "The request is missing a required parameter : code_challenge",
        "state": "s",
    }
    assert reason == "code_challenge_method was sent without a code_challenge"
    # a scope the client registered is one a user may consent to, as well as the user scopes
    query, reason = authorize(authority, client_id="cid", scope="custom:scope profile")
    assert (list(query), reason) == (["code", "scope"], None)
    limited = authority.add_client("limited", "s", grants=["refresh_token"], redirect_uris=["https://a/cb"])
    query, reason = authorize(authority, client_id=limited.client_id, scope="profile")
    assert query["error"] == "unauthorized_client"
    assert reason == (
        "client 'limited' may not use authorization_code (its grants: 'refresh_token'); add_client(grants=[...])"
        " allows it"
    )


def test_a_challenge_without_a_method_is_plain(authority: Authority) -> None:
    authority.add_client("cid", "s", redirect_uris=["https://a/cb"])
    verifier = "v" * 50
    query, _ = authorize(authority, client_id="cid", scope="profile", code_challenge=verifier)  # RFC 7636 4.3
    record = authority.codes.get(query["code"])
    assert record is not None
    assert (record.challenge, record.method) == (verifier, "plain")
    tokens = authority.token(
        {"grant_type": "authorization_code", "code": query["code"], "client_id": "cid", "code_verifier": verifier,
         "redirect_uri": "https://a/cb"}
    )  # fmt: skip
    assert tokens["access_token"].startswith("Atza|")
    assert "refresh_token" not in tokens  # no secret: N3


def test_code_pairs(authority: Authority) -> None:
    authority.add_client("cid", "s")
    params = {"response_type": "device_code", "client_id": "cid", "scope": "profile"}
    pair = authority.create_code_pair(params)
    assert re.fullmatch(r"[A-Z0-9]{6}", pair["user_code"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{36}", pair["device_code"])
    stored = authority.pairs.find(pair["device_code"])
    assert stored is not None
    assert (stored.client_id, stored.scope, stored.expires_at) == ("cid", "profile", authority.clock.now() + 600)
    assert authority.pairs.client_of(pair["device_code"]) == "cid"
    authority.clock.advance(600)  # exactly its lifetime: gone when the next pair is made
    assert authority.pairs.find(pair["device_code"]) is not None
    authority.create_code_pair(params)
    assert authority.pairs.find(pair["device_code"]) is None
    assert authority.pairs.client_of(pair["device_code"]) is None


def test_sp_application_defaults_and_checks(authority: Authority) -> None:
    app = authority.add_sp_application(login_uri="https://a/login", redirect_uris=["https://a/cb"])
    assert app.name == "Test SP-API Application"
    with pytest.raises(TypeError, match=re.escape("redirect_uris must be a list of strings, e.g. ['https://a/cb']")):
        authority.add_sp_application(login_uri="https://a/login", redirect_uris="https://a/cb")
    with pytest.raises(
        ValueError,
        match=re.escape("application_id must be a non-empty string without spaces or control characters, got 'a b'"),
    ):
        authority.add_sp_application(login_uri="https://a/login", redirect_uris=[], application_id="a b")
    with pytest.raises(ValueError, match=re.escape("absolute http(s) URLs, got None")):
        authority.add_sp_application(login_uri=None, redirect_uris=[])  # type: ignore[arg-type]


def test_device_polls_say_why(authority: Authority) -> None:
    authority.add_client("cid", "s")
    authority.add_client("other", "s")
    pair = authority.create_code_pair(
        {"response_type": "device_code", "client_id": "cid", "scope": "profile postal_code"}
    )
    poll = {"grant_type": "device_code", "device_code": pair["device_code"], "user_code": pair["user_code"]}
    with pytest.raises(errors.INVALID_CODE_PAIR) as unknown:
        authority.token({**poll, "device_code": "nope", "client_id": "cid"})
    assert unknown.value.reason == (
        "the device_code is unknown, used, expired (600 s of the server's clock) or from before a reset"
    )
    with pytest.raises(errors.INVALID_CODE_PAIR) as other:
        authority.token({**poll, "client_id": "other", "client_secret": "s"})
    assert other.value.reason == "the code pair was made for client 'cid'"
    user = authority.add_user("amzn1.account.DEV")
    authority.approve_device(pair["user_code"], user)
    tokens = authority.token(poll)
    access, refresh = authority.claims(tokens["access_token"]), authority.claims(tokens["refresh_token"])
    assert access is not None
    assert refresh is not None
    assert (access.scope, access.user_id, refresh.scope, refresh.public) == (
        "profile postal_code", "amzn1.account.DEV", "profile postal_code", True,
    )  # fmt: skip


def test_codes_for_a_named_user_and_pkce_bounds(authority: Authority) -> None:
    authority.add_client("cid", "s")
    user = authority.add_user("amzn1.account.NAMED")
    code = authority.codes.get(authority.issue_authorization_code("cid", ["profile", "postal_code"], user))
    assert code is not None
    assert (code.user_id, code.scope) == ("amzn1.account.NAMED", "profile postal_code")
    with pytest.raises(NotRegistered) as missing:
        authority.issue_authorization_code("cid", user="amzn1.account.NONE")
    assert str(missing.value) == "no user with user_id 'amzn1.account.NONE' is registered; add_user() registers one"
    every = string.ascii_letters + string.digits + "-._~"  # all 66 characters a verifier may use
    for verifier, works in ((every, True), ("v" * 128, True), ("v" * 129, False), ("v" * 42, False), ("v" * 43, True)):
        redeemable = authority.issue_authorization_code("cid", code_challenge=pkce_challenge(verifier))
        params = {"grant_type": "authorization_code", "code": redeemable, "client_id": "cid", "code_verifier": verifier}
        if works:
            assert authority.token(params)["token_type"] == "bearer"
        else:
            with pytest.raises(errors.INVALID_CODE):
                authority.token(params)


def test_workflows_in_progress_end_after_600_s(authority: Authority) -> None:
    app = authority.add_sp_application(login_uri="https://a/login", redirect_uris=["https://a/cb"], published=True)
    partner = authority.default_selling_partner
    first = dict(parse_qsl(urlsplit(login_redirect(authority, app, partner, "http://m", consented=True)).query))
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", first["amazon_state"])
    assert first["amazon_callback_uri"] == f"http://m/apps/authorize/confirm/{app.application_id}"
    workflow = authority.seller_central.find_workflow(first["amazon_state"])
    assert workflow is not None
    assert workflow.consented is True
    authority.clock.advance(600)  # exactly its lifetime: gone when the next workflow starts
    login_redirect(authority, app, partner, "http://m", consented=False)
    assert authority.seller_central.find_workflow(first["amazon_state"]) is None
    odd = authority.add_sp_application(login_uri="https://a/l", redirect_uris=[], application_id="a/b?c")
    callback = dict(parse_qsl(urlsplit(login_redirect(authority, odd, partner, "http://m", consented=True)).query))
    assert callback["amazon_callback_uri"] == "http://m/apps/authorize/confirm/a%2Fb%3Fc"  # one path segment
    with pytest.raises(NotRegistered) as missing:
        authority.issue_spapi_code("amzn1.sp.solution.none")
    assert str(missing.value) == (
        "no SP-API application 'amzn1.sp.solution.none' is registered; add_sp_application() registers one"
    )


def test_authorize_reasons_and_what_a_code_remembers(authority: Authority) -> None:
    with pytest.raises(errors.UNKNOWN_CLIENT_ID) as unknown:
        authority.authorize({"response_type": "code", "scope": "profile"})
    assert unknown.value.reason == (
        "client_id '' is not registered (registered: none); register it with add_client(), the lwa marker's"
        " clients=, or serve --client"
    )
    authority.add_client("bare", "s")
    with pytest.raises(errors.UNREGISTERED_REDIRECT_URI) as nowhere:
        authority.authorize({"response_type": "code", "scope": "profile", "client_id": "bare"})
    assert nowhere.value.reason == (
        "no redirect_uri was sent and client 'bare' does not have exactly one (registered: none)"
    )
    authority.add_client("cid", "s", redirect_uris=["https://a/cb"])
    user = authority.add_user("amzn1.account.C")
    cancelled = authority.authorize(
        {"response_type": "code", "scope": "profile", "client_id": "cid"}, consent=(user, False)
    )
    assert cancelled.reason == "the user amzn1.account.C cancelled on the consent page"
    query, _ = authorize(authority, client_id="cid", scope="profile")  # with redirect_uri: it must come back
    with pytest.raises(errors.INVALID_CODE) as forgotten:
        authority.token({"grant_type": "authorization_code", "code": query["code"], "client_id": "cid",
                         "client_secret": "s"})  # fmt: skip
    assert forgotten.value.reason == "redirect_uri None is not the authorize request's 'https://a/cb'"


def test_pkce_codes_redeemed_without_a_secret_have_no_refresh_token(authority: Authority) -> None:
    authority.add_client("cid", "s")
    verifier = "v" * 43
    for secret in ("s", ""):
        code = authority.issue_authorization_code("cid", code_challenge=pkce_challenge(verifier))
        params = {"grant_type": "authorization_code", "code": code, "client_id": "cid", "code_verifier": verifier}
        tokens = authority.token({**params, "client_secret": secret} if secret else params)
        access = authority.claims(tokens["access_token"])
        assert access is not None
        assert access.client_id == "cid"
        if secret:
            refresh = authority.claims(tokens["refresh_token"])
            assert refresh is not None
            assert (refresh.public, refresh.client_id) == (False, "cid")
        else:
            assert "refresh_token" not in tokens  # N3


def test_scope_reasons_for_a_client_without_scopes() -> None:
    from pytest_lwa import Client
    from pytest_lwa.model import scope_reason

    bare = Client("bare", "s", scopes=())
    assert scope_reason(["zzz"], bare) == (
        "scope 'zzz' is not registered for client 'bare' (its scopes: none); add_client(scopes=[...]) registers scopes"
    )


def test_selling_partner_and_application_errors(authority: Authority) -> None:
    partner = authority.add_selling_partner()
    assert partner.name == "Test Seller"
    assert re.fullmatch(r"A[A-Z0-9]{13}", partner.selling_partner_id)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "selling_partner_id must be a non-empty string without spaces or control characters, got 'a b'"
        ),
    ):
        authority.add_selling_partner("a b")
    with pytest.raises(NotRegistered) as unknown:
        authority.set_seller_consent("ANOBODY")
    assert str(unknown.value) == "no selling partner 'ANOBODY' is registered; add_selling_partner() registers one"
    app = authority.add_sp_application(login_uri="https://a/l", redirect_uris=[])
    with pytest.raises(ValueError, match=re.escape(f"an application with id {app.application_id!r} is already")):
        authority.add_sp_application(login_uri="https://a/l", redirect_uris=[], application_id=app.application_id)
    with pytest.raises(selling_partner.SellerCentralError) as no_uri:
        selling_partner._redirect_target(app, None)
    assert (
        str(no_uri.value)
        == no_uri.value.reason
        == (
            f"redirect_uri None is not registered for application {app.application_id!r} (registered: none);"
            " add_sp_application(redirect_uris=[...]) registers it"
        )
    )


def test_a_user_code_taken_is_drawn_again(authority: Authority, monkeypatch: pytest.MonkeyPatch) -> None:
    authority.add_client("cid", "s", scopes=["appstore::apps:readwrite"])
    lengths: list[int] = []
    drawn = iter(["AAAAAA", "AAAAAA", "BBBBBB"])

    def letters(length: int, alphabet: str = "") -> str:
        lengths.append(length)
        return next(drawn)

    monkeypatch.setattr(stores, "random_letters", letters)
    # a scope of the client's own, not a user scope, is one a code pair may ask for
    pair = {"response_type": "device_code", "client_id": "cid"}
    first = authority.create_code_pair({**pair, "scope": "appstore::apps:readwrite"})
    second = authority.create_code_pair({**pair, "scope": "profile"})
    assert (first["user_code"], second["user_code"], lengths) == ("AAAAAA", "BBBBBB", [6, 6, 6])


def test_verify_and_revoke_say_why(authority: Authority) -> None:
    authority.add_client("cid", "s", scopes=["appstore::apps:readwrite"])

    def rejected(token: str, scopes: tuple[str, ...] = ()) -> tuple[str, str]:
        with pytest.raises(TokenRejected) as caught:
            authority.verify(token, scopes)
        assert str(caught.value) == f"{caught.value.reason}: {caught.value.detail}"
        return caught.value.reason, caught.value.detail

    with pytest.raises(TypeError, match=r"^scopes must be a list of strings, e.g. \['profile'\], not a single string$"):
        authority.verify("Atc|x", "profile")
    assert rejected("") == ("missing", "no access token was given")
    form = {"grant_type": "client_credentials", "scope": "appstore::apps:readwrite", "client_id": "cid"}
    token = authority.token({**form, "client_secret": "s"})["access_token"]
    assert rejected(token, ("a", "b")) == (
        "insufficient_scope", "the access token lacks scope(s) a b; it has 'appstore::apps:readwrite'"
    )  # fmt: skip
    authority.revoke(token)
    assert rejected(token) == ("revoked", "the access token was revoked")
    with pytest.raises(ValueError, match=r"^that is not a token this server issued \(or it was issued before the last"):
        authority.revoke("Atc|nonsense")
    with pytest.raises(TypeError, match=r"^scopes must be a list of strings, e.g. \['profile'\], not a single string$"):
        authority.issue_refresh_token("cid", "profile")
    with pytest.raises(
        ValueError, match=r"^new_secret must be a non-empty string without spaces or control characters, got 'a b'$"
    ):
        authority.rotate_secret("cid", new_secret="a b")
    with pytest.raises(
        ValueError, match=r"^user_id must be a non-empty string without spaces or control characters, got 'a b'$"
    ):
        authority.add_user("a b")
    with pytest.raises(TypeError, match=r"^unknown setting\(s\) expire_in, jsonbody; settings are: expires_in, "):
        authority.configure(expire_in=1, jsonbody=True)


def test_basic_and_body_secrets_must_agree_and_a_ticking_clock_stays_so(authority: Authority) -> None:
    authority.add_client("cid", "s", scopes=["appstore::apps:readwrite"])
    form = {"grant_type": "client_credentials", "scope": "appstore::apps:readwrite"}
    for name, value in (("client_id", "other"), ("client_secret", "other")):
        with pytest.raises(errors.LwaError) as refused:
            authority.token({**form, name: value}, ("cid", "s"))
        assert (refused.value.error, refused.value.reason) == (
            "invalid_client",
            f"the HTTP Basic header and the body's {name} disagree; send the same client or one",
        )
    ticking = Authority(tick=True)
    ticking.reset()
    assert repr(ticking.clock).endswith("tick=True)")


def test_an_unknown_code_or_refresh_token_needs_the_secret(authority: Authority) -> None:
    """Only a PKCE code or a public client's refresh token may come without a secret: an unknown one is
    neither, so the client must authenticate first (invalid_client, not invalid_grant)."""
    authority.add_client("cid", "s")
    for form in (
        {"grant_type": "authorization_code", "code": "unknown", "redirect_uri": "https://a/cb"},
        {"grant_type": "refresh_token", "refresh_token": "Atzr|unknown"},
    ):
        with pytest.raises(errors.LwaError) as refused:
            authority.token({**form, "client_id": "cid"})
        assert (refused.value.status, refused.value.error) == (401, "invalid_client")


def test_every_grant_type_has_its_grant() -> None:
    from pytest_lwa.grants import GRANTS, RESPONSE_TYPES
    from pytest_lwa.model import GRANT_TYPES

    assert tuple(GRANTS) == GRANT_TYPES
    assert tuple(RESPONSE_TYPES) == ("code",)


@pytest.mark.parametrize("what", ["code", "rotated refresh token"])
def test_a_single_use_credential_works_once_however_many_ask_at_once(authority: Authority, what: str) -> None:
    """Redeeming a code and rotating a refresh token are single steps of their stores: of eight requests with
    the same one at the same moment, exactly one gets tokens."""
    authority.add_client("cid", "s")
    if what == "code":
        params = {"grant_type": "authorization_code", "code": authority.issue_authorization_code("cid")}
    else:
        authority.configure(rotate_refresh_tokens=True)
        params = {"grant_type": "refresh_token", "refresh_token": authority.issue_refresh_token("cid")}
    params |= {"client_id": "cid", "client_secret": "s"}
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def ask() -> None:
        start.wait()
        try:
            outcomes.append(authority.token(params)["token_type"])
        except errors.LwaError as error:
            outcomes.append(error.error)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["bearer"] + ["invalid_grant"] * 7
