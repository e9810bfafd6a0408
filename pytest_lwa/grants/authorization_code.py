"""``GET /ap/oa`` and ``grant_type=authorization_code``: a user's consent as a single-use code, with PKCE.

Codes work once, within :data:`CODE_LIFETIME` seconds of the server's clock. A code bound to a PKCE
challenge may be redeemed without the client's secret (a public client); it must then bring the verifier.
Selling Partner consent (:mod:`pytest_lwa.grants.selling_partner`) hands out codes of this same kind.
"""

from __future__ import annotations

import hmac
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .. import errors
from ..errors import LwaError
from ..model import (
    USER_SCOPES,
    Client,
    User,
    add_query,
    listed,
    not_granted,
    pkce_challenge,
    random_letters,
    refused_scopes,
    scope_reason,
    unknown_client,
)
from . import Grant

if TYPE_CHECKING:
    from ..authority import Authority

#: Authorization codes work once, within this many seconds of the server's clock.
CODE_LIFETIME: Final = 300
_PKCE_VERIFIER_CHARS: Final = frozenset(string.ascii_letters + string.digits + "-._~")


@dataclass
class Code:
    client_id: str
    user_id: str
    scope: str
    redirect_uri: str | None
    challenge: str | None
    method: str | None
    expires_at: float


class Codes:
    """The live authorization codes of one authority."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: dict[str, Code] = {}

    def new(self, record: Code, now: float) -> str:
        code = random_letters(20, string.ascii_letters)
        with self._lock:
            for stale in [c for c, kept in self._codes.items() if kept.expires_at <= now]:
                del self._codes[stale]
            self._codes[code] = record
        return code

    def get(self, code: str) -> Code | None:
        return self._codes.get(code)

    def use(self, code: str) -> None:
        with self._lock:
            self._codes.pop(code, None)


def issue(
    authority: Authority,
    client_id: str,
    scope: str,
    user_id: str,
    redirect_uri: str | None = None,
    challenge: str | None = None,
    method: str | None = None,
) -> str:
    """A new code for the consent of ``user_id`` (a user, or a selling partner) to ``client_id``."""
    now = authority.clock.now()
    return authority.codes.new(
        Code(client_id, user_id, scope, redirect_uri, challenge, method, now + CODE_LIFETIME), now
    )


@dataclass(frozen=True)
class Authorization:
    """What ``GET /ap/oa`` answers: a redirect (``location``, with ``reason`` when it carries an error), or,
    with interactive consent and no decision yet, the consent page's content (``client``, ``scopes``)."""

    location: str | None = None
    reason: str | None = None
    client: Client | None = None
    scopes: tuple[str, ...] = ()


def authorize(
    authority: Authority, params: Mapping[str, str], consent: tuple[User, bool] | None = None
) -> Authorization:
    """Answer ``GET /ap/oa`` (RFC 6749 section 4.1.2), with ``consent`` (user, granted) when a page asked.

    A missing or unknown ``client_id`` or a ``redirect_uri`` not registered for the client raises (the app
    shows an error page instead of redirecting); every other error is sent to the redirect URI.
    """
    client = authority.find_client(params.get("client_id", ""))
    if client is None:
        raise errors.UNKNOWN_CLIENT_ID(reason=unknown_client(authority.clients, params.get("client_id", "")))
    given = params.get("redirect_uri")
    registered = listed(client.redirect_uris, "none")
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
        challenge, method = _check(client, params)
        if consent is None and authority.settings.interactive_consent:
            return Authorization(client=client, scopes=tuple(params["scope"].split()))
        user, granted = consent if consent is not None else authority.consent
        if not granted:
            why = "cancelled on the consent page" if consent is not None else "cancelled: set_consent(granted=False)"
            raise errors.ACCESS_DENIED(reason=f"the user {user.user_id} {why}")
    except LwaError as error:
        query = {"error": error.error, "error_description": error.description, **state}
        return Authorization(add_query(target, query), error.reason)
    code = issue(authority, client.client_id, params["scope"], user.user_id, given or None, challenge, method)
    return Authorization(add_query(target, {"code": code, "scope": params["scope"], **state}))


def _check(client: Client, params: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The PKCE challenge and method of a valid authorize request; its error otherwise."""
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
        raise errors.UNAUTHORIZED_CLIENT(reason=not_granted(client, "authorization_code"))
    refused = refused_scopes(params["scope"], USER_SCOPES, client.scopes)
    if refused:
        raise errors.UNKNOWN_SCOPE(reason=scope_reason(refused, client, user_scopes=True))  # R7
    return challenge, method


class AuthorizationCode(Grant):
    required = ("code",)

    def secret_required(self, authority: Authority, params: Mapping[str, str], client_id: str) -> bool:
        """A client may omit its secret when redeeming a code bound to a PKCE challenge."""
        record = authority.codes.get(params.get("code", ""))
        return record is None or record.client_id != client_id or record.challenge is None

    def answer(self, authority: Authority, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        with authority.lock:
            record = authority.codes.get(params["code"])
            if record is None or record.expires_at <= authority.clock.now():
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
                _verify(record, params.get("code_verifier", ""))
            authority.codes.use(params["code"])
        public = record.challenge is not None and not params.get("client_secret")
        refresh = authority.mint_refresh(client.client_id, record.scope, record.user_id, public=public)
        return authority.user_tokens(client.client_id, record.scope, record.user_id, refresh)


def _verify(record: Code, verifier: str) -> None:
    if not (43 <= len(verifier) <= 128 and set(verifier) <= _PKCE_VERIFIER_CHARS):
        raise errors.INVALID_CODE(
            reason="the code has a PKCE challenge and the code_verifier is missing or not 43-128 of A-Z a-z 0-9 - . _ ~"
        )
    assert record.method is not None
    if not hmac.compare_digest(pkce_challenge(verifier, record.method), record.challenge or ""):
        raise errors.INVALID_CODE(reason=f"the code_verifier does not match the code_challenge ({record.method})")
