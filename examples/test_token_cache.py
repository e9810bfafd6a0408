"""The four tests every token-caching LWA client deserves, here for the TokenCache of token_cache.py."""

from __future__ import annotations

import pytest
from token_cache import LwaAuthError, TokenCache

from pytest_lwa import LwaServer

SCOPE = "appstore::apps:readwrite"


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
