"""The authorization server's state and rules, with no HTTP in sight.

:class:`Authority` holds the registered clients, the clock and the signing key, and answers a token
request's parameters with a success body or raises the exact :class:`~pytest_lwa.errors.LwaError`.

Checks are made in this order, so a request with several faults gets the first one's error:

1. method and path, content type, body parse (the HTTP app, :mod:`pytest_lwa.app`);
2. ``grant_type`` present and supported;
3. required parameters present and non-empty (``scope``; ``client_id`` unless HTTP Basic is used);
4. client authentication (body or HTTP Basic);
5. the client's permission for the grant;
6. every requested scope registered for the client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import unquote

from . import errors
from .clock import ManualClock
from .errors import BODY_STYLES, BodyStyle
from .tokens import CLIENT_TOKEN, TokenClaims, TokenMinter

__all__ = [
    "CLIENT_CREDENTIALS_SCOPES",
    "GRANT_TYPES",
    "USER_SCOPES",
    "Authority",
    "Client",
    "Settings",
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

GRANT_TYPES: Final[tuple[str, ...]] = ("client_credentials",)

ISSUER: Final = "https://www.amazon.com"
CLIENT_ID_PREFIX: Final = "amzn1.application-oa2-client."
CLIENT_SECRET_PREFIX: Final = "amzn1.oa2-cs.v1."
APP_ID_PREFIX: Final = "amzn1.application."


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
    """

    expires_in: int = 3600
    json_body: bool = True
    body_style: BodyStyle = "classic"

    def __post_init__(self) -> None:
        if isinstance(self.expires_in, bool) or not isinstance(self.expires_in, int) or self.expires_in < 1:
            raise ValueError(f"expires_in must be a whole number of seconds >= 1, got {self.expires_in!r}")
        if not isinstance(self.json_body, bool):
            raise ValueError(f"json_body must be True or False, got {self.json_body!r}")
        if self.body_style not in BODY_STYLES:
            raise ValueError(f"body_style must be one of {', '.join(BODY_STYLES)}, got {self.body_style!r}")


@dataclass(frozen=True)
class Client:
    """A registered LWA client (a security profile)."""

    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    grants: tuple[str, ...] = GRANT_TYPES

    @property
    def app_id(self) -> str:
        """The ``amzn1.application.…`` id that tokeninfo reports for this client's tokens."""
        return app_id_for(self.client_id)


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


class Authority:
    """An in-memory Login With Amazon authorization server."""

    def __init__(self, settings: Settings | None = None, *, tick: bool = False) -> None:
        self._defaults = settings if settings is not None else Settings()
        self._tick = tick
        self._lock = threading.Lock()
        self.reset()

    # --- state --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every client and token, restore the default settings and start a new clock."""
        with self._lock:
            self.settings = self._defaults
            self.clock = ManualClock(tick=self._tick)
            self._minter = TokenMinter()
            self._clients: dict[str, Client] = {}

    def configure(self, **changes: Any) -> Settings:
        """Change settings (``expires_in``, ``json_body``, ``body_style``) until the next reset."""
        unknown = set(changes) - set(Settings.__dataclass_fields__)
        if unknown:
            known = ", ".join(Settings.__dataclass_fields__)
            raise TypeError(f"unknown setting(s) {', '.join(sorted(unknown))}; settings are: {known}")
        self.settings = replace(self.settings, **changes)
        return self.settings

    def add_client(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: Iterable[str] = CLIENT_CREDENTIALS_SCOPES,
    ) -> Client:
        """Register a client; omitted credentials are generated in Amazon's formats.

        ``scopes`` are the scopes the client may request with the ``client_credentials`` grant (default:
        every documented client-credentials scope).
        """
        client = Client(
            client_id=_credential(client_id, "client_id") or CLIENT_ID_PREFIX + secrets.token_hex(16),
            client_secret=_credential(client_secret, "client_secret") or CLIENT_SECRET_PREFIX + secrets.token_hex(32),
            scopes=_words(scopes, "scopes"),
        )
        with self._lock:
            if client.client_id in self._clients:
                raise ValueError(
                    f"a client with client_id {client.client_id!r} is already registered;"
                    " call remove_client() first to replace it"
                )
            self._clients[client.client_id] = client
        return client

    def remove_client(self, client_id: str) -> None:
        """Unregister a client; its requests then fail with ``invalid_client``."""
        with self._lock:
            if self._clients.pop(client_id, None) is None:
                raise KeyError(f"no client with client_id {client_id!r} is registered")

    @property
    def clients(self) -> list[Client]:
        """The registered clients, in registration order."""
        with self._lock:
            return list(self._clients.values())

    # --- the token endpoint -------------------------------------------------------------------

    def token(self, params: Mapping[str, str], authorization: str | None = None) -> dict[str, Any]:
        """Answer a token request's parameters (``authorization`` is its Authorization header)."""
        grant_type = params.get("grant_type", "")
        if grant_type not in GRANT_TYPES:
            raise errors.UNSUPPORTED_GRANT_TYPE
        basic = _basic_credentials(authorization)
        for name in ("scope",) if basic is not None else ("scope", "client_id"):
            if not params.get(name):
                raise errors.missing_parameter(name)
        client = self._authenticate(params, basic)
        if grant_type not in client.grants:
            raise errors.UNAUTHORIZED_CLIENT
        scope = params["scope"]
        requested = scope.split()
        if not requested or any(s not in client.scopes for s in requested):
            raise errors.INVALID_SCOPE
        now = self.clock.now()
        expires_in = self.settings.expires_in
        token = self._minter.mint(TokenClaims(CLIENT_TOKEN, client.client_id, scope, now, now + expires_in))
        return {"access_token": token, "scope": scope, "token_type": "bearer", "expires_in": expires_in}

    def _authenticate(self, params: Mapping[str, str], basic: tuple[str, str] | bool | None) -> Client:
        """The client named by the request, if its secret is right; ``invalid_client`` otherwise.

        With HTTP Basic, body credentials, if any, must name the same client and secret.
        """
        if basic is False:
            raise errors.INVALID_CLIENT
        if isinstance(basic, tuple):
            client_id, secret = basic
            for name, value in (("client_id", client_id), ("client_secret", secret)):
                if params.get(name, value) != value:
                    raise errors.INVALID_CLIENT
        else:
            client_id, secret = params["client_id"], params.get("client_secret", "")
        client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(secret.encode("utf-8"), client.client_secret.encode("utf-8")):
            raise errors.INVALID_CLIENT
        return client

    # --- token checks for the API side --------------------------------------------------------

    def tokeninfo(self, access_token: str) -> dict[str, Any]:
        """What ``GET /auth/o2/tokeninfo`` answers for a live access token; ``invalid_token`` otherwise."""
        claims = self._minter.read(access_token)
        now = self.clock.now()
        if claims is None or claims.expires_at is None or claims.expires_at <= now:
            raise errors.INVALID_TOKEN
        info: dict[str, Any] = {"aud": claims.client_id}
        if claims.user_id is not None:
            info["user_id"] = claims.user_id
        info["iss"] = ISSUER
        info["exp"] = math.ceil(claims.expires_at - now)
        info["app_id"] = app_id_for(claims.client_id)
        info["iat"] = int(claims.issued_at)
        return info


def _basic_credentials(authorization: str | None) -> tuple[str, str] | bool | None:
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
