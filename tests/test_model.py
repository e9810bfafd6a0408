"""The authority's vocabulary as data: settings and their text forms, ids, PKCE, redirect queries, and the
plain-words reasons rejections record."""

from __future__ import annotations

import dataclasses
import string

import pytest

from pytest_lwa import Client, Settings
from pytest_lwa.model import (
    SETTINGS,
    NotRegistered,
    add_query,
    app_id_for,
    credential,
    listed,
    not_granted,
    pkce_challenge,
    random_letters,
    scope_reason,
    setting_choices,
    setting_from_text,
    setting_kind,
    unknown_client,
    words,
    wrong_secret,
)

BY_NAME = {setting.name: setting for setting in SETTINGS}


def test_the_settings_table() -> None:
    table = [(s.name, s.default, setting_kind(s), setting_choices(s), s.metadata["metavar"]) for s in SETTINGS]
    assert table == [
        ("expires_in", 3600, "int", (), "SECONDS"),
        ("json_body", True, "bool", (), None),
        ("body_style", "classic", "choice", ("classic", "modern"), "STYLE"),
        ("rotate_refresh_tokens", False, "bool", (), None),
        ("enforce_poll_interval", False, "bool", (), None),
        ("sp_secret_lifetime", 15552000, "int", (), "SECONDS"),
        ("secret_expiry_notices", "90,30,7", "choice", (), "DAYS"),
        ("rotation_rate_limit", True, "bool", (), None),
        ("interactive_consent", False, "bool", (), None),
    ]
    assert BY_NAME["expires_in"].metadata["help"] == "access-token lifetime in seconds (a whole number, at least 1)"
    assert all(setting.metadata["help"] for setting in SETTINGS)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        *[("json_body", text, True) for text in (" yes ", "TRUE", "on", "1")],
        *[("json_body", text, False) for text in ("No", "false", "OFF", "0")],
        ("expires_in", " 60 ", 60), ("body_style", " modern ", "modern"),
    ],
)  # fmt: skip
def test_settings_from_text(name: str, text: str, value: object) -> None:
    assert setting_from_text(BY_NAME[name], text, "here") == value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("json_body", "maybe", "--lwa-json-body must be yes or no (or true or false), got 'maybe'"),
        ("json_body", "", "--lwa-json-body must be yes or no (or true or false), got ''"),
        ("expires_in", "1h", "--lwa-json-body must be a whole number of seconds, got '1h'"),
        ("expires_in", "-5", "--lwa-json-body must be a whole number of seconds, got '-5'"),
    ],
)
def test_bad_text_names_where_it_came_from(name: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^--lwa-json-body must be ") as refused:
        setting_from_text(BY_NAME[name], text, "--lwa-json-body")
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"expires_in": 0}, "expires_in must be a whole number of seconds >= 1, got 0"),
        ({"expires_in": True}, "expires_in must be a whole number of seconds >= 1, got True"),
        ({"expires_in": 1.5}, "expires_in must be a whole number of seconds >= 1, got 1.5"),
        ({"json_body": "yes"}, "json_body must be True or False, got 'yes'"),
        ({"interactive_consent": 1}, "interactive_consent must be True or False, got 1"),
        ({"body_style": "fancy"}, "body_style must be one of classic, modern, got 'fancy'"),
    ],
)
def test_settings_check_themselves(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="must be") as refused:
        Settings(**changes)  # type: ignore[arg-type]
    assert str(refused.value) == message
    assert Settings(expires_in=1).expires_in == 1


def test_ids_and_pkce() -> None:
    assert app_id_for("cid") == "amzn1.application.5424626b932a2ff9d191f0982447a979"  # sha256("cid")[:32]
    # RFC 7636 appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce_challenge(verifier, "S256") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce_challenge(verifier, "plain") == verifier
    letters = random_letters(500)
    assert len(letters) == 500
    assert set(letters) <= set(string.ascii_uppercase + string.digits)
    assert len(set(letters)) > 30  # every letter and digit can appear
    assert set(random_letters(300, "ab")) == {"a", "b"}


