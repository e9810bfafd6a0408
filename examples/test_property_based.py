"""Property tests of a user's own client with pytest_lwa.strategies: every answer LWA can give.

The TokenCache of token_cache.py must take any well-formed token answer and turn any error answer
into its LwaAuthError, whatever the token's length, the scopes or the body style.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("hypothesis", reason="this example needs hypothesis: pip install 'pytest-lwa[strategies]'")

from hypothesis import HealthCheck, given, settings
from token_cache import LwaAuthError, TokenCache

from pytest_lwa import LwaServer
from pytest_lwa.strategies import error_responses, token_responses

# lwa_server is reset per test, not per example: each example queues the one answer it needs.
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def cache_for(server: LwaServer) -> TokenCache:
    app = server.add_client()
    return TokenCache(server.token_url, app.client_id, app.client_secret, "appstore::apps:readwrite", retries=0)


@EXAMPLES
@given(answer=token_responses())
def test_any_token_answer_is_cached(lwa_server: LwaServer, answer: dict[str, Any]) -> None:
    lwa_server.respond_next(200, json.dumps(answer))
    cache = cache_for(lwa_server)
    assert cache.token() == answer["access_token"]
    assert cache.token() == answer["access_token"] or answer["expires_in"] <= cache.margin


@EXAMPLES
@given(answer=error_responses())
def test_any_error_answer_is_an_lwa_auth_error(lwa_server: LwaServer, answer: tuple[int, bytes]) -> None:
    status, body = answer
    lwa_server.respond_next(status, body)
    with pytest.raises(LwaAuthError) as caught:
        cache_for(lwa_server).token()
    # a server fault's body is {} (docs/contract.md R23): a client that reads body["error"] fails here
    assert (caught.value.status, caught.value.error) == (status, json.loads(body).get("error", "server_error"))
