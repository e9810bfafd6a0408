"""A client is a security profile (contract N19): its name, description, privacy notice, logo and Allowed
Origins, wherever a client is registered, and the consent page that shows them."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from werkzeug.test import Client as WsgiClient

from pytest_lwa import LwaServer
from pytest_lwa.admin import AdminApp
from pytest_lwa.authority import Authority
from pytest_lwa.config import load_config

PROFILE = {
    "name": "Cookie <Shop> & Co",
    "description": "Bakes cookies",
    "privacy_notice_url": "https://shop.example/privacy?lang=en&x=1",
    "logo_url": "https://shop.example/logo.png",
    "allowed_origins": ["https://Shop.example", "http://127.0.0.1:8123/"],
}


def test_a_client_carries_its_profile() -> None:
    client = Authority().add_client("cid", "s", redirect_uris=["https://shop.example/cb"], **PROFILE)
    assert (client.name, client.description, client.privacy_notice_url, client.logo_url, client.allowed_origins) == (
        "Cookie <Shop> & Co",
        "Bakes cookies",
        "https://shop.example/privacy?lang=en&x=1",
        "https://shop.example/logo.png",
        ("https://shop.example", "http://127.0.0.1:8123"),  # origins as a browser sends them
    )
    plain = Authority().add_client()
    assert (plain.name, plain.description, plain.privacy_notice_url, plain.logo_url, plain.allowed_origins) == (
        "Test Application",
        "",
        "https://app.example.com/privacy",
        None,
        (),
    )


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"name": " "}, ValueError, "name must be a non-empty string of printable characters, got ' '"),
        ({"name": "two\nlines"}, ValueError, "name must be a non-empty string of printable characters"),
        ({"description": None}, TypeError, "description must be a string, got None"),
        ({"privacy_notice_url": None}, TypeError, "privacy_notice_url must be a string, got None"),
        ({"privacy_notice_url": "ftp://x.example/p"}, ValueError, "privacy_notice_url must be an absolute http or"),
        ({"logo_url": "https://"}, ValueError, "logo_url must be an absolute http or https URL, got 'https://'"),
        ({"allowed_origins": ["https://a.example:x"]}, ValueError, "each of allowed_origins must be an absolute"),
        ({"allowed_origins": ["https://a.example?q"]}, ValueError, "each of allowed_origins must be an origin"),
        ({"allowed_origins": ["https://u@a.example"]}, ValueError, "each of allowed_origins must be an origin"),
    ],
)
def test_bad_profile_fields_are_refused_clearly(fields: dict[str, object], error: type, message: str) -> None:
    authority = Authority()
    with pytest.raises(error) as raised:
        authority.add_client(**fields)  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)
    assert authority.clients == []


def test_the_admin_api_registers_and_lists_a_profile() -> None:
    with LwaServer() as server:
        admin = WsgiClient(AdminApp(server.app, server, token=None, enabled=True, on_reset=server.reset))
        made = admin.post("/_lwa/clients", json={"client_id": "cid", **PROFILE})
        assert made.status_code == 201
        body = made.get_json()
        assert {key: body[key] for key in PROFILE} == {
            **PROFILE,
            "allowed_origins": ["https://shop.example", "http://127.0.0.1:8123"],
        }
        assert admin.get("/_lwa/clients").get_json()["clients"][-1] == body


def test_a_toml_client_has_a_profile(tmp_path: Path) -> None:
    path = tmp_path / "lwa.toml"
    path.write_text(
        '[[clients]]\nclient_id = "cid"\nclient_secret = "s"\nname = "Cookie Shop"\ndescription = "Bakes"\n'
        'privacy_notice_url = "https://shop.example/privacy"\nallowed_origins = ["https://shop.example"]\n'
    )
    authority = Authority()
    load_config(path).apply(authority)
    (client,) = authority.clients
    assert (client.name, client.description, client.privacy_notice_url, client.allowed_origins) == (
        "Cookie Shop",
        "Bakes",
        "https://shop.example/privacy",
        ("https://shop.example",),
    )


def test_the_consent_page_names_the_profile_and_links_its_privacy_notice(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(redirect_uris=["https://shop.example/cb"], **PROFILE)
    lwa_server.configure(interactive_consent=True)
    params = {"client_id": client.client_id, "scope": "profile", "response_type": "code"}
    page = requests.get(lwa_server.url + "/ap/oa", params=params, timeout=5)
    assert page.status_code == 200
    assert "<h1>Sign in with Amazon to Cookie &lt;Shop&gt; &amp; Co</h1>" in page.text
    assert (
        '<p>See <a id="lwa-privacy" href="https://shop.example/privacy?lang=en&amp;x=1">'
        "Cookie &lt;Shop&gt; &amp; Co's privacy notice</a>.</p>"
    ) in page.text
    assert "<script" not in page.text
    assert "logo.png" not in page.text  # no external asset: the logo is kept, not shown
    assert "overflow-wrap:anywhere" in page.text