def test_redirect_queries_keep_what_the_uri_had() -> None:
    assert add_query("https://a.example/cb", {"code": "x y", "state": "s"}) == "https://a.example/cb?code=x+y&state=s"
    assert add_query("https://a.example/cb?k=&v=1#f", {"code": "c"}) == "https://a.example/cb?k=&v=1&code=c#f"


def test_not_registered() -> None:
    error = NotRegistered("no client 'x' is registered", "add_client() registers one")
    assert (error.message, error.hint) == ("no client 'x' is registered", "add_client() registers one")
    assert str(error) == "no client 'x' is registered; add_client() registers one"
    assert str(NotRegistered("no pair")) == "no pair"
    assert isinstance(error, KeyError)


CLIENT = Client("cid", "secret", scopes=("profile", "appstore::apps:readwrite"), grants=("refresh_token",))


def test_reasons() -> None:
    assert listed([], "none") == "none"
    assert listed(["a", "b"], "none") == "'a', 'b'"
    assert listed(list("abcdef"), "none") == "'a', 'b', 'c', 'd', 'e' and 1 more"
    assert listed(list("abcde"), "none") == "'a', 'b', 'c', 'd', 'e'"
    assert not_granted(CLIENT, "device_code") == (
        "client 'cid' may not use device_code (its grants: 'refresh_token'); add_client(grants=[...]) allows it"
    )
    assert not_granted(dataclasses.replace(CLIENT, grants=()), "device_code") == (
        "client 'cid' may not use device_code (its grants: none); add_client(grants=[...]) allows it"
    )
    assert wrong_secret(CLIENT, "") == (
        "no client_secret was sent, and client 'cid' must send one here (only a device poll, a PKCE code and a"
        " device's refresh token may leave it out)"
    )
    retired = dataclasses.replace(CLIENT, retired_secrets=("old",))
    assert wrong_secret(retired, "old") == "the client_secret sent is one retire_secret() retired for client 'cid'"
    assert wrong_secret(retired, "guess") == (
        "the client_secret sent is not client 'cid''s secret (nor a previous one rotate_secret() kept); use the"
        " client_secret add_client() returned"
    )
    assert unknown_client([CLIENT], "x") == (
        "client_id 'x' is not registered (registered: 'cid'); register it with add_client(), the lwa marker's"
        " clients=, or serve --client"
    )
    assert scope_reason([""], CLIENT) == "the scope is blank"
    # a hint only for a close match: 'apps:readwrite' is 0.74 alike 'appstore::apps:readwrite', under the 0.8 cut-off
    assert scope_reason(["apps:readwrite"], CLIENT) == (
        "scope 'apps:readwrite' is not registered for client 'cid' (its scopes: 'profile', 'appstore::apps:readwrite');"
        " add_client(scopes=[...]) registers scopes"
    )
    assert scope_reason(["appstore:apps:readwrite", "zzz"], CLIENT) == (
        "scope 'appstore:apps:readwrite' (did you mean 'appstore::apps:readwrite'?), 'zzz' is not registered for"
        " client 'cid' (its scopes: 'profile', 'appstore::apps:readwrite'); add_client(scopes=[...]) registers scopes"
    )
    assert scope_reason(["profil"], CLIENT, user_scopes=True) == (
        "scope 'profil' (did you mean 'profile'?) is not registered for client 'cid', nor a user scope (its scopes:"
        " 'profile', 'appstore::apps:readwrite'); add_client(scopes=[...]) registers scopes"
    )


def test_words_and_credentials_refuse_what_is_not_text() -> None:
    assert words(["a", "b"], "scopes") == ("a", "b")
    assert (credential(None, "client_id"), credential("x", "client_id")) == (None, "x")
    for bad in (5, "", "a b"):
        with pytest.raises(ValueError, match=f"^each of scopes must be a non-empty string without spaces, got {bad!r}"):
            words([bad], "scopes")  # type: ignore[list-item]
        with pytest.raises(
            ValueError,
            match=f"^client_id must be a non-empty string without spaces or control characters, got {bad!r}$",
        ):
            credential(bad, "client_id")  # type: ignore[arg-type]
