"""The vocabulary of the authorization server: settings, clients, users, Amazon's formats, and the plain-words
reasons a rejection records. Nothing here holds state; :class:`~pytest_lwa.authority.Authority` does."""

from __future__ import annotations

import base64
import dataclasses
import difflib
import functools
import hashlib
import hmac
import secrets
import string
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import BODY_STYLES, BodyStyle

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
    # the rest of what ASK CLI asks for (N17)
    "alexa::ask:skills:test",
    "alexa::ask:catalogs:read",
    "alexa::ask:catalogs:readwrite",
    "alexa::ask:subscriptions",
    "alexa::ask:skills:debug",
    "alexa:all",
    "advertising::campaign_management",
    "advertising::audiences",
    "cpc_advertising:campaign_management",
    # Amazon Pay (N17)
    "payments:widget",
    "payments:shipping_address",
    "payments:billing_address",
    # Amazon Data Portability (N17): a Category-1 and a Category-2 scope from its list
    "portability::customer_profile",
    "portability::advertising_insights",
)

ISSUER: Final = "https://www.amazon.com"
CLIENT_ID_PREFIX: Final = "amzn1.application-oa2-client."
CLIENT_SECRET_PREFIX: Final = "amzn1.oa2-cs.v1."
APP_ID_PREFIX: Final = "amzn1.application."
USER_ID_PREFIX: Final = "amzn1.account."
#: the longest access-token lifetime a server may be set to, in seconds (about 68 years)
MAX_EXPIRES_IN: Final = 2**31 - 1
DAY: Final = 86400
#: how long Amazon lets an SP-API, Amazon Business or Shipping application's LWA client secret live (N8)
SP_SECRET_LIFETIME: Final = 180 * DAY
#: how long a secret keeps working after a rotation replaced it (N8)
ROTATION_OVERLAP: Final = 7 * DAY


#: Every grant type the token endpoint knows, in the order its errors list them (each served by the grant of
#: that name in :data:`pytest_lwa.grants.GRANTS`).
GRANT_TYPES: Final[tuple[str, ...]] = ("client_credentials", "refresh_token", "authorization_code", "device_code")


# Runs only while the module is imported, before mutation testing can switch a mutant on (as errors._kind).
def _about(
    help: str, metavar: str | None = None, choices: tuple[str, ...] = ()
) -> dict[str, Any]:  # pragma: no mutate block
    """A setting's help, its value's name on a command line and the values it may take (if only some), from
    which every way to set it is made."""
    return {"help": help, "metavar": metavar, "choices": choices}


@dataclass(frozen=True)
class Settings:
    """Per-server behaviour a test may change.

    Each field is described once, here; the ``lwa`` marker's keywords, the ``--lwa-…`` pytest options and
    ``lwa_…`` ini options, ``pytest-lwa serve``'s flags, the ``[settings]`` table of its TOML file and
    :meth:`~pytest_lwa.authority.Authority.configure` all take the same names (see :data:`SETTINGS`).
    """

    expires_in: int = field(
        default=3600, metadata=_about("access-token lifetime in seconds (a whole number, at least 1)", "SECONDS")
    )
    json_body: bool = field(
        default=True,
        metadata=_about(
            "accept application/json token requests as Amazon's own SDKs send them; off: answer them like any other"
            " unsupported content type"
        ),
    )
    body_style: BodyStyle = field(
        default="classic",
        metadata=_about(
            "error bodies: classic (two keys) or modern (with error_index and request_id)", "STYLE", BODY_STYLES
        ),
    )
    rotate_refresh_tokens: bool = field(
        default=False,
        metadata=_about(
            "each refresh hands back a new refresh token and the old one stops working; off: the same one, as"
            " Amazon does"
        ),
    )
    enforce_poll_interval: bool = field(
        default=False,
        metadata=_about(
            "a device polling sooner than the code pair's 30 s interval gets slow_down; off: authorization_pending"
            " however often it polls, as Amazon's device SDK sees (docs/contract.md R8, R24)"
        ),
    )
    sp_secret_lifetime: int = field(
        default=SP_SECRET_LIFETIME,
        metadata=_about(
            "the lifetime in seconds of the client secrets of SP-API applications' LWA clients (180 days, as Amazon"
            " enforces; 0: they never expire); a rotation keeps the replaced secret 7 days",
            "SECONDS",
        ),
    )
    secret_expiry_notices: str = field(
        default="90,30,7",
        metadata=_about(
            "the days before a secret's expiry at which an APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY notification is"
            " sent (whole numbers, comma-separated; empty: none)",
            "DAYS",
        ),
    )
    rotation_rate_limit: bool = field(
        default=True,
        metadata=_about(
            "the Application Management API answers 429 to a second rotation within 60 s of the last (0.0167/s,"
            " burst 1, on the server clock); off: every rotation is served"
        ),
    )
    interactive_consent: bool = field(
        default=False,
        metadata=_about(
            "/ap/oa and Seller Central's consent show a sign-in and consent page (choose or type an account, see the"
            " app and its scopes, Allow or Cancel) for a browser to drive; off: they answer at once, as set_consent"
            " and set_seller_consent decide"
        ),
    )

    def __post_init__(self) -> None:
        if isinstance(self.expires_in, bool) or not isinstance(self.expires_in, int) or self.expires_in < 1:
            raise ValueError(f"expires_in must be a whole number of seconds >= 1, got {self.expires_in!r}")
        if self.expires_in > MAX_EXPIRES_IN:
            raise ValueError(
                f"expires_in must be a whole number of seconds from 1 to {MAX_EXPIRES_IN}, got {self.expires_in!r}"
            )
        lifetime = self.sp_secret_lifetime
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 0 <= lifetime <= MAX_EXPIRES_IN:
            raise ValueError(
                f"sp_secret_lifetime must be a whole number of seconds from 0 to {MAX_EXPIRES_IN}, got {lifetime!r}"
            )
        notice_days(self.secret_expiry_notices)
        for setting in SETTINGS:
            value, choices = getattr(self, setting.name), setting_choices(setting)
            if setting_kind(setting) == "bool" and not isinstance(value, bool):
                raise ValueError(f"{setting.name} must be True or False, got {value!r}")
            if choices and value not in choices:
                raise ValueError(f"{setting.name} must be one of {', '.join(choices)}, got {value!r}")


