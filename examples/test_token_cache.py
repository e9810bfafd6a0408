"""A token-caching LWA client, and the four tests every such client deserves.

`TokenCache` is the shape most integrations grow: fetch a grantless token, keep it until shortly
before it expires, retry the token endpoint's 5xx answers, and fail cleanly on a bad secret. Its
clock and its back-off sleep are injectable, so the tests move time instead of waiting for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from pytest_lwa import LwaServer

SCOPE = "appstore::apps:readwrite"


class LwaAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status, self.error = status, error


class TokenCache:
    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = 2,
        margin: float = 60,
    ) -> None:
        self.token_url, self.scope = token_url, scope
        self.credentials = {"client_id": client_id, "client_secret": client_secret}
        self.clock, self.sleep, self.retries, self.margin = clock, sleep, retries, margin
        self.session = requests.Session()
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        if self._token is not None and self.clock() < self._expires_at - self.margin:
            return self._token
        form = {"grant_type": "client_credentials", "scope": self.scope, **self.credentials}
        for attempt in range(self.retries + 1):
            r = self.session.post(self.token_url, data=form, timeout=10)
            if r.status_code >= 500 and attempt < self.retries:
                self.sleep(2**attempt)
                continue
            body = r.json()
            if r.status_code != 200:  # Amazon's own faults answer 500 with an empty object: {}
                raise LwaAuthError(r.status_code, body.get("error", "server_error"), body.get("error_description", ""))
            self._token, self._expires_at = body["access_token"], self.clock() + body["expires_in"]
            return str(body["access_token"])
        raise AssertionError("unreachable")  # pragma: no cover


@pytest.fixture
def cache(lwa_server: LwaServer) -> TokenCache:
    app = lwa_server.add_client(scopes=[SCOPE])
    # The cache reads the server's clock, so clock.advance() moves both.
    return TokenCache(
        lwa_server.token_url, app.client_id, app.client_secret, SCOPE, clock=lwa_server.clock.now, sleep=lambda s: None
    )


def test_cache_hit(lwa_server: LwaServer, cache: TokenCache) -> None:
    assert cache.token() == cache.token()
    lwa_server.assert_token_requests(count=1)


def test_refreshes_after_expiry(lwa_server: LwaServer, cache: TokenCache) -> None:
    first = cache.token()
    lwa_server.clock.advance(3600)
    second = cache.token()
    assert second != first
    lwa_server.verify(second, scopes=[SCOPE])
    lwa_server.assert_token_requests(count=2, status=200)


def test_retries_a_503(lwa_server: LwaServer, cache: TokenCache) -> None:
    lwa_server.fail_next("temporarily_unavailable", status=503)
    assert cache.token().startswith("Atc|")
    assert [r.status for r in lwa_server.token_requests()] == [503, 200]


def test_bad_secret_is_a_clean_error_without_retries(lwa_server: LwaServer) -> None:
    app = lwa_server.add_client(scopes=[SCOPE])
    cache = TokenCache(lwa_server.token_url, app.client_id, "amzn1.oa2-cs.v1.rotated-away", SCOPE)
    with pytest.raises(LwaAuthError, match="401 invalid_client: Client authentication failed"):
        cache.token()
    lwa_server.assert_token_requests(count=1, status=401)
