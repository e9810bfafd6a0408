"""The authorization server's state, with no HTTP in sight.

:class:`Authority` holds clients, users, the settings, the clock and the token minter, and one store of
:mod:`pytest_lwa.stores` for each other kind of state (authorization codes, device code pairs, revocations,
Seller Central's). The rules of each grant and flow live in :mod:`pytest_lwa.grants`, one module each,
registered in one table, and see the authority only as a :class:`~pytest_lwa.port.Port`; every answer is a
success body or the exact :class:`~pytest_lwa.errors.LwaError`.

Lock order: the authority's own lock first, then at most one store's (see :mod:`pytest_lwa.stores`).
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Unpack
from urllib.parse import urlsplit

from .clock import ManualClock
from .grants import authorization_code, authorize_endpoint, device_code, selling_partner, token_endpoint
from .grants.selling_partner import APPLICATION_ID_PREFIX, SellingPartner, SellingPartnerApp, Step
from .grants.token_endpoint import BasicCredentials
from .model import (
    CLIENT_CREDENTIALS_SCOPES,
    CLIENT_ID_PREFIX,
    CLIENT_SECRET_PREFIX,
    DAY,
    GRANT_TYPES,
    ROTATION_OVERLAP,
    USER_ID_PREFIX,
    USER_SCOPES,
    Client,
    NotRegistered,
    Secret,
    Settings,
    SettingValues,
    TokenRejected,
    User,
    check_setting_names,
    credential,
    flag,
    notice_days,
    optional_text,
    origins,
    pkce_challenge,
    random_letters,
    text,
    web_url,
    words,
)
from .notices import deliver, expiry_body, new_secret_body
from .stores import Codes, Consent, Notification, Notifications, Pairs, Revocations, SellerCentral
from .tokens import REFRESH_TOKEN, TokenClaims, TokenMinter

logger = logging.getLogger("pytest_lwa")


def _lifetime(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"secret_lifetime must be a whole number of seconds >= 1 (or None: never), got {value!r}")
    return value


def _queue(value: str | None) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip() or value.split() != [value]):
        raise ValueError(f"notification_queue must be a queue URL or ARN without spaces, got {value!r}")
    return value


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


class Authority:
    """An in-memory Login With Amazon authorization server."""

    def __init__(self, settings: Settings | None = None, *, tick: bool = False) -> None:
        self._defaults = settings if settings is not None else Settings()
        self._tick = tick
        #: guards the clients, users, settings, named refresh tokens, consent and the things made on first
        #: use; taken before a store's lock, never after (see pytest_lwa.stores)
        self._lock = threading.RLock()
        self.reset()

    # --- state --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every client, user, code and token; restore the default settings; start a new clock."""
        with self._lock:
            self.settings = self._defaults
            self.clock = ManualClock(tick=self._tick)
            self._clients: dict[str, Client] = {}
            self._users: dict[str, User] = {}
            #: the live authorization codes (and ``spapi_oauth_code``\ s)
            self.codes = Codes()
            #: the live device code pairs
            self.pairs = Pairs()
            #: the revoked tokens
            self.revocations = Revocations()
            #: the SP-API applications, selling partners, the seller consent and the workflows in progress
            self.seller_central = SellerCentral()
            #: the rotation notifications sent, and what the expiry notices and the rate limit remember
            self.notices = Notifications()
            self.clock.on_move(self.send_due_notices)
            self._named: dict[str, TokenClaims] = {}  # refresh tokens whose text a configuration chose
            # made on first use: a reset that nothing follows (the one after each test) costs next to nothing
            self._minter: TokenMinter | None = None
            self._token_key = secrets.token_bytes()  # drawn here, outside any answer (see pytest_lwa.unique)
            self._default_user: User | None = None
            self._consent: tuple[User, bool] | None = None
            self._consent_scopes: frozenset[str] | None = None
            #: the consents given at ``/ap/oa``, oldest first: what was asked and granted, and ``scope_data``
            self.consents: list[Consent] = []

    @property
    def minter(self) -> TokenMinter:
        """Mints and reads this server's tokens; a new key after each reset."""
        with self._lock:
            if self._minter is None:
                self._minter = TokenMinter(self._token_key)
            return self._minter

    @property
    def default_user(self) -> User:
        """The user who consents at ``/ap/oa`` unless :meth:`set_consent` names another; always registered."""
        with self._lock:
            if self._default_user is None:
                self._default_user = self._new_user(None, "Test Customer", "customer@example.com", "98109")
            return self._default_user

    @property
    def consent(self) -> tuple[User, bool]:
        """Who answers ``/ap/oa``'s consent, and whether they agree (:meth:`set_consent`)."""
        with self._lock:
            return self._consent if self._consent is not None else (self.default_user, True)

    @property
    def consent_scopes(self) -> frozenset[str] | None:
        """The voluntary scopes automatic consent leaves ticked (:meth:`set_consent`'s ``grant_scopes``)."""
        with self._lock:
            return self._consent_scopes

    def configure(self, /, **changes: Unpack[SettingValues]) -> Settings:
        """Change settings (see :class:`Settings`) until the next reset."""
        if not changes:
            return self.settings
        check_setting_names(changes)
        with self._lock:
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
        secret_lifetime: int | None = None,
        name: str = "Test Application",
        description: str = "",
        privacy_notice_url: str = "https://app.example.com/privacy",
        logo_url: str | None = None,
        allowed_origins: Iterable[str] = (),
    ) -> Client:
        """Register a client (a security profile); omitted credentials are generated in Amazon's formats.

        ``scopes``: what it may request with ``client_credentials`` (default: every documented
        client-credentials scope). ``grants``: the grant types it may use (default: all).
        ``redirect_uris``: its allowed return URLs for the authorize step. ``secret_lifetime``: seconds each
        of its secrets works on the server clock (default: for ever; an SP-API application's client gets
        the ``sp_secret_lifetime`` setting's 180 days when it has none). ``name``, ``description``,
        ``privacy_notice_url`` and ``logo_url``: what the consent page shows of it (the name, and a link to
        the privacy notice). ``allowed_origins``: the web origins (``scheme://host[:port]``) its pages run on.
        """
        lifetime = _lifetime(secret_lifetime)
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
            secret_lifetime=lifetime,
            name=_profile_name(name),
            description=text(description, "description"),
            privacy_notice_url=web_url(text(privacy_notice_url, "privacy_notice_url"), "privacy_notice_url") or "",
            logo_url=web_url(logo_url, "logo_url"),
            allowed_origins=origins(allowed_origins, "allowed_origins"),
        )
        now = self.clock.now()
        client = replace(client, secrets=(Secret(client.client_secret, now, now + lifetime if lifetime else None),))
        with self._lock:
            if client.client_id in self._clients:
                raise ValueError(
                    f"a client with client_id {client.client_id!r} is already registered;"
                    " call remove_client() first to replace it"
                )
            self._clients[client.client_id] = client
        return client

    def remove_client(self, client: Client | str) -> None:
        """Unregister a client; its requests then fail with ``invalid_client``."""
        with self._lock:
            del self._clients[self._client(client).client_id]

    @property
    def clients(self) -> list[Client]:
        """The registered clients, in registration order."""
        with self._lock:
            return list(self._clients.values())

    def find_client(self, client_id: str) -> Client | None:
        """The registered client with ``client_id``, if any."""
        with self._lock:
            return self._clients.get(client_id)

    def _client(self, client: Client | str) -> Client:
        client_id = client.client_id if isinstance(client, Client) else text(client, "client_id")
        found = self.find_client(client_id)
        if found is None:
            raise NotRegistered(f"no client with client_id {client_id!r} is registered", "add_client() registers one")
        return found

    def rotate_secret(self, client: Client | str, new_secret: str | None = None) -> Client:
        """Give a client a new secret; the old one keeps working 7 days on the server clock (as Amazon's
        rotation, N8), or until :meth:`retire_secret`. The new one lives the client's ``secret_lifetime``.

        Returns the updated client (its ``client_secret`` is the new one).
        """
        with self._lock:
            current = self._client(client)
            secret = credential(new_secret, "new_secret") or CLIENT_SECRET_PREFIX + secrets.token_hex(32)
            if secret == current.client_secret or secret in current.previous_secrets:
                raise ValueError("new_secret must differ from the client's current and previous secrets")
            now = self.clock.now()
            known = {s.value: s for s in current.secrets}
            old = known.get(current.client_secret, Secret(current.client_secret, now, None))
            ends = now + ROTATION_OVERLAP if old.expires_at is None else min(old.expires_at, now + ROTATION_OVERLAP)
            lifetime = current.secret_lifetime
            records = (
                Secret(secret, now, now + lifetime if lifetime else None),
                replace(old, expires_at=ends, replaced_at=now),
                *(known[s] for s in current.previous_secrets if s in known),
            )
            updated = replace(
                current,
                client_secret=secret,
                previous_secrets=(current.client_secret, *current.previous_secrets),
                secrets=records,
            )
            self._clients[updated.client_id] = updated
            return updated

    def retire_secret(self, client: Client | str, secret: str | None = None) -> Client:
        """Stop accepting a previous secret (all previous ones when ``secret`` is omitted)."""
        with self._lock:
            current = self._client(client)
            if secret is not None and secret not in current.previous_secrets:
                hint = " (it is the current secret)" if secret == current.client_secret else ""
                raise ValueError(f"that secret is not one of the client's previous secrets{hint}")
            kept = tuple(s for s in current.previous_secrets if secret is not None and s != secret)
            retired = (*current.retired_secrets, *(s for s in current.previous_secrets if s not in kept))
            records = tuple(s for s in current.secrets if s.value == current.client_secret or s.value in kept)
            updated = replace(current, previous_secrets=kept, retired_secrets=retired, secrets=records)
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
        with self._lock:
            self.default_user  # noqa: B018 (the default user stays the first registered)
            return self._new_user(user_id, name, email, postal_code)

    def _new_user(self, user_id: str | None, name: str, email: str, postal_code: str) -> User:
        user = User(
            credential(user_id, "user_id") or USER_ID_PREFIX + random_letters(28),
            text(name, "name"),
            text(email, "email"),
            text(postal_code, "postal_code"),
        )
        with self._lock:
            if user.user_id in self._users:
                raise ValueError(f"a user with user_id {user.user_id!r} is already registered")
            self._users[user.user_id] = user
        return user

    @property
    def users(self) -> list[User]:
        """The registered users; the first is :attr:`default_user`."""
        with self._lock:
            self.default_user  # noqa: B018 (made on first use)
            return list(self._users.values())

    def find_user(self, user_id: str) -> User | None:
        """The registered user with ``user_id``, if any."""
        with self._lock:
            return self._users.get(user_id)

    def _user(self, user: User | str | None) -> User:
        if user is None:
            return self.default_user
        user_id = user.user_id if isinstance(user, User) else text(user, "user_id")
        found = self.find_user(user_id)
        if found is None:
            raise NotRegistered(f"no user with user_id {user_id!r} is registered", "add_user() registers one")
        return found

    def set_consent(
        self, user: User | str | None = None, *, granted: bool = True, grant_scopes: Iterable[str] | None = None
    ) -> None:
        """Who answers the consent screen of ``GET /ap/oa`` from now on, and whether they agree.

        ``set_consent(granted=False)`` makes the user deny: the redirect carries ``error=access_denied``.
        ``grant_scopes`` names the voluntary scopes (N16) the user leaves ticked; the others are not granted, so
        the code, the redirect's ``scope`` and the tokens carry less than was asked. Essential scopes are granted
        regardless; ``None`` (the default) grants every scope asked.
        """
        chosen = (self._user(user), flag(granted, "granted"))
        kept = None if grant_scopes is None else frozenset(words(grant_scopes, "grant_scopes"))
        with self._lock:
            self._consent = chosen
            self._consent_scopes = kept

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
        with self._lock:
            if token in self._named or self.minter.read(token) is not None:
                raise ValueError(f"the refresh token {token!r} already exists")
            self._named[token] = claims
        return token

    def mint_refresh(self, client_id: str, scope: str, user_id: str, *, public: bool) -> str:
        """A refresh token; ``public`` for a client that holds no secret (it refreshes with its id alone)."""
        return self.minter.mint(TokenClaims(REFRESH_TOKEN, client_id, scope, self.clock.now(), None, user_id, public))

    def revoke(self, token: str) -> None:
        """Make a refresh or access token stop working (access tokens issued earlier keep their expiry)."""
        if self._issued(text(token, "token")) is None:
            raise ValueError("that is not a token this server issued (or it was issued before the last reset)")
        self.revocations.revoke(token)

    def claims(self, token: str) -> TokenClaims | None:
        """The claims of an unrevoked token this server issued."""
        claims = self._issued(token)
        if claims is None or self.revocations.revoked(token):
            return None
        return claims

    def _issued(self, token: str) -> TokenClaims | None:
        """The claims of a token this server issued, revoked or not."""
        with self._lock:
            named = self._named.get(token)
        return named or self.minter.read(token)

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
        self,
        params: Mapping[str, str],
        consent: tuple[User, bool] | None = None,
        kept: Iterable[str] | None = None,
        relay: str | None = None,
    ) -> authorize_endpoint.Authorization:
        """Answer ``GET /ap/oa``: see :func:`pytest_lwa.grants.authorize_endpoint.answer`."""
        return authorize_endpoint.answer(self, params, consent, None if kept is None else frozenset(kept), relay)

    def create_code_pair(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Answer ``POST /auth/o2/create/codepair``."""
        return device_code.create_code_pair(self, params)

    def approve_device(self, user_code: str, user: User | str | None = None) -> None:
        """The user enters ``user_code`` and consents: the next poll gets tokens."""
        self.pairs.approve(text(user_code, "user_code"), self._user(user).user_id, self.clock.now())

    def deny_device(self, user_code: str) -> None:
        """The user enters ``user_code`` and refuses: the next poll gets ``access_denied``."""
        self.pairs.deny(text(user_code, "user_code"), self.clock.now())

    # --- the token endpoint -------------------------------------------------------------------

    def token(self, params: Mapping[str, str], basic: BasicCredentials = None) -> dict[str, Any]:
        """Answer a token request's parameters (``basic``: the credentials of its HTTP Basic header)."""
        return token_endpoint.answer(self, params, basic)

    def access_token(self, prefix: str, client_id: str, scope: str, user_id: str | None = None) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        now = self.clock.now()
        expires_in = self.settings.expires_in
        return self.minter.mint(TokenClaims(prefix, client_id, scope, now, now + expires_in, user_id)), expires_in

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
        if self.revocations.revoked(token):
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

    # --- Selling Partner API --------------------------------------------------------------------

    def add_sp_application(
        self,
        client: Client | str | None = None,
        *,
        login_uri: str,
        redirect_uris: Iterable[str],
        application_id: str | None = None,
        name: str = "Test SP-API Application",
        published: bool = False,
        vendor: bool = False,
        notification_queue: str | None = None,
    ) -> SellingPartnerApp:
        """Register an SP-API application: ``application_id`` defaults to a new ``amzn1.sp.solution.…`` id,
        ``client`` (its LWA client) to a newly registered one. A draft (``published=False``) is authorized
        only with ``version=beta``; a ``vendor`` application has no Appstore workflow.
        ``notification_queue``: where its rotation notifications go (an SQS queue URL is sent to with
        boto3), as the Developer Console registers it; without one the rotation API answers 400.

        Its client's secrets expire ``sp_secret_lifetime`` (180 days) after they were issued, unless the
        client was registered with a ``secret_lifetime`` of its own or the setting is 0."""
        queue = _queue(notification_queue)
        uris = words(redirect_uris, "redirect_uris")
        name, published, vendor = text(name, "name"), flag(published, "published"), flag(vendor, "vendor")
        application_id = credential(application_id, "application_id")
        if application_id is not None and self.seller_central.find_app(application_id) is not None:
            # (before a client is made for it)
            raise ValueError(f"an application with id {application_id!r} is already registered")
        for uri in (login_uri, *uris):
            parts = urlsplit(uri) if isinstance(uri, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"log-in and redirect URIs must be absolute http(s) URLs, got {uri!r}")
        app = SellingPartnerApp(
            application_id or APPLICATION_ID_PREFIX + str(uuid.uuid4()),
            self._client(client).client_id if client is not None else self.add_client().client_id,
            name,
            login_uri,
            uris,
            published,
            vendor,
            queue,
        )
        added = self.seller_central.add_app(app)
        self._give_lifetime(app.client_id, self.settings.sp_secret_lifetime)
        return added

    def _give_lifetime(self, client_id: str, lifetime: int) -> None:
        """Give a client without a secret lifetime ``lifetime`` (0: none), counted from each secret's issue."""
        with self._lock:
            current = self._clients.get(client_id)
            if current is None or current.secret_lifetime is not None or not lifetime:
                return
            records = tuple(
                replace(s, expires_at=s.issued_at + lifetime) if s.replaced_at is None else s for s in current.secrets
            )
            self._clients[client_id] = replace(current, secret_lifetime=lifetime, secrets=records)

    def set_notification_queue(self, application: SellingPartnerApp | str, queue: str | None) -> SellingPartnerApp:
        """Register (or, with ``None``, remove) where an SP-API application's rotation notifications go, as
        the Developer Console's notification preferences do."""
        updated = replace(self._app(application), notification_queue=_queue(queue))
        self.seller_central.replace_app(updated)
        return updated

    def _app(self, application: SellingPartnerApp | str) -> SellingPartnerApp:
        application_id = (
            application.application_id
            if isinstance(application, SellingPartnerApp)
            else text(application, "application_id")
        )
        app = self.seller_central.find_app(application_id)
        if app is None:
            hint = "add_sp_application() registers one"
            raise NotRegistered(f"no SP-API application {application_id!r} is registered", hint)
        return app

    # --- client-secret rotation ---------------------------------------------------------------

    def rotate_application_secret(self, application: SellingPartnerApp | str) -> Client:
        """What the Application Management API's ``rotateApplicationClientSecret`` does once its checks pass:
        rotate the application's client secret (the old one works 7 more days) and send an
        ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` notification to its queue. Returns the updated client."""
        app = self._app(application)
        updated = self.rotate_secret(app.client_id)
        old = next(s for s in updated.secrets if s.value == updated.previous_secrets[0])
        now = self.clock.now()
        assert old.expires_at is not None  # a rotation gives the replaced secret an end
        body = new_secret_body(
            app.application_id, updated.client_id, updated.client_secret, updated.secret_expires_at, old.expires_at, now
        )
        self._notify(app, body)
        return updated

    @property
    def notifications(self) -> list[Notification]:
        """Every rotation notification since the last reset, oldest first, sent or not."""
        self.send_due_notices()
        return self.notices.all()

    def send_due_notices(self) -> None:
        """Send an ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` notification for each application whose client's
        current secret reached a point of ``secret_expiry_notices`` (one for all the points one move of the
        clock passed). Runs after each move of the clock, and before the rotation API and the admin API's
        notifications answer (for a clock that ticks)."""
        days = notice_days(self.settings.secret_expiry_notices)
        now = self.clock.now()
        for app in self.seller_central.apps():
            client = self.find_client(app.client_id)
            expires = client.secret_expires_at if client is not None else None
            if client is None or expires is None or expires <= now:
                continue
            due = tuple(day for day in days if expires - day * DAY <= now)
            if due and self.notices.pass_points(client.client_id, expires, due):
                point = expires - min(due) * DAY
                self._notify(app, expiry_body(app.application_id, client.client_id, expires, point, now))

    def _notify(self, app: SellingPartnerApp, body: dict[str, Any]) -> None:
        delivery, message_id = deliver(app.notification_queue, body)  # (no lock held while it sends)
        if delivery.startswith("failed"):
            logger.warning(
                "pytest-lwa: the %s notification for %s to %s %s (kept in server.notifications)",
                body["notificationType"],
                app.application_id,
                app.notification_queue,
                delivery,
            )
        self.notices.add(Notification(body, app.notification_queue, delivery, message_id))

    @property
    def sp_applications(self) -> list[SellingPartnerApp]:
        """The registered SP-API applications, in registration order."""
        return self.seller_central.apps()

    def add_selling_partner(
        self, selling_partner_id: str | None = None, *, name: str = "Test Seller"
    ) -> SellingPartner:
        """Register a seller or vendor account; ``selling_partner_id`` defaults to a new ``A…`` id."""
        return self.seller_central.add_partner(selling_partner_id, name)

    @property
    def selling_partners(self) -> list[SellingPartner]:
        """The registered selling partners; the first is :attr:`default_selling_partner`."""
        return self.seller_central.partners()

    def find_selling_partner(self, selling_partner_id: str) -> SellingPartner | None:
        """The registered selling partner with ``selling_partner_id``, if any."""
        return self.seller_central.find_partner(selling_partner_id)

    @property
    def default_selling_partner(self) -> SellingPartner:
        """The selling partner who signs in to Seller Central unless :meth:`set_seller_consent` names another."""
        return self.seller_central.default

    @property
    def seller_consent(self) -> tuple[SellingPartner, bool]:
        """Who signs in to Seller Central's consent, and whether they authorize (:meth:`set_seller_consent`)."""
        return self.seller_central.consent

    def set_seller_consent(self, partner: SellingPartner | str | None = None, *, granted: bool = True) -> None:
        """Who signs in to Seller Central's consent from now on, and whether they authorize the app.

        ``set_seller_consent(granted=False)``: the selling partner cancels, and the workflow ends on Seller
        Central's page, without a redirect (as Amazon documents the Cancel button)."""
        self.seller_central.set_consent(partner, flag(granted, "granted"))

    def issue_spapi_code(
        self, application: SellingPartnerApp | str, partner: SellingPartner | str | None = None
    ) -> str:
        """An ``spapi_oauth_code`` as the workflow would give it, skipping the browser."""
        app = self._app(application)
        partner_id = self.seller_central.partner(partner).selling_partner_id
        return authorization_code.issue(self, app.client_id, "", partner_id)

    def seller_authorize(
        self, params: Mapping[str, str], base_url: str, decision: tuple[SellingPartner, bool] | None = None
    ) -> Step:
        """Answer ``/apps/authorize/consent``: see :func:`pytest_lwa.grants.selling_partner.consent`."""
        return selling_partner.consent(self, params, base_url, decision)

    def seller_callback(
        self, application_id: str, params: Mapping[str, str], decision: tuple[SellingPartner, bool] | None = None
    ) -> Step:
        """Answer the Amazon callback URI: see :func:`pytest_lwa.grants.selling_partner.callback`."""
        return selling_partner.callback(self, application_id, params, decision)

    def seller_appstore(self, application_id: str, base_url: str, decision: SellingPartner | None = None) -> Step:
        """Answer the Appstore's "Authorize now": see :func:`pytest_lwa.grants.selling_partner.appstore`."""
        return selling_partner.appstore(self, application_id, base_url, decision)


def _profile_name(name: str) -> str:
    """A security profile's name: a non-empty string on one line."""
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise ValueError(f"name must be a non-empty string of printable characters, got {name!r}")
    return name