def notice_days(text: str) -> tuple[int, ...]:
    """The days of ``secret_expiry_notices`` (``"90,30,7"``), largest first; ``ValueError`` otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"secret_expiry_notices must be a string such as '90,30,7', got {text!r}")
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if not all(part.isascii() and part.isdigit() and 0 < int(part) <= 3650 for part in parts):
        raise ValueError(
            f"secret_expiry_notices must be whole numbers of days from 1 to 3650, comma-separated (e.g. '90,30,7'),"
            f" got {text!r}"
        )
    return tuple(sorted({int(part) for part in parts}, reverse=True))


#: every setting, in order: ``name``, ``type``, ``default`` and ``metadata["help"]``
SETTINGS: Final = dataclasses.fields(Settings)


def check_setting_names(names: Iterable[str]) -> None:
    """``TypeError`` naming every setting that is not one of :class:`Settings`'s, and the ones there are."""
    unknown = set(names) - set(Settings.__dataclass_fields__)
    if unknown:
        known = ", ".join(Settings.__dataclass_fields__)
        raise TypeError(f"unknown setting(s) {', '.join(sorted(unknown))}; settings are: {known}")


class SettingValues(TypedDict, total=False):
    """The settings as keywords (``LwaServer(expires_in=60)``, ``configure(body_style="modern")``), typed:
    the fields of :class:`Settings`, which describes them (a test keeps the two the same)."""

    expires_in: int
    json_body: bool
    body_style: BodyStyle
    rotate_refresh_tokens: bool
    enforce_poll_interval: bool
    sp_secret_lifetime: int
    secret_expiry_notices: str
    rotation_rate_limit: bool
    interactive_consent: bool


def setting_kind(setting: dataclasses.Field[Any]) -> Literal["int", "bool", "choice"]:
    """How a setting is written as text: a whole number, a yes/no flag, or one of :func:`setting_choices`."""
    kind = setting.type if isinstance(setting.type, str) else setting.type.__name__
    return "int" if kind == "int" else "bool" if kind == "bool" else "choice"


def setting_choices(setting: dataclasses.Field[Any]) -> tuple[str, ...]:
    """The values a setting may take, when only some may be taken."""
    return tuple(setting.metadata["choices"])


def setting_from_text(setting: dataclasses.Field[Any], text: str, where: str) -> Any:
    """A setting's value from text (an ini file, a command line); ``ValueError`` naming ``where`` otherwise."""
    word = text.strip()
    kind = setting_kind(setting)
    if kind == "bool":
        if word.lower() in ("yes", "true", "on", "1"):
            return True
        if word.lower() in ("no", "false", "off", "0"):
            return False
        raise ValueError(f"{where} must be yes or no (or true or false), got {text!r}")
    if kind == "int":
        if not word.isdigit():
            raise ValueError(f"{where} must be a whole number of seconds, got {text!r}")
        return int(word)
    return word


@dataclass(frozen=True)
class Secret:
    """When one of a client's secrets was issued and when it stops working (``None``: never), on the server
    clock; ``replaced_at``: when a rotation replaced it (``None``: it is the current one)."""

    value: str = field(repr=False)
    issued_at: float
    expires_at: float | None
    replaced_at: float | None = None


