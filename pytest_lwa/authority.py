"""The authorization server's state, with no HTTP in sight.

:class:`Authority` holds clients, users, the live authorization codes and device code pairs, revocations, the
clock and the token minter. The rules of each grant and flow live in :mod:`pytest_lwa.grants`, one module
each, registered in one table; every answer is a success body or the exact :class:`~pytest_lwa.errors.LwaError`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from .clock import ManualClock
from .grants import GRANT_TYPES, authorization_code, device_code, selling_partner, token_endpoint
from .grants.selling_partner import SellingPartnerMethods
from .grants.token_endpoint import BasicCredentials
from .model import (
    CLIENT_CREDENTIALS_SCOPES,
    CLIENT_ID_PREFIX,
    CLIENT_SECRET_PREFIX,
    USER_ID_PREFIX,
    USER_SCOPES,
    Client,
    NotRegistered,
    Settings,
    TokenRejected,
    User,
    credential,
    digest,
    flag,
    optional_text,
    pkce_challenge,
    random_letters,
    text,
    words,
)
from .tokens import REFRESH_TOKEN, USER_TOKEN, TokenClaims, TokenMinter

__all__ = [
    "CLIENT_CREDENTIALS_SCOPES",
    "GRANT_TYPES",
    "USER_SCOPES",
    "Authority",
    "Client",
    "Settings",
    "TokenRejected",
    "User",
    "pkce_challenge",
]


class Authority(SellingPartnerMethods):
    """An in-memory Login With Amazon authorization server (Selling Partner methods: :class:`SellingPartnerMethods`)."""

    def __init__(self, settings: Settings | None = None, *, tick: bool = False) -> None:
        self._defaults = settings if settings is not None else Settings()
        self._tick = tick
        self.lock = threading.RLock()
        self.reset()

    # --- state --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every client, user, code and token; restore the default settings; start a new clock."""
        with self.lock:
            self.settings = self._defaults
            self.clock = ManualClock(tick=self._tick)
            self._clients: dict[str, Client] = {}
            self._users: dict[str, User] = {}
            self.codes = authorization_code.Codes()
            self.pairs = device_code.Pairs()
            self.revoked: set[bytes] = set()
            self._named: dict[str, TokenClaims] = {}  # refresh tokens whose text a configuration chose
            # made on first use: a reset that nothing follows (the one after each test) costs next to nothing
            self._minter: TokenMinter | None = None
            self._token_key = secrets.token_bytes()  # drawn here, outside any answer (see pytest_lwa.unique)
            self._default_user: User | None = None
            self._consent: tuple[User, bool] | None = None
            self._selling_partners: selling_partner.SellingPartners | None = None

    @property
    def minter(self) -> TokenMinter:
        """Mints and reads this server's tokens; a new key after each reset."""
        with self.lock:
            if self._minter is None:
                self._minter = TokenMinter(self._token_key)
            return self._minter

    @property
    def default_user(self) -> User:
        """The user who consents at ``/ap/oa`` unless :meth:`set_consent` names another; always registered."""
        with self.lock:
            if self._default_user is None:
                self._default_user = self._new_user(None, "Test Customer", "customer@example.com", "98109")
            return self._default_user

    @property
    def consent(self) -> tuple[User, bool]:
        """Who answers ``/ap/oa``'s consent, and whether they agree (:meth:`set_consent`)."""
        return self._consent if self._consent is not None else (self.default_user, True)

    @property
    def selling_partners(self) -> selling_partner.SellingPartners:
        """The SP-API applications, selling partners and workflows in progress."""
        with self.lock:
            if self._selling_partners is None:
                self._selling_partners = selling_partner.SellingPartners()
            return self._selling_partners

    def configure(self, /, **changes: Any) -> Settings:
        """Change settings (see :class:`Settings`) until the next reset."""
        if not changes:
            return self.settings
        unknown = set(changes) - set(Settings.__dataclass_fields__)
        if unknown:
            known = ", ".join(Settings.__dataclass_fields__)
            raise TypeError(f"unknown setting(s) {', '.join(sorted(unknown))}; settings are: {known}")
        self.settings = replace(self.settings, **changes)
        return self.settings

    # --- clients --------------------------------------------------------------------------------

    def add_client(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: Iterable[str] = CLIENT_CREDENTIALS_SCOPES,
        *,
        grants: Iterable[str] = GRANT_TYPES,
        redirect_uris: Iterable[str] = (),
    ) -> Client:
        """Register a client; omitted credentials are generated in Amazon's formats.

        ``scopes``: what it may request with ``client_credentials`` (default: every documented
        client-credentials scope). ``grants``: the grant types it may use (default: all).
        ``redirect_uris``: its allowed return URLs for the authorize step.
        """
        grant_list = words(grants, "grants")
        for grant in grant_list:
            if grant not in GRANT_TYPES:
                raise ValueError(f"unknown grant {grant!r}; grants are: {', '.join(GRANT_TYPES)}")
        client = Client(
            client_id=credential(client_id, "client_id") or CLIENT_ID_PREFIX + secrets.token_hex(16),
            client_secret=credential(client_secret, "client_secret") or CLIENT_SECRET_PREFIX + secrets.token_hex(32),
            scopes=words(scopes, "scopes"),
            grants=grant_list,
            redirect_uris=words(redirect_uris, "redirect_uris"),
        )
        with self.lock:
            if client.client_id in self._clients:
                raise ValueError(
                    f"a client with client_id {client.client_id!r} is already registered;"
                    " call remove_client() first to replace it"
                )
            self._clients[client.client_id] = client
        return client

    def remove_client(self, client: Client | str) -> None:
        """Unregister a client; its requests then fail with ``invalid_client``."""
        with self.lock:
            del self._clients[self._client(client).client_id]

    @property
    def clients(self) -> list[Client]:
        """The registered clients, in registration order."""
        with self.lock:
            return list(self._clients.values())

    def find_client(self, client_id: str) -> Client | None:
        """The registered client with ``client_id``, if any."""
        return self._clients.get(client_id)

    def _client(self, client: Client | str) -> Client:
        client_id = client.client_id if isinstance(client, Client) else text(client, "client_id")
        found = self._clients.get(client_id)
        if found is None:
            raise NotRegistered(f"no client with client_id {client_id!r} is registered", "add_client() registers one")
        return found

    def rotate_secret(self, client: Client | str, new_secret: str | None = None) -> Client:
        """Give a client a new secret; the old one keeps working until :meth:`retire_secret`.

        Returns the updated client (its ``client_secret`` is the new one).
        """
        with self.lock:
            current = self._client(client)
            secret = credential(new_secret, "new_secret") or CLIENT_SECRET_PREFIX + secrets.token_hex(32)
            if secret == current.client_secret or secret in current.previous_secrets:
                raise ValueError("new_secret must differ from the client's current and previous secrets")
            updated = replace(
                current, client_secret=secret, previous_secrets=(current.client_secret, *current.previous_secrets)
            )
            self._clients[updated.client_id] = updated
            return updated

    def retire_secret(self, client: Client | str, secret: str | None = None) -> Client:
        """Stop accepting a previous secret (all previous ones when ``secret`` is omitted)."""
        with self.lock:
            current = self._client(client)
            if secret is not None and secret not in current.previous_secrets:
                hint = " (it is the current secret)" if secret == current.client_secret else ""
                raise ValueError(f"that secret is not one of the client's previous secrets{hint}")
            kept = tuple(s for s in current.previous_secrets if secret is not None and s != secret)
            retired = (*current.retired_secrets, *(s for s in current.previous_secrets if s not in kept))
            updated = replace(current, previous_secrets=kept, retired_secrets=retired)
            self._clients[updated.client_id] = updated
            return updated

    # --- users --------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str | None = None,
        *,
        name: str = "Test Customer",
        email: str = "customer@example.com",
        postal_code: str = "98109",
    ) -> User:
        """Register an Amazon customer; ``user_id`` defaults to a new ``amzn1.account.…`` id."""
        with self.lock:
            self.default_user  # noqa: B018 (the default user stays the first registered)
            return self._new_user(user_id, name, email, postal_code)

    def _new_user(self, user_id: str | None, name: str, email: str, postal_code: str) -> User:
        user = User(
            credential(user_id, "user_id") or USER_ID_PREFIX + random_letters(28),
            text(name, "name"),
            text(email, "email"),
            text(postal_code, "postal_code"),
        )
        with self.lock:
            if user.user_id in self._users:
                raise ValueError(f"a user with user_id {user.user_id!r} is already registered")
            self._users[user.user_id] = user
        return user

    @property
    def users(self) -> list[User]:
        """The registered users; the first is :attr:`default_user`."""
        with self.lock:
            self.default_user  # noqa: B018 (made on first use)
            return list(self._users.values())

    def find_user(self, user_id: str) -> User | None:
        """The registered user with ``user_id``, if any."""
        return self._users.get(user_id)

    def _user(self, user: User | str | None) -> User:
        if user is None:
            return self.default_user
        user_id = user.user_id if isinstance(user, User) else text(user, "user_id")
        found = self._users.get(user_id)
        if found is None:
            raise NotRegistered(f"no user with user_id {user_id!r} is registered", "add_user() registers one")
        return found

    def set_consent(self, user: User | str | None = None, *, granted: bool = True) -> None:
        """Who answers the consent screen of ``GET /ap/oa`` from now on, and whether they agree.

        ``set_consent(granted=False)`` makes the user deny: the redirect carries ``error=access_denied``.
        """
        self._consent = (self._user(user), flag(granted, "granted"))

    # --- refresh tokens and revocation --------------------------------------------------------

    def issue_refresh_token(
        self,
        client: Client | str,
        scopes: Iterable[str] = ("profile",),
        user: User | str | None = None,
        *,
        token: str | None = None,
    ) -> str:
        """A refresh token as if ``user`` (default: the default user) had consented to ``client``.

        ``token`` chooses its exact text (it must start with ``Atzr|``), for a CI configuration that other
        programs already know; otherwise a new opaque one is minted.
        """
        claims = TokenClaims(
            REFRESH_TOKEN,
            self._client(client).client_id,
            " ".join(words(scopes, "scopes")),
            self.clock.now(),
            None,
            self._user(user).user_id,
        )
        if token is None:
            return self.minter.mint(claims)
        if not isinstance(token, str) or not token.startswith(REFRESH_TOKEN) or token.split() != [token]:
            raise ValueError(
                f"a chosen refresh token must start with {REFRESH_TOKEN!r} and have no spaces, got {token!r}"
            )
        with self.lock:
            if token in self._named or self.minter.read(token) is not None:
                raise ValueError(f"the refresh token {token!r} already exists")
            self._named[token] = claims
        return token

    def mint_refresh(self, client_id: str, scope: str, user_id: str, *, public: bool) -> str:
        """A refresh token; ``public`` for a client that holds no secret (it refreshes with its id alone)."""
        return self.minter.mint(TokenClaims(REFRESH_TOKEN, client_id, scope, self.clock.now(), None, user_id, public))

    def revoke(self, token: str) -> None:
        """Make a refresh or access token stop working (access tokens issued earlier keep their expiry)."""
        if text(token, "token") not in self._named and self.minter.read(token) is None:
            raise ValueError("that is not a token this server issued (or it was issued before the last reset)")
        with self.lock:
            self.revoked.add(digest(token))

    def claims(self, token: str) -> TokenClaims | None:
        """The claims of an unrevoked token this server issued."""
        claims = self._named.get(token) or self.minter.read(token)
        if claims is None or digest(token) in self.revoked:
            return None
        return claims

    # --- authorization codes and device code pairs (rules in pytest_lwa.grants) -----------------

    def issue_authorization_code(
        self,
        client: Client | str,
        scopes: Iterable[str] = ("profile",),
        user: User | str | None = None,
        *,
        redirect_uri: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str = "S256",
    ) -> str:
        """An authorization code as the authorize step would give it, skipping the browser."""
        optional_text(redirect_uri, "redirect_uri")
        optional_text(code_challenge, "code_challenge")
        if code_challenge_method not in ("S256", "plain"):
            raise ValueError("code_challenge_method must be 'S256' or 'plain'")
        return authorization_code.issue(
            self,
            self._client(client).client_id,
            " ".join(words(scopes, "scopes")),
            self._user(user).user_id,
            redirect_uri,
            code_challenge,
            code_challenge_method if code_challenge is not None else None,
        )

    def authorize(
        self, params: Mapping[str, str], consent: tuple[User, bool] | None = None
    ) -> authorization_code.Authorization:
        """Answer ``GET /ap/oa``: see :func:`pytest_lwa.grants.authorization_code.authorize`."""
        return authorization_code.authorize(self, params, consent)

    def create_code_pair(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Answer ``POST /auth/o2/create/codepair``."""
        return device_code.create_code_pair(self, params)

    def approve_device(self, user_code: str, user: User | str | None = None) -> None:
        """The user enters ``user_code`` and consents: the next poll gets tokens."""
        self.pairs.decide(text(user_code, "user_code"), "approved", self._user(user), self.clock.now())

    def deny_device(self, user_code: str) -> None:
        """The user enters ``user_code`` and refuses: the next poll gets ``access_denied``."""
        self.pairs.decide(text(user_code, "user_code"), "denied", None, self.clock.now())

    # --- the token endpoint -------------------------------------------------------------------

    def token(self, params: Mapping[str, str], basic: BasicCredentials = None) -> dict[str, Any]:
        """Answer a token request's parameters (``basic``: the credentials of its HTTP Basic header)."""
        return token_endpoint.answer(self, params, basic)

    def access_token(self, prefix: str, client_id: str, scope: str, user_id: str | None = None) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        now = self.clock.now()
        expires_in = self.settings.expires_in
        return self.minter.mint(TokenClaims(prefix, client_id, scope, now, now + expires_in, user_id)), expires_in

    def user_tokens(self, client_id: str, scope: str, user_id: str, refresh_token: str) -> dict[str, Any]:
        """The success body of a grant that acts for a user."""
        access, expires_in = self.access_token(USER_TOKEN, client_id, scope, user_id)
        return {
            "access_token": access,
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_in": expires_in,
        }

    # --- token checks for the API side --------------------------------------------------------

    def verify(self, token: str, scopes: Iterable[str] = ()) -> TokenClaims:
        """What a resource server would check: the claims of a live access token carrying ``scopes``.

        Raises :class:`TokenRejected` whose ``reason`` is ``"missing"``, ``"invalid"`` (not an access
        token this server issued), ``"revoked"``, ``"expired"`` or ``"insufficient_scope"``.
        """
        wanted = words(scopes, "scopes")
        if not token:
            raise TokenRejected("missing", "no access token was given")
        claims = self.minter.read(token)
        if claims is None or claims.prefix == REFRESH_TOKEN or claims.expires_at is None:
            raise TokenRejected("invalid", "not an access token this server issued (or issued before a reset)")
        if digest(token) in self.revoked:
            raise TokenRejected("revoked", "the access token was revoked")
        now = self.clock.now()
        if claims.expires_at <= now:
            raise TokenRejected("expired", f"the access token expired {now - claims.expires_at:g} s ago (server clock)")
        missing = [s for s in wanted if s not in claims.scopes]
        if missing:
            raise TokenRejected(
                "insufficient_scope", f"the access token lacks scope(s) {' '.join(missing)}; it has {claims.scope!r}"
            )
        return claims
