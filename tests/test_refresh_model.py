"""Random interleavings of issue / refresh / revoke / rotate / advance-clock agree with a simple model."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from helpers import token_request
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pytest_lwa import Client, LwaServer


@dataclass
class ClientModel:
    client: Client
    secrets: list[str] = field(default_factory=list)  # every secret the server should accept


class RefreshModel(RuleBasedStateMachine):
    refresh_tokens = Bundle("refresh_tokens")

    def __init__(self, server: LwaServer) -> None:
        super().__init__()
        server.reset()
        self.server = server
        self.session = requests.Session()
        self.clients = [ClientModel(server.add_client()) for _ in range(2)]
        for model in self.clients:
            model.secrets.append(model.client.client_secret)
        self.live_refresh: dict[str, int] = {}  # token -> index of its client
        self.access_expiry: dict[str, float] = {}
        self.rotating = False

    def teardown(self) -> None:
        self.session.close()

    def post_refresh(self, token: str, index: int, secret: str) -> requests.Response:
        client = self.clients[index].client
        return token_request(
            self.server, client, "refresh_token", session=self.session, refresh_token=token, client_secret=secret
        )

    @initialize(rotating=st.booleans())
    def start(self, rotating: bool) -> None:
        self.rotating = rotating
        self.server.configure(rotate_refresh_tokens=rotating)

    @rule(target=refresh_tokens, index=st.integers(0, 1))
    def issue(self, index: int) -> str:
        token = self.server.issue_refresh_token(self.clients[index].client, scopes=["profile"])
        self.live_refresh[token] = index
        return token

    @rule(target=refresh_tokens, token=refresh_tokens, index=st.integers(0, 1), newest_secret=st.booleans())
    def refresh(self, token: str, index: int, newest_secret: bool) -> str:
        """Refresh; returns the refresh token the answer carries (the same one unless rotating)."""
        model = self.clients[index]
        secret = model.secrets[-1] if newest_secret or len(model.secrets) == 1 else model.secrets[0]
        r = self.post_refresh(token, index, secret)
        if self.live_refresh.get(token) != index:
            assert r.status_code == 400, r.text
            assert r.json()["error"] == "invalid_grant"
            return token
        assert r.status_code == 200, r.text
        body = r.json()
        if self.rotating:
            assert body["refresh_token"] != token
            del self.live_refresh[token]
            self.live_refresh[body["refresh_token"]] = index
        else:
            assert body["refresh_token"] == token
        self.access_expiry[body["access_token"]] = self.server.clock.now() + 3600
        return str(body["refresh_token"])

    @rule(target=refresh_tokens, token=refresh_tokens)
    def refresh_as_owner(self, token: str) -> str:
        """Refresh with the client the token was issued to, when it is still live."""
        return self.refresh(token, self.live_refresh.get(token, 0), newest_secret=True)

    @rule(token=refresh_tokens)
    def revoke(self, token: str) -> None:
        self.server.revoke(token)
        self.live_refresh.pop(token, None)

    @precondition(lambda self: self.access_expiry)
    @rule(data=st.data())
    def revoke_access(self, data: st.DataObject) -> None:
        token = data.draw(st.sampled_from(sorted(self.access_expiry)))
        self.server.revoke(token)
        del self.access_expiry[token]

    @rule()
    def toggle_rotation(self) -> None:
        self.rotating = not self.rotating
        self.server.configure(rotate_refresh_tokens=self.rotating)

    @rule(index=st.integers(0, 1))
    def rotate_secret(self, index: int) -> None:
        model = self.clients[index]
        model.client = self.server.rotate_secret(model.client)
        model.secrets.append(model.client.client_secret)

    @rule(index=st.integers(0, 1))
    def retire_secrets(self, index: int) -> None:
        model = self.clients[index]
        model.client = self.server.retire_secret(model.client)
        retired, model.secrets[:] = model.secrets[:-1], [model.client.client_secret]
        token = self.server.issue_refresh_token(model.client)
        self.live_refresh[token] = index
        for secret in retired:
            r = self.post_refresh(token, index, secret)
            assert r.status_code == 401, r.text

    @rule(seconds=st.sampled_from([1, 59, 600, 1800, 3599, 3600]))
    def advance(self, seconds: int) -> None:
        self.server.clock.advance(seconds)

    @invariant()
    def access_tokens_live_exactly_as_the_model_says(self) -> None:
        now = self.server.clock.now()
        for token, expiry in list(self.access_expiry.items())[-3:]:
            r = self.session.get(self.server.tokeninfo_url, params={"access_token": token}, timeout=5)
            assert (r.status_code == 200) == (expiry > now), (r.text, expiry - now)


def test_refresh_tokens_agree_with_the_model(lwa_session_server: LwaServer) -> None:
    run_state_machine_as_test(
        lambda: RefreshModel(lwa_session_server),
        settings=settings(max_examples=60, stateful_step_count=30, deadline=None),
    )
    lwa_session_server.reset()