@dataclass(frozen=True)
class Client:
    """A registered LWA client (a security profile).

    ``scopes`` are what it may ask for with client credentials (and, besides :data:`USER_SCOPES`, what a
    user may consent to for it); ``grants`` the grant types it may use; ``redirect_uris`` its allowed
    return URLs; ``previous_secrets`` older secrets that still work until retired.

    The security profile's own fields (N19): ``name`` and ``description``, its ``privacy_notice_url``, an
    optional ``logo_url``, and ``allowed_origins``, the origins (``scheme://host[:port]``) of the web pages
    that may call it from a browser.
    """

    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = CLIENT_CREDENTIALS_SCOPES
    grants: tuple[str, ...] = GRANT_TYPES
    redirect_uris: tuple[str, ...] = ()
    name: str = "Test Application"
    description: str = ""
    privacy_notice_url: str = "https://app.example.com/privacy"
    logo_url: str | None = None
    allowed_origins: tuple[str, ...] = ()
    previous_secrets: tuple[str, ...] = field(default=(), repr=False)
    #: secrets retired with ``retire_secret`` (kept only to say so when one is sent)
    retired_secrets: tuple[str, ...] = field(default=(), repr=False)
    #: the lifetime in seconds of each new secret (``None``: they never expire)
    secret_lifetime: int | None = None
    #: when the current and previous secrets were issued and expire, current first (none known: none expires)
    secrets: tuple[Secret, ...] = ()

    @property
    def app_id(self) -> str:
        """The ``amzn1.application.…`` id that tokeninfo reports for this client's tokens."""
        return app_id_for(self.client_id)

    def accepts_secret(self, secret: str, now: float | None = None) -> bool:
        """Whether ``secret`` is this client's secret or a not yet retired previous one (constant time), and,
        given the server clock's ``now``, not expired."""
        given = secret.encode("utf-8")
        matches = [hmac.compare_digest(given, s.encode("utf-8")) for s in (self.client_secret, *self.previous_secrets)]
        return any(matches) and (now is None or self.expired(secret, now) is None)

    def expired(self, secret: str, now: float) -> Secret | None:
        """The record of ``secret`` if it is one of this client's and expired at ``now``."""
        found = next((s for s in self.secrets if s.value == secret), None)
        return found if found is not None and found.expires_at is not None and found.expires_at <= now else None

    @property
    def secret_expires_at(self) -> float | None:
        """When the current secret expires (epoch seconds, server clock; ``None``: never)."""
        current = next((s for s in self.secrets if s.value == self.client_secret), None)
        return current.expires_at if current is not None else None


@dataclass(frozen=True)
class User:
    """An Amazon customer who can consent to a client."""

    user_id: str
    name: str = "Test Customer"
    email: str = "customer@example.com"
    postal_code: str = "98109"


class NotRegistered(KeyError):
    """A client, user, selling partner, application or code pair that is named is not registered.

    ``message`` says what; ``hint`` how to register it in Python (the admin API leaves the hint out).
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:  # KeyError's own quotes the message
        return str(self.args[0])


class TokenRejected(Exception):
    """:meth:`Authority.verify` refused a token; ``reason`` says why in one word."""

    def __init__(self, reason: Literal["missing", "invalid", "revoked", "expired", "insufficient_scope"], detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def app_id_for(client_id: str) -> str:
    """The application id of a client: derived from its id, so a token alone names it."""
    return APP_ID_PREFIX + hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:32]


def pkce_challenge(verifier: str, method: str = "S256") -> str:
    """The ``code_challenge`` for ``verifier`` (RFC 7636): ``S256`` or ``plain``."""
    if method == "plain":
        return verifier
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def words(value: Iterable[str], what: str) -> tuple[str, ...]:
    """``value`` as a tuple of non-empty strings without spaces; a clear error otherwise."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{what} must be a list of strings, e.g. [{value!r}], not a single string")
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a list of strings, not {type(value).__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item or item.split() != [item]:
            raise ValueError(f"each of {what} must be a non-empty string without spaces, got {item!r}")
    return items


def text(value: str, what: str) -> str:
    """``value`` if it is a string; a clear error otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {value!r}")
    return value


def optional_text(value: str | None, what: str) -> str | None:
    """``value`` if it is ``None`` or a string; a clear error otherwise."""
    return None if value is None else text(value, what)


def flag(value: bool, what: str) -> bool:
    """``value`` if it is ``True`` or ``False``; a clear error otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be true or false, got {value!r}")
    return value


def web_url(value: str | None, what: str) -> str | None:
    """``value`` if it is ``None`` or an absolute ``http``/``https`` URL with a host; a clear error otherwise."""
    if value is None:
        return None
    text(value, what)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port that is no number raises)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or value.split() != [value]:
        raise ValueError(f"{what} must be an absolute http or https URL, got {value!r}")
    return value


