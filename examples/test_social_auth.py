"""A website's "Login with Amazon" through social-auth-core's Amazon backend, with nothing rewritten.

The backend builds its own ``https://www.amazon.com/ap/oa?…`` URL and calls ``https://api.amazon.com``
itself. ``lwa_amazon_hosts`` takes its token and profile requests; ``follow`` plays the browser: it takes the
sign-in URL the backend built and returns where Amazon sends the browser back, the site's callback with
``code`` and ``state``. The strategy is the smallest a framework would give (settings, a session, the
request's parameters); ``authenticate`` returns what social-auth's pipeline would be handed.
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest

pytest.importorskip("social_core", reason="this example needs social-auth-core: pip install social-auth-core")

with warnings.catch_warnings():  # social-auth imports python3-openid, which imports a deprecated defusedxml module
    warnings.simplefilter("ignore", DeprecationWarning)
    from social_core.backends.amazon import AmazonOAuth2
    from social_core.exceptions import AuthCanceled
    from social_core.strategy import BaseStrategy

from pytest_lwa import LwaServer

CALLBACK = "https://shop.example/complete/amazon/"


class Nonces:
    """social-auth's nonce storage: a state is stored when the sign-in begins, consumed once at the callback."""

    stored: set[tuple[str, int, str]] = set()  # noqa: RUF012

    @classmethod
    def use(cls, server_url: str, timestamp: int, salt: str) -> bool:
        fresh = (server_url, timestamp, salt) not in cls.stored
        cls.stored.add((server_url, timestamp, salt))
        return fresh

    @classmethod
    def consume(cls, server_url: str, timestamp: int, salt: str) -> bool:
        if (server_url, timestamp, salt) not in cls.stored:
            return False
        cls.stored.remove((server_url, timestamp, salt))
        return True


class Storage:
    nonce = Nonces


class Strategy(BaseStrategy):
    def __init__(self, settings: dict[str, str]) -> None:
        super().__init__(Storage)
        self.settings, self.session, self.data = settings, dict[str, Any](), dict[str, str]()

    def get_setting(self, name: str) -> Any:
        return self.settings[name]

    def request_data(self, merge: bool = True) -> dict[str, str]:
        return dict(self.data)

    def session_get(self, name: str, default: Any = None) -> Any:
        return self.session.get(name, default)

    def session_set(self, name: str, value: Any) -> None:
        self.session[name] = value

    def session_pop(self, name: str) -> Any:
        return self.session.pop(name, None)

    def build_absolute_uri(self, path: str | None = None) -> str:
        return urljoin("https://shop.example/", path)

    def authenticate(self, backend: Any, *args: Any, **kwargs: Any) -> Any:
        return kwargs["response"]  # what the pipeline would be handed


def sign_in(server: LwaServer) -> tuple[Strategy, str]:
    """The site's login view: the backend's authorization URL, followed as the browser would."""
    app = server.add_client(redirect_uris=[CALLBACK])
    strategy = Strategy({"SOCIAL_AUTH_AMAZON_KEY": app.client_id, "SOCIAL_AUTH_AMAZON_SECRET": app.client_secret})
    url = AmazonOAuth2(strategy, redirect_uri=CALLBACK).auth_url()
    assert url.startswith("https://www.amazon.com/ap/oa?")
    return strategy, server.follow(url)


def complete(strategy: Strategy, callback: str) -> Any:
    """The site's callback view: the backend exchanges the code and reads the profile."""
    strategy.data = dict(parse_qsl(urlsplit(callback).query))
    return AmazonOAuth2(strategy, redirect_uri=CALLBACK).auth_complete()


def test_login_with_amazon(lwa_amazon_hosts: LwaServer) -> None:
    customer = lwa_amazon_hosts.add_user(name="Ada Lovelace", email="ada@example.com")
    lwa_amazon_hosts.set_consent(customer.user_id)
    strategy, callback = sign_in(lwa_amazon_hosts)
    assert callback.startswith(CALLBACK + "?code=")
    details = complete(strategy, callback)
    assert (details["user_id"], details["name"], details["email"]) == (
        customer.user_id,
        "Ada Lovelace",
        "ada@example.com",
    )
    assert details["access_token"].startswith("Atza|")
    hosts = [(r.host, r.path) for r in lwa_amazon_hosts.request_log]
    assert hosts == [
        ("www.amazon.com", "/ap/oa"),
        ("api.amazon.com", "/auth/o2/token"),
        ("api.amazon.com", "/user/profile"),
    ]


def test_login_declined(lwa_amazon_hosts: LwaServer) -> None:
    lwa_amazon_hosts.set_consent(granted=False)
    strategy, callback = sign_in(lwa_amazon_hosts)
    with pytest.raises(AuthCanceled):
        complete(strategy, callback)
