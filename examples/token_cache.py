"""A token-caching LWA client: the shape most integrations grow, and what the examples test.

Fetch a grantless token, keep it until shortly before it expires, retry the token endpoint's 5xx answers,
and fail cleanly on a bad secret. Its clock and its back-off sleep are injectable, so tests move time
instead of waiting for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests


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
