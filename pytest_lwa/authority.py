"""The authorization server's state and rules, with no HTTP in sight.

:class:`Authority` holds clients, users, pending authorization codes and device code pairs, revocations,
the clock and the signing key. It answers a request's parameters with a success body, or raises the exact
:class:`~pytest_lwa.errors.LwaError`.

A token request is checked in this order, so a request with several faults gets the first one's error:

1. method and path, content type, body parse (the HTTP app, :mod:`pytest_lwa.app`);
2. ``grant_type`` present and supported;
3. the grant's required parameters present and non-empty, then ``client_id`` unless HTTP Basic is used or
   the grant names the client itself (a device code poll, LWA-CONTRACT R8);
4. client authentication (body or HTTP Basic);
5. the client's permission for the grant;
6. scopes (client credentials);
7. the grant itself: refresh token, authorization code, device code pair.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import hmac
import math
import secrets
import string
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from . import errors
from .clock import ManualClock
from .errors import BODY_STYLES, BodyStyle, LwaError
from .tokens import CLIENT_TOKEN, REFRESH_TOKEN, USER_TOKEN, TokenClaims, TokenMinter

__all__ = [
    "CLIENT_CREDENTIALS_SCOPES",
    "GRANT_TYPES",
    "USER_SCOPES",
    "Authority",
    "Client",
    "Settings",
    "TokenRejected",
    "User",
]

#: Scopes a client-credentials ("grantless") token can carry, as Amazon documents them.
CLIENT_CREDENTIALS_SCOPES: Final[tuple[str, ...]] = (
    "appstore::apps:readwrite",
    "adx_reporting::appstore:marketer",
    "sellingpartnerapi::notifications",
    "sellingpartnerapi::migration",
    "sellingpartnerapi::client_credential:rotation",
    "messaging:push",
    "alexa:skill_messaging",
    "alexa::proactive_events",
    "alexa::datastore",
    "creatorsapi::default",
)

#: Scopes a user consents to (authorization code and device flows).
USER_SCOPES: Final[tuple[str, ...]] = (
    "profile",
    "profile:user_id",
    "postal_code",
    "alexa::ask:skills:readwrite",
    "alexa::ask:models:readwrite",
    "alexa:all",
    "advertising::campaign_management",
    "cpc_advertising:campaign_management",
)

GRANT_TYPES: Final[tuple[str, ...]] = ("client_credentials", "refresh_token", "authorization_code", "device_code")

ISSUER: Final = "https://www.amazon.com"
CLIENT_ID_PREFIX: Final = "amzn1.application-oa2-client."
CLIENT_SECRET_PREFIX: Final = "amzn1.oa2-cs.v1."
APP_ID_PREFIX: Final = "amzn1.application."
USER_ID_PREFIX: Final = "amzn1.account."
#: Authorization codes work once, within this many seconds of the server's clock.
CODE_LIFETIME: Final = 300
#: Device code pairs: lifetime and polling interval, in seconds of the server's clock.
DEVICE_CODE_LIFETIME: Final = 600
DEVICE_POLL_INTERVAL: Final = 30
VERIFICATION_URI: Final = "https://amazon.com/us/code"
_PKCE_VERIFIER_CHARS: Final = frozenset(string.ascii_letters + string.digits + "-._~")


@dataclass(frozen=True)
class Settings:
    """Per-server behaviour a test may change.

    ``expires_in``
        lifetime of access tokens in seconds (an integer, at least 1; default 3600).
    ``json_body``
        accept ``application/json`` token requests as Amazon's own SDKs send them (default ``True``);
        ``False`` answers them like any other unsupported content type.
    ``body_style``
        ``"classic"`` two-key error bodies (default) or ``"modern"`` ones with ``error_index`` and
        ``request_id``.
    ``rotate_refresh_tokens``
        ``False`` (default): a refresh hands back the same refresh token, as Amazon does. ``True``: each
        refresh hands back a new one and the old one stops working.
    ``enforce_poll_interval``
        ``False`` (default): a device polling before approval gets ``authorization_pending`` however often
        it polls, as Amazon's device SDK sees every 5 s (LWA-CONTRACT R8, R24). ``True``: a poll sooner than
        the code pair's ``interval`` (30 s of the server's clock) after the last gets ``slow_down``.
    """

    expires_in: int = 3600
    json_body: bool = True
    body_style: BodyStyle = "classic"
    rotate_refresh_tokens: bool = False
    enforce_poll_interval: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.expires_in, bool) or not isinstance(self.expires_in, int) or self.expires_in < 1:
            raise ValueError(f"expires_in must be a whole number of seconds >= 1, got {self.expires_in!r}")
        for name in ("json_body", "rotate_refresh_tokens", "enforce_poll_interval"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.body_style not in BODY_STYLES:
            raise ValueError(f"body_style must be one of {', '.join(BODY_STYLES)}, got {self.body_style!r}")


@dataclass(frozen=True)
class Client:
    """A registered LWA client (a security profile).

    ``scopes`` are what it may ask for with client credentials (and, besides :data:`USER_SCOPES`, what a
    user may consent to for it); ``grants`` the grant types it may use; ``redirect_uris`` its allowed
    return URLs; ``previous_secrets`` older secrets that still work until retired.
    """

    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = CLIENT_CREDENTIALS_SCOPES
    grants: tuple[str, ...] = GRANT_TYPES
    redirect_uris: tuple[str, ...] = ()
    previous_secrets: tuple[str, ...] = field(default=(), repr=False)
    #: secrets retired with ``retire_secret`` (kept only to say so when one is sent)
    retired_secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def app_id(self) -> str:
        """The ``amzn1.application.…`` id that tokeninfo reports for this client's tokens."""
        return app_id_for(self.client_id)

    def accepts_secret(self, secret: str) -> bool:
        """Whether ``secret`` is this client's secret or a not yet retired previous one (constant time)."""
        given = secret.encode("utf-8")
        matches = [hmac.compare_digest(given, s.encode("utf-8")) for s in (self.client_secret, *self.previous_secrets)]
        return any(matches)