def origins(value: Iterable[str], what: str) -> tuple[str, ...]:
    """``value`` as a tuple of web origins, ``scheme://host[:port]`` with nothing after; a clear error
    otherwise. Each is kept as written, lower-cased, without a trailing ``/``."""
    items = words(value, what)
    kept = []
    for item in items:
        web_url(item, f"each of {what}")
        parts = urlsplit(item)
        if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError(f"each of {what} must be an origin, scheme://host[:port] with no path, got {item!r}")
        kept.append(f"{parts.scheme}://{parts.netloc}".lower())
    return tuple(kept)


def bearer_safe(token: str) -> bool:
    """Whether ``token`` can be sent as ``Bearer <token>`` in a header: printable ASCII without spaces."""
    return token.isascii() and token.isprintable() and token.split() == [token]


def credential(value: str | None, what: str) -> str | None:
    """``value`` if it is ``None`` or a non-empty string without spaces or control characters; a clear error
    otherwise."""
    if value is not None and (
        not isinstance(value, str) or not value or value.split() != [value] or not value.isprintable()
    ):
        raise ValueError(f"{what} must be a non-empty string without spaces or control characters, got {value!r}")
    return value


@functools.cache
def _letters_table(alphabet: str) -> bytes:
    """Each byte value's letter of ``alphabet`` (a slight bias is of no matter in a mock)."""
    return bytes(alphabet[value % len(alphabet)].encode("ascii")[0] for value in range(256))


def random_letters(length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    """``length`` random letters of ``alphabet`` (ASCII)."""
    return secrets.token_bytes(length).translate(_letters_table(alphabet)).decode("ascii")


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def add_query(uri: str, params: Mapping[str, str]) -> str:
    """``uri`` with ``params`` appended to its query, keeping what it had."""
    parts = urlsplit(uri)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def refused_scopes(scope: str, *allowed: Collection[str]) -> list[str]:
    """The scopes ``scope`` names that are in none of ``allowed`` (``[""]`` when it names none)."""
    requested = scope.split()
    return [s for s in requested if all(s not in pool for pool in allowed)] if requested else [""]


# --- reasons: what a rejection records, in plain words --------------------------------------------


def listed(items: Iterable[str], empty: str) -> str:
    """Up to five items, quoted, and how many more."""
    items = list(items)
    shown = ", ".join(repr(item) for item in items[:5])
    return (shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")) if items else empty


def not_granted(client: Client, grant: str) -> str:
    return (
        f"client {client.client_id!r} may not use {grant} (its grants: {listed(client.grants, 'none')});"
        " add_client(grants=[...]) allows it"
    )


def iso_time(when: float) -> str:
    """``when`` (epoch seconds) in ISO 8601 UTC, as Amazon's notifications write times."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(when * 1000) % 1000:03d}Z"


def wrong_secret(client: Client, secret: str, now: float | None = None) -> str:
    expired = client.expired(secret, now) if now is not None and secret else None
    if expired is not None and expired.expires_at is not None:
        if expired.replaced_at is not None:
            days = (expired.expires_at - expired.replaced_at) / DAY
            return (
                f"client {client.client_id!r}'s previous secret expired at {iso_time(expired.expires_at)},"
                f" {days:g} days after a rotation replaced it; use the new one"
            )
        days = (expired.expires_at - expired.issued_at) / DAY
        return (
            f"client {client.client_id!r}'s secret expired at {iso_time(expired.expires_at)}, {days:g} days after it"
            " was issued; rotate it"
        )
    if not secret:
        return (
            f"no client_secret was sent, and client {client.client_id!r} must send one here (only a device poll, a"
            " PKCE code and a device's refresh token may leave it out)"
        )
    if secret in client.retired_secrets:
        return f"the client_secret sent is one retire_secret() retired for client {client.client_id!r}"
    return (
        f"the client_secret sent is not client {client.client_id!r}'s secret (nor a previous one rotate_secret()"
        " kept); use the client_secret add_client() returned"
    )


def scope_reason(refused: list[str], client: Client, *, user_scopes: bool = False) -> str:
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
        f" {listed(client.scopes, 'none')}); add_client(scopes=[...]) registers scopes"
    )


#: what a reason about a web origin that is not allowed says to do, in the test's process and in ``serve``
ALLOW_ORIGIN: Final = "add_client(allowed_origins=[...]), or allowed_origins in serve's [[clients]], allows it"


def unknown_client(clients: Iterable[Client], client_id: str) -> str:
    known = listed([c.client_id for c in clients], "none")
    return (
        f"client_id {client_id!r} is not registered (registered: {known}); register it with add_client(), the"
        " lwa marker's clients=, or serve --client"
    )
