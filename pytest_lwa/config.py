"""The standalone server's configuration: a TOML file and ``--client`` options, checked before use.

A configuration file looks like this (every table is optional)::

    [settings]
    expires_in = 3600            # access-token lifetime in seconds
    body_style = "classic"       # or "modern"
    json_body = true             # accept application/json token requests
    rotate_refresh_tokens = false

    [[clients]]
    client_id = "amzn1.application-oa2-client.ci"
    client_secret = "amzn1.oa2-cs.v1.ci"
    scopes = ["appstore::apps:readwrite"]          # default: every client-credentials scope
    grants = ["client_credentials", "refresh_token"] # default: all
    redirect_uris = ["http://localhost:3000/callback"]

    [[users]]
    user_id = "amzn1.account.CI"
    name = "CI Customer"
    email = "ci@example.com"
    postal_code = "98109"

    [[refresh_tokens]]
    client_id = "amzn1.application-oa2-client.ci"
    token = "Atzr|ci-refresh-token"   # optional: otherwise minted and printed at start
    scopes = ["profile"]
    user_id = "amzn1.account.CI"      # default: the default user

    [[selling_partners]]
    selling_partner_id = "A1CISELLER"
    name = "CI Seller"
    signs_in = true                    # the one who signs in to Seller Central (set_seller_consent)

    [[sp_applications]]
    application_id = "amzn1.sp.solution.00000000-0000-0000-0000-000000000001"  # default: a new one
    client_id = "amzn1.application-oa2-client.ci"   # its LWA client (default: a new one)
    name = "CI seller tool"
    login_uri = "http://localhost:3000/amazon/login"
    redirect_uris = ["http://localhost:3000/amazon/callback"]
    published = false                  # a draft: authorized with version=beta
    vendor = false
    notification_queue = "http://127.0.0.1:5000/123456789012/lwa-rotation"  # rotation notifications (SQS)

    [consent]                          # automatic consent at /ap/oa (set_consent, POST /_lwa/consent)
    user_id = "amzn1.account.CI"       # who consents (default: the default user)
    granted = true                     # false: they deny (error=access_denied)
    grant_scopes = ["profile"]         # the voluntary scopes they keep ticked (default: all)
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .authority import Authority, Settings

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "Config",
    "ConfigError",
    "load_config",
    "parse_client",
    "parse_config",
]

#: the largest configuration file read, in bytes
MAX_CONFIG_BYTES: Final = 1024 * 1024
#: how deeply tables and arrays may nest in a configuration file (the ones documented nest two levels)
MAX_CONFIG_DEPTH: Final = 16

#: a key of more than MAX_CONFIG_DEPTH dotted parts (``a.b.c…``, in a table header or before an ``=``)
_DOTTED_KEY: Final = re.compile(
    rf"""(?:(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')[ \t]*\.[ \t]*){{{MAX_CONFIG_DEPTH}}}"""
)

KEYS: Final[dict[str, frozenset[str]]] = {
    "settings": frozenset(Settings.__dataclass_fields__),
    "clients": frozenset(
        {
            "client_id",
            "client_secret",
            "scopes",
            "grants",
            "redirect_uris",
            "name",
            "description",
            "privacy_notice_url",
            "logo_url",
            "allowed_origins",
            "secret_lifetime",
        }
    ),
    "users": frozenset({"user_id", "name", "email", "postal_code"}),
    "refresh_tokens": frozenset({"client_id", "token", "scopes", "user_id"}),
    "selling_partners": frozenset({"selling_partner_id", "name", "signs_in"}),
    "sp_applications": frozenset(
        {
            "application_id",
            "client_id",
            "name",
            "login_uri",
            "redirect_uris",
            "published",
            "vendor",
            "notification_queue",
        }
    ),
    "consent": frozenset({"user_id", "granted", "grant_scopes"}),
}


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file, the entry and the fix."""


@dataclass
class Config:
    settings: dict[str, Any] = field(default_factory=dict)
    clients: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    refresh_tokens: list[dict[str, Any]] = field(default_factory=list)
    selling_partners: list[dict[str, Any]] = field(default_factory=list)
    sp_applications: list[dict[str, Any]] = field(default_factory=list)
    consent: dict[str, Any] | None = None

    def apply(self, authority: Authority) -> list[dict[str, Any]]:
        """Register clients, users, selling partners and SP-API applications, issue refresh tokens and set
        the automatic consent; returns the refresh tokens issued. (The settings are the server's own:
        ``LwaServer(**settings)``.)"""
        for client in self.clients:
            authority.add_client(**client)
        for user in self.users:
            authority.add_user(**user)
        if self.consent is not None:
            consent = self.consent
            authority.set_consent(
                consent.get("user_id"), granted=consent.get("granted", True), grant_scopes=consent.get("grant_scopes")
            )
        issued = []
        for spec in self.refresh_tokens:
            options = {k: v for k, v in spec.items() if k in ("scopes", "token")}
            token = authority.issue_refresh_token(spec["client_id"], user=spec.get("user_id"), **options)
            issued.append({**spec, "token": token})
        for spec in self.selling_partners:
            partner = authority.add_selling_partner(**{k: v for k, v in spec.items() if k != "signs_in"})
            signs_in = spec.get("signs_in", False)
            if not isinstance(signs_in, bool):
                raise ValueError(f"signs_in must be true or false, got {signs_in!r}")
            if signs_in:
                authority.set_seller_consent(partner)
        for spec in self.sp_applications:
            options = {k: v for k, v in spec.items() if k != "client_id"}
            authority.add_sp_application(spec.get("client_id"), **options)
        return issued


def _entries(document: Mapping[str, Any], table: str, where: str) -> list[dict[str, Any]]:
    value = document.get(table, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{where}: {table} must be an array of tables ([[{table}]])")
    for number, entry in enumerate(value, 1):
        _known_keys(entry, table, f"{where}: [[{table}]] #{number}")
    return list(value)


def _table(document: Mapping[str, Any], table: str, where: str) -> dict[str, Any] | None:
    """The single table ``[table]`` (``None`` without one), its keys checked."""
    value = document.get(table)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {table} must be a table ([{table}])")
    _known_keys(value, table, f"{where}: [{table}]")
    return dict(value)


def _known_keys(entry: Mapping[str, Any], table: str, label: str) -> None:
    unknown = set(entry) - KEYS[table]
    if unknown:
        raise ConfigError(
            f"{label}: unknown key(s) {', '.join(sorted(unknown))}; keys are: {', '.join(sorted(KEYS[table]))}"
        )


def load_config(path: str | Path) -> Config:
    """Read and check a configuration file; raises :class:`ConfigError` with a one-line reason."""
    where = f"config {path}"
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_CONFIG_BYTES + 1)  # a device such as /dev/zero has no end
    except OSError as error:
        raise ConfigError(f"{where}: cannot read it: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML: {error}") from None
    return parse_config(text, where)


def parse_config(text: str, where: str) -> Config:
    """Check a configuration file's text; ``where`` begins each complaint (:class:`ConfigError`)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_CONFIG_BYTES} bytes (1 MiB); is it the right file?")
    deep = f"{where}: nested more than {MAX_CONFIG_DEPTH} levels deep"
    try:
        if _DOTTED_KEY.search(text):  # the parser takes time growing with the square of a dotted key's parts
            raise ConfigError(deep)
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML: {error}") from None
    except RecursionError:  # the parser recurses into each nested array and inline table
        raise ConfigError(deep) from None
    if _depth(document) > MAX_CONFIG_DEPTH:  # (deep tables, which parse, would trip later checks and messages)
        raise ConfigError(deep)
    unknown = set(document) - set(KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {', '.join(sorted(unknown))}; tables are: {', '.join(KEYS)}")
    config = Config(
        settings=_table(document, "settings", where) or {},
        clients=_entries(document, "clients", where),
        users=_entries(document, "users", where),
        refresh_tokens=_entries(document, "refresh_tokens", where),
        selling_partners=_entries(document, "selling_partners", where),
        sp_applications=_entries(document, "sp_applications", where),
        consent=_table(document, "consent", where),
    )
    for number, spec in enumerate(config.refresh_tokens, 1):
        if "client_id" not in spec:
            raise ConfigError(f"{where}: [[refresh_tokens]] #{number}: client_id is required")
    check(config, where)
    return config


def _depth(document: Any) -> int:
    """How deeply tables and arrays nest in ``document`` (counted without recursion)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_CONFIG_DEPTH:
                break
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return deepest


def check(config: Config, where: str) -> None:
    """Apply ``config`` to a scratch authority, turning any complaint into a :class:`ConfigError`."""
    try:
        authority = Authority()
        authority.configure(**config.settings)
        config.apply(authority)
    except (TypeError, ValueError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise ConfigError(f"{where}: {message}") from None


def parse_client(text: str) -> dict[str, Any]:
    """``ID:SECRET[:SCOPE[,SCOPE…]]`` as ``add_client`` keywords; scopes may contain ``:`` themselves."""
    client_id, colon, rest = text.partition(":")
    secret, _, scopes = rest.partition(":")
    if not colon or not client_id or not secret:
        raise ConfigError(f"--client {text!r}: expected ID:SECRET or ID:SECRET:SCOPE[,SCOPE...]")
    spec: dict[str, Any] = {"client_id": client_id, "client_secret": secret}
    if scopes:
        spec["scopes"] = [scope for scope in scopes.split(",") if scope]
    return spec