@dataclass(frozen=True)
class User:
    """An Amazon customer who can consent to a client."""

    user_id: str
    name: str = "Test Customer"
    email: str = "customer@example.com"
    postal_code: str = "98109"


@dataclass
class _Code:
    client_id: str
    user_id: str
    scope: str
    redirect_uri: str | None
    challenge: str | None
    method: str | None
    expires_at: float


@dataclass
class _DevicePair:
    client_id: str
    user_code: str
    scope: str
    expires_at: float
    last_poll: float | None = None
    state: Literal["pending", "approved", "denied"] = "pending"
    user_id: str | None = None


def app_id_for(client_id: str) -> str:
    """The application id of a client: derived from its id, so a token alone names it."""
    return APP_ID_PREFIX + hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:32]


def _words(value: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{what} must be a list of strings, e.g. [{value!r}], not a single string")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item or item.split() != [item]:
            raise ValueError(f"each of {what} must be a non-empty string without spaces, got {item!r}")
    return items


def _credential(value: str | None, what: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value or value.split() != [value]):
        raise ValueError(f"{what} must be a non-empty string without spaces, got {value!r}")
    return value


def _random_letters(length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    # one call for randomness, not one per letter (a slight bias is of no matter in a mock)
    return "".join(alphabet[byte % len(alphabet)] for byte in secrets.token_bytes(length))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def pkce_challenge(verifier: str, method: str = "S256") -> str:
    """The ``code_challenge`` for ``verifier`` (RFC 7636): ``S256`` or ``plain``."""
    if method == "plain":
        return verifier
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


class TokenRejected(Exception):
    """:meth:`Authority.verify` refused a token; ``reason`` says why in one word."""

    def __init__(self, reason: Literal["missing", "invalid", "revoked", "expired", "insufficient_scope"], detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class _Grant:
    required: tuple[str, ...]
    handler: Callable[[Client, Mapping[str, str]], dict[str, Any]]
    secret_required: Callable[[Mapping[str, str], str], bool]
    #: the client the grant's own parameters name, for a request without client_id (device code polls)
    implied_client: Callable[[Mapping[str, str]], str] | None = None


class Authority:
    """An in-memory Login With Amazon authorization server."""

    def __init__(self, settings: Settings | None = None, *, tick: bool = False) -> None:
        self._defaults = settings if settings is not None else Settings()
        self._tick = tick
        self._lock = threading.RLock()
        self._grants: dict[str, _Grant] = {
            "client_credentials": _Grant(("scope",), self._client_credentials, lambda params, client_id: True),
            "refresh_token": _Grant(("refresh_token",), self._refresh, self._refresh_needs_secret),
            "authorization_code": _Grant(("code",), self._authorization_code, self._code_needs_secret),
            "device_code": _Grant(
                ("device_code", "user_code"),
                self._device_code,
                lambda params, client_id: False,
                implied_client=self._device_client,
            ),
        }
        self.reset()

    # --- state --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every client, user, code and token; restore the default settings; start a new clock."""
        with self._lock:
            self.settings = self._defaults
            self.clock = ManualClock(tick=self._tick)
            self._minter = TokenMinter()
            self._clients: dict[str, Client] = {}
            self._users: dict[str, User] = {}
            self._codes: dict[str, _Code] = {}
            self._pairs: dict[str, _DevicePair] = {}  # by device_code
            self._user_codes: dict[str, str] = {}  # user_code -> device_code
            self._revoked: set[bytes] = set()
            self._named: dict[str, TokenClaims] = {}  # refresh tokens whose text a configuration chose
            self.default_user = self.add_user()
            self._consent: tuple[User, bool] = (self.default_user, True)

    def configure(self, **changes: Any) -> Settings:
        """Change settings (see :class:`Settings`) until the next reset."""
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
        grant_list = _words(grants, "grants")
        for grant in grant_list:
            if grant not in GRANT_TYPES:
                raise ValueError(f"unknown grant {grant!r}; grants are: {', '.join(GRANT_TYPES)}")
        client = Client(
            client_id=_credential(client_id, "client_id") or CLIENT_ID_PREFIX + secrets.token_hex(16),
            client_secret=_credential(client_secret, "client_secret") or CLIENT_SECRET_PREFIX + secrets.token_hex(32),
            scopes=_words(scopes, "scopes"),
            grants=grant_list,
            redirect_uris=_words(redirect_uris, "redirect_uris"),
        )
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

    def _client(self, client: Client | str) -> Client:
        client_id = client.client_id if isinstance(client, Client) else client
        found = self._clients.get(client_id)
        if found is None:
            raise KeyError(f"no client with client_id {client_id!r} is registered; add_client() registers one")
        return found

    def rotate_secret(self, client: Client | str, new_secret: str | None = None) -> Client:
        """Give a client a new secret; the old one keeps working until :meth:`retire_secret`.

        Returns the updated client (its ``client_secret`` is the new one).
        """
        with self._lock:
            current = self._client(client)
            secret = _credential(new_secret, "new_secret") or CLIENT_SECRET_PREFIX + secrets.token_hex(32)
            if secret == current.client_secret or secret in current.previous_secrets:
                raise ValueError("new_secret must differ from the client's current and previous secrets")
            updated = replace(
                current, client_secret=secret, previous_secrets=(current.client_secret, *current.previous_secrets)
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
        user = User(_credential(user_id, "user_id") or USER_ID_PREFIX + _random_letters(28), name, email, postal_code)
        with self._lock:
            if user.user_id in self._users:
                raise ValueError(f"a user with user_id {user.user_id!r} is already registered")
            self._users[user.user_id] = user
        return user

    @property
    def users(self) -> list[User]:
        with self._lock:
            return list(self._users.values())

    def _user(self, user: User | str | None) -> User:
        if user is None:
            return self.default_user
        user_id = user.user_id if isinstance(user, User) else user
        found = self._users.get(user_id)
        if found is None:
            raise KeyError(f"no user with user_id {user_id!r} is registered; add_user() registers one")
        return found

    def set_consent(self, user: User | str | None = None, *, granted: bool = True) -> None:
        """Who answers the consent screen of ``GET /ap/oa`` from now on, and whether they agree.

        ``set_consent(granted=False)`` makes the user deny: the redirect carries ``error=access_denied``.
        """
        self._consent = (self._user(user), granted)

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
            " ".join(_words(scopes, "scopes")),
            self.clock.now(),
            None,
            self._user(user).user_id,
        )
        if token is None:
            return self._minter.mint(claims)
        if not isinstance(token, str) or not token.startswith(REFRESH_TOKEN) or token.split() != [token]:
            raise ValueError(
                f"a chosen refresh token must start with {REFRESH_TOKEN!r} and have no spaces, got {token!r}"
            )
        with self._lock:
            if token in self._named or self._minter.read(token) is not None:
                raise ValueError(f"the refresh token {token!r} already exists")
            self._named[token] = claims
        return token

    def _mint_refresh(self, client_id: str, scope: str, user_id: str, *, public: bool = False) -> str:
        """A refresh token; ``public`` for a client that holds no secret (it refreshes with its id alone)."""
        return self._minter.mint(TokenClaims(REFRESH_TOKEN, client_id, scope, self.clock.now(), None, user_id, public))

    def revoke(self, token: str) -> None:
        """Make a refresh or access token stop working (access tokens issued earlier keep their expiry)."""
        if token not in self._named and self._minter.read(token) is None:
            raise ValueError("that is not a token this server issued (or it was issued before the last reset)")
        with self._lock:
            self._revoked.add(_digest(token))

    def _claims(self, token: str) -> TokenClaims | None:
        """The claims of an unrevoked token this server issued."""
        claims = self._named.get(token) or self._minter.read(token)
        if claims is None or _digest(token) in self._revoked:
            return None
        return claims

    # --- authorization codes ------------------------------------------------------------------

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
        if code_challenge_method not in ("S256", "plain"):
            raise ValueError("code_challenge_method must be 'S256' or 'plain'")
        return self._new_code(
            self._client(client).client_id,
            " ".join(_words(scopes, "scopes")),
            self._user(user),
            redirect_uri,
            code_challenge,
            code_challenge_method if code_challenge is not None else None,
        )

    def _new_code(
        self,
        client_id: str,
        scope: str,
        user: User,
        redirect_uri: str | None,
        challenge: str | None,
        method: str | None,
    ) -> str:
        now = self.clock.now()
        code = _random_letters(20, string.ascii_letters)
        with self._lock:
            for stale in [c for c, record in self._codes.items() if record.expires_at <= now]:
                del self._codes[stale]
            self._codes[code] = _Code(
                client_id, user.user_id, scope, redirect_uri, challenge, method, now + CODE_LIFETIME
            )
        return code

    def authorize(self, params: Mapping[str, str]) -> str:
        """The ``Location`` that ``GET /ap/oa`` redirects to (RFC 6749 section 4.1.2).

        A missing or unknown ``client_id`` or a ``redirect_uri`` not registered for the client raises (the
        app shows an error page instead of redirecting); every other error is sent to the redirect URI.
        """
        return self.authorize_answer(params)[0]

    def authorize_answer(self, params: Mapping[str, str]) -> tuple[str, str | None]:
        """:meth:`authorize`'s ``Location``, and why it carries an error when it does (for the request log)."""
        client = self._clients.get(params.get("client_id", ""))
        if client is None:
            raise errors.UNKNOWN_CLIENT_ID(reason=self._unknown_client(params.get("client_id", "")))
        given = params.get("redirect_uri")
        registered = _listed(client.redirect_uris, "none")
        if given:
            if given not in client.redirect_uris:
                raise errors.UNREGISTERED_REDIRECT_URI(
                    reason=f"redirect_uri {given!r} is not registered for client {client.client_id!r} (registered:"
                    f" {registered}); add_client(redirect_uris=[...]) registers it"
                )
            target = given
        elif len(client.redirect_uris) == 1:
            target = client.redirect_uris[0]
        else:
            raise errors.UNREGISTERED_REDIRECT_URI(
                reason=f"no redirect_uri was sent and client {client.client_id!r} does not have exactly one"
                f" (registered: {registered})"
            )
        state = {"state": params["state"]} if "state" in params else {}
        try:
            code = self._authorize(client, params, given or None)
        except LwaError as error:
            query = {"error": error.error, "error_description": error.description, **state}
            return _add_query(target, query), error.reason
        return _add_query(target, {"code": code, "scope": params["scope"], **state}), None

    def _authorize(self, client: Client, params: Mapping[str, str], redirect_uri: str | None) -> str:
        if params.get("response_type") != "code":
            raise errors.UNSUPPORTED_RESPONSE_TYPE(
                reason=f"response_type is {params.get('response_type')!r}; /ap/oa takes 'code'"
            )
        if not params.get("scope"):
            raise errors.missing_parameter("scope")
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or None
        if challenge is None and method is not None:
            raise errors.missing_parameter("code_challenge", "code_challenge_method was sent without a code_challenge")
        if challenge is not None:
            method = method or "plain"  # RFC 7636 section 4.3
            if method not in ("S256", "plain"):
                raise errors.MALFORMED_REQUEST(reason=f"code_challenge_method {method!r} is not S256 or plain")
        if "authorization_code" not in client.grants:
            raise errors.UNAUTHORIZED_CLIENT(reason=_not_granted(client, "authorization_code"))
        refused = _refused_scopes(params["scope"], USER_SCOPES, client.scopes)
        if refused:
            raise errors.UNKNOWN_SCOPE(reason=_scope_reason(refused, client, user_scopes=True))  # R7
        user, granted = self._consent
        if not granted:
            raise errors.ACCESS_DENIED(reason=f"the user {user.user_id} cancelled: set_consent(granted=False)")
        return self._new_code(client.client_id, params["scope"], user, redirect_uri, challenge, method)

    # --- device code pairs --------------------------------------------------------------------

    def create_code_pair(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Answer ``POST /auth/o2/create/codepair``."""
        if params.get("response_type") != "device_code":
            raise errors.UNSUPPORTED_RESPONSE_TYPE(
                reason=f"response_type is {params.get('response_type')!r}; the codepair endpoint takes 'device_code'"
            )
        for name in ("client_id", "scope"):
            if not params.get(name):
                raise errors.missing_parameter(name)
        client = self._clients.get(params["client_id"])
        if client is None:
            raise errors.INVALID_CLIENT_ID_VALUE(reason=self._unknown_client(params["client_id"]))  # R10
        if "device_code" not in client.grants:
            raise errors.UNAUTHORIZED_CLIENT(reason=_not_granted(client, "device_code"))
        refused = _refused_scopes(params["scope"], USER_SCOPES, client.scopes)
        if refused:
            raise errors.scope_not_permitted(refused[0], _scope_reason(refused, client, user_scopes=True))  # R11
        now = self.clock.now()
        device_code = secrets.token_urlsafe(27)
        with self._lock:
            for stale in [d for d, pair in self._pairs.items() if pair.expires_at <= now]:
                del self._user_codes[self._pairs.pop(stale).user_code]
            user_code = _random_letters(6)
            while user_code in self._user_codes:
                user_code = _random_letters(6)
            self._pairs[device_code] = _DevicePair(
                client.client_id, user_code, params["scope"], now + DEVICE_CODE_LIFETIME
            )
            self._user_codes[user_code] = device_code
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": VERIFICATION_URI,
            "expires_in": DEVICE_CODE_LIFETIME,
            "interval": DEVICE_POLL_INTERVAL,
        }

    def approve_device(self, user_code: str, user: User | str | None = None) -> None:
        """The user enters ``user_code`` and consents: the next poll gets tokens."""
        self._decide_device(user_code, "approved", self._user(user))

    def deny_device(self, user_code: str) -> None:
        """The user enters ``user_code`` and refuses: the next poll gets ``access_denied``."""
        self._decide_device(user_code, "denied", None)

    def _decide_device(self, user_code: str, state: Literal["approved", "denied"], user: User | None) -> None:
        with self._lock:
            pair = self._pairs.get(self._user_codes.get(user_code, ""))
            if pair is None or pair.expires_at <= self.clock.now():
                raise KeyError(f"no live code pair with user_code {user_code!r}")
            pair.state, pair.user_id = state, user.user_id if user is not None else None

    # --- the token endpoint -------------------------------------------------------------------

    def token(self, params: Mapping[str, str], authorization: str | None = None) -> dict[str, Any]:
        """Answer a token request's parameters (``authorization`` is its Authorization header)."""
        grant_type = params.get("grant_type", "")
        grant = self._grants.get(grant_type)
        if grant is None:
            sent = f"grant_type {grant_type!r} is not" if grant_type else "no grant_type was sent; it must be"
            raise errors.UNSUPPORTED_GRANT_TYPE(reason=f"{sent} one of {', '.join(GRANT_TYPES)} (case matters)")
        basic = basic_credentials(authorization)
        needs_client_id = basic is None and grant.implied_client is None
        for name in (*grant.required, "client_id") if needs_client_id else grant.required:
            if not params.get(name):
                how = " (or an HTTP Basic header)" if name == "client_id" else ""
                raise errors.missing_parameter(name, f"grant_type {grant_type} needs {name}{how}; none was sent")
        if basic is None and not params.get("client_id") and grant.implied_client is not None:
            # Amazon's device SDK polls with grant_type, device_code and user_code alone (R8)
            params = {**params, "client_id": grant.implied_client(params)}
        client = self._authenticate(params, basic, grant.secret_required)
        if grant_type not in client.grants:
            raise errors.UNAUTHORIZED_CLIENT(reason=_not_granted(client, grant_type))
        return grant.handler(client, params)

    def _authenticate(
        self,
        params: Mapping[str, str],
        basic: tuple[str, str] | bool | None,
        secret_required: Callable[[Mapping[str, str], str], bool],
    ) -> Client:
        """The client named by the request, if its secret is right; ``invalid_client`` otherwise.

        With HTTP Basic, body credentials, if any, must name the same client and secret.
        """
        if basic is False:
            raise errors.INVALID_CLIENT(
                reason="the Authorization: Basic header is not base64 of client_id:client_secret"
            )
        if isinstance(basic, tuple):
            client_id, secret = basic
            for name, value in (("client_id", client_id), ("client_secret", secret)):
                if params.get(name, value) != value:
                    raise errors.INVALID_CLIENT(
                        reason=f"the HTTP Basic header and the body's {name} disagree; send the same client or one"
                    )
        else:
            client_id, secret = params["client_id"], params.get("client_secret", "")
        client = self._clients.get(client_id)
        if client is None:
            raise errors.INVALID_CLIENT(reason=self._unknown_client(client_id))
        if (secret or secret_required(params, client_id)) and not client.accepts_secret(secret):
            raise errors.INVALID_CLIENT(reason=_wrong_secret(client, secret))
        return client

    def _unknown_client(self, client_id: str) -> str:
        known = _listed([c.client_id for c in self._clients.values()], "none")
        return (
            f"client_id {client_id!r} is not registered (registered: {known}); register it with add_client(), the"
            " lwa marker's clients=, or serve --client"
        )

    def _client_credentials(self, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        scope = params["scope"]
        refused = _refused_scopes(scope, client.scopes)
        if refused:
            raise errors.INVALID_SCOPE(reason=_scope_reason(refused, client))
        token, expires_in = self._access_token(CLIENT_TOKEN, client.client_id, scope)
        return {"access_token": token, "scope": scope, "token_type": "bearer", "expires_in": expires_in}

    def _access_token(self, prefix: str, client_id: str, scope: str, user_id: str | None = None) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        now = self.clock.now()
        expires_in = self.settings.expires_in
        return self._minter.mint(TokenClaims(prefix, client_id, scope, now, now + expires_in, user_id)), expires_in

    def _user_tokens(self, client_id: str, scope: str, user_id: str, refresh_token: str) -> dict[str, Any]:
        access, expires_in = self._access_token(USER_TOKEN, client_id, scope, user_id)
        return {
            "access_token": access,
            "refresh_token": refresh_token,
            "token_type": "bearer",
            "expires_in": expires_in,
        }

    def _refresh(self, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        token = params["refresh_token"]
        with self._lock:
            claims = self._claims(token)
            if claims is None or claims.prefix != REFRESH_TOKEN or claims.client_id != client.client_id:
                raise errors.INVALID_REFRESH_TOKEN(reason=self._refresh_reason(token, claims, client))
            assert claims.user_id is not None  # refresh tokens are always a user's
            if self.settings.rotate_refresh_tokens:
                self._revoked.add(_digest(token))
                token = self._mint_refresh(client.client_id, claims.scope, claims.user_id, public=claims.public)
        return self._user_tokens(client.client_id, claims.scope, claims.user_id, token)

    def _refresh_needs_secret(self, params: Mapping[str, str], client_id: str) -> bool:
        """A public client's refresh token (device flow, PKCE without a secret) refreshes with its client_id
        alone, as Amazon's device SDK does (R9); a secret that is sent must still be right."""
        claims = self._claims(params.get("refresh_token", ""))
        return claims is None or claims.client_id != client_id or not claims.public

    def _refresh_reason(self, token: str, claims: TokenClaims | None, client: Client) -> str:
        if claims is not None and claims.prefix != REFRESH_TOKEN:
            return f"that is an access token ({claims.prefix}…), not a refresh token (Atzr|…)"
        if claims is not None:
            return f"the refresh token was issued to client {claims.client_id!r}, not {client.client_id!r}"
        if _digest(token) in self._revoked:
            return "the refresh token was revoked (revoke(), or rotated away by a refresh with rotate_refresh_tokens)"
        return (
            "this server never issued that refresh token (or issued it before the last reset); get one from"
            " issue_refresh_token() or a grant"
        )

    def _device_client(self, params: Mapping[str, str]) -> str:
        """The client a device code pair was made for; ``invalid_code_pair`` for a pair it does not know."""
        pair = self._pairs.get(params.get("device_code", ""))
        if pair is None:
            raise errors.INVALID_CODE_PAIR(reason=_NO_PAIR)
        return pair.client_id

    def _code_needs_secret(self, params: Mapping[str, str], client_id: str) -> bool:
        """A client may omit its secret when redeeming a code bound to a PKCE challenge."""
        record = self._codes.get(params.get("code", ""))
        return record is None or record.client_id != client_id or record.challenge is None

    def _authorization_code(self, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        with self._lock:
            record = self._codes.get(params["code"])
            if record is None or record.expires_at <= self.clock.now():
                raise errors.INVALID_CODE(
                    reason="the code is unknown, used or expired (codes work once, for 300 s of the server's clock)"
                )
            if record.client_id != client.client_id:
                raise errors.INVALID_CODE(reason=f"the code was issued to client {record.client_id!r}")
            if record.redirect_uri is not None and params.get("redirect_uri") != record.redirect_uri:
                raise errors.INVALID_CODE(
                    reason=f"redirect_uri {params.get('redirect_uri')!r} is not the authorize request's"
                    f" {record.redirect_uri!r}"
                )
            if record.challenge is not None:
                verifier = params.get("code_verifier", "")
                if not (43 <= len(verifier) <= 128 and set(verifier) <= _PKCE_VERIFIER_CHARS):
                    raise errors.INVALID_CODE(
                        reason="the code has a PKCE challenge and the code_verifier is missing or not 43-128 of"
                        " A-Z a-z 0-9 - . _ ~"
                    )
                assert record.method is not None
                if not hmac.compare_digest(pkce_challenge(verifier, record.method), record.challenge):
                    raise errors.INVALID_CODE(
                        reason=f"the code_verifier does not match the code_challenge ({record.method})"
                    )
            del self._codes[params["code"]]
        public = record.challenge is not None and not params.get("client_secret")
        refresh = self._mint_refresh(client.client_id, record.scope, record.user_id, public=public)
        return self._user_tokens(client.client_id, record.scope, record.user_id, refresh)

    def _device_code(self, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            pair = self._pairs.get(params["device_code"])
            if pair is None or pair.expires_at <= now:
                raise errors.INVALID_CODE_PAIR(reason=_NO_PAIR)
            if pair.client_id != client.client_id:
                raise errors.INVALID_CODE_PAIR(reason=f"the code pair was made for client {pair.client_id!r}")
            if pair.user_code != params["user_code"]:
                raise errors.INVALID_CODE_PAIR(reason=f"user_code {params['user_code']!r} is not the pair's")
            last_poll, pair.last_poll = pair.last_poll, now
            too_soon = last_poll is not None and now - last_poll < DEVICE_POLL_INTERVAL
            if too_soon and self.settings.enforce_poll_interval:
                assert last_poll is not None
                raise errors.SLOW_DOWN(
                    reason=f"polled {now - last_poll:g} s after the last poll, under the {DEVICE_POLL_INTERVAL} s"
                    " interval (enforce_poll_interval is on)"
                )
            if pair.state == "pending":
                raise errors.AUTHORIZATION_PENDING(
                    reason=f"the user has not approved user_code {pair.user_code} yet: approve_device() approves it"
                )
            del self._pairs[params["device_code"]]
            del self._user_codes[pair.user_code]
        if pair.state == "denied" or pair.user_id is None:
            raise errors.ACCESS_DENIED(reason=f"the user denied user_code {pair.user_code}: deny_device()")
        refresh = self._mint_refresh(client.client_id, pair.scope, pair.user_id, public=True)
        return self._user_tokens(client.client_id, pair.scope, pair.user_id, refresh)

    # --- token checks for the API side --------------------------------------------------------

    def _access_claims(self, access_token: str) -> TokenClaims:
        """The claims of a live access token; ``invalid_token`` for any token :meth:`verify` rejects."""
        try:
            return self.verify(access_token)
        except TokenRejected as rejected:
            raise errors.INVALID_TOKEN(reason=f"the token is {rejected.reason}: {rejected.detail}") from None

    def verify(self, token: str, scopes: Iterable[str] = ()) -> TokenClaims:
        """What a resource server would check: the claims of a live access token carrying ``scopes``.

        Raises :class:`TokenRejected` whose ``reason`` is ``"missing"``, ``"invalid"`` (not an access
        token this server issued), ``"revoked"``, ``"expired"`` or ``"insufficient_scope"``.
        """
        wanted = _words(scopes, "scopes")
        if not token:
            raise TokenRejected("missing", "no access token was given")
        claims = self._minter.read(token)
        if claims is None or claims.prefix == REFRESH_TOKEN or claims.expires_at is None:
            raise TokenRejected("invalid", "not an access token this server issued (or issued before a reset)")
        if _digest(token) in self._revoked:
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

    def tokeninfo(self, access_token: str) -> dict[str, Any]:
        """What ``GET /auth/o2/tokeninfo`` answers for a live access token; ``invalid_token`` otherwise."""
        claims = self._access_claims(access_token)
        assert claims.expires_at is not None
        info: dict[str, Any] = {"aud": claims.client_id}
        if claims.user_id is not None:
            info["user_id"] = claims.user_id
        info["iss"] = ISSUER
        info["exp"] = math.ceil(claims.expires_at - self.clock.now())
        info["app_id"] = app_id_for(claims.client_id)
        info["iat"] = int(claims.issued_at)
        return info

    def profile(self, access_token: str) -> dict[str, Any]:
        """What ``GET /user/profile`` answers: the fields the token's scopes allow."""
        claims = self._access_claims(access_token)
        scopes = set(claims.scopes)
        if claims.user_id is None or not scopes & {"profile", "profile:user_id", "postal_code"}:
            raise errors.INSUFFICIENT_SCOPE(
                reason=f"the token's scopes ({claims.scope!r}) include none of profile, profile:user_id, postal_code"
            )
        user = self._users.get(claims.user_id) or User(claims.user_id)
        answer: dict[str, Any] = {"user_id": user.user_id}
        if "profile" in scopes:
            answer["name"] = user.name
            answer["email"] = user.email
        if "postal_code" in scopes:
            answer["postal_code"] = user.postal_code
        return answer


def _refused_scopes(scope: str, *allowed: Collection[str]) -> list[str]:
    """The scopes ``scope`` names that are in none of ``allowed`` (``[""]`` when it names none)."""
    requested = scope.split()
    return [s for s in requested if all(s not in pool for pool in allowed)] if requested else [""]


def _add_query(uri: str, params: Mapping[str, str]) -> str:
    """``uri`` with ``params`` appended to its query, keeping what it had."""
    parts = urlsplit(uri)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def basic_credentials(authorization: str | None) -> tuple[str, str] | bool | None:
    """``(client_id, secret)`` from an HTTP Basic header; ``None`` without one; ``False`` if malformed.

    Both parts are percent-decoded, as RFC 6749 section 2.3.1 asks clients to encode them.
    """
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return False
    return unquote(client_id), unquote(secret)


_NO_PAIR: Final = "the device_code is unknown, used, expired (600 s of the server's clock) or from before a reset"


def _listed(items: Iterable[str], empty: str) -> str:
    """Up to five items, quoted, and how many more."""
    items = list(items)
    shown = ", ".join(repr(item) for item in items[:5])
    return (shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")) if items else empty


def _not_granted(client: Client, grant: str) -> str:
    return (
        f"client {client.client_id!r} may not use {grant} (its grants: {_listed(client.grants, 'none')});"
        " add_client(grants=[...]) allows it"
    )


def _wrong_secret(client: Client, secret: str) -> str:
    if not secret:
        return (
            f"no client_secret was sent, and client {client.client_id!r} must send one here (only a device poll, a"
            " PKCE code and a public client's refresh may leave it out)"
        )
    if secret in client.retired_secrets:
        return f"the client_secret sent is one retire_secret() retired for client {client.client_id!r}"
    return (
        f"the client_secret sent is not client {client.client_id!r}'s secret (nor a previous one rotate_secret()"
        " kept); use the client_secret add_client() returned"
    )


def _scope_reason(refused: list[str], client: Client, *, user_scopes: bool = False) -> str:
    if refused == [""]:
        return "the scope is blank"
    pool = [*client.scopes, *(USER_SCOPES if user_scopes else ())]
    hints = []
    for scope in refused:
        close = difflib.get_close_matches(scope, [*pool, *CLIENT_CREDENTIALS_SCOPES, *USER_SCOPES], n=1, cutoff=0.8)
        hints.append(f"{scope!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    user = ", nor a user scope" if user_scopes else ""
    return (
        f"scope {', '.join(hints)} is not registered for client {client.client_id!r}{user} (its scopes:"
        f" {_listed(client.scopes, 'none')}); add_client(scopes=[...]) registers scopes"
    )
