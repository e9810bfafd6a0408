"""``GET /ap/oa`` and ``grant_type=authorization_code``: a user's consent as a single-use code, with PKCE.

Codes work once, within :data:`CODE_LIFETIME` seconds of the server's clock. A code bound to a PKCE
challenge may be redeemed without the client's secret (a public client); it must then bring the verifier,
and the answer has an access token only: no refresh token (N3).
Selling Partner consent (:mod:`pytest_lwa.grants.selling_partner`) hands out codes of this same kind.
"""

from __future__ import annotations

import hmac
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from .. import errors
from ..model import USER_SCOPES, Client, User, not_granted, pkce_challenge, refused_scopes, scope_reason
from ..stores import Code
from .base import Grant, ResponseType, user_tokens

if TYPE_CHECKING:
    from ..port import Port

#: Authorization codes work once, within this many seconds of the server's clock.
CODE_LIFETIME: Final = 300
_PKCE_VERIFIER_CHARS: Final = frozenset(string.ascii_letters + string.digits + "-._~")


def issue(
    port: Port,
    client_id: str,
    scope: str,
    user_id: str,
    redirect_uri: str | None = None,
    challenge: str | None = None,
    method: str | None = None,
) -> str:
    """A new code for the consent of ``user_id`` (a user, or a selling partner) to ``client_id``."""
    now = port.clock.now()
    return port.codes.new(Code(client_id, user_id, scope, redirect_uri, challenge, method, now + CODE_LIFETIME), now)


class CodeResponse(ResponseType):
    """``response_type=code`` (RFC 6749 section 4.1): the redirect carries a code and the scope, with PKCE."""

    def check(self, client: Client, params: Mapping[str, str]) -> None:
        if not params.get("scope"):
            raise errors.missing_parameter("scope")
        challenge, method = _pkce(params)
        if challenge is None and method is not None:
            raise errors.missing_parameter("code_challenge", "code_challenge_method was sent without a code_challenge")
        if challenge is not None and method not in ("S256", "plain"):
            raise errors.MALFORMED_REQUEST(reason=f"code_challenge_method {method!r} is not S256 or plain")
        if "authorization_code" not in client.grants:
            raise errors.UNAUTHORIZED_CLIENT(reason=not_granted(client, "authorization_code"))
        refused = refused_scopes(params["scope"], USER_SCOPES, client.scopes)
        if refused:
            raise errors.UNKNOWN_SCOPE(reason=scope_reason(refused, client, user_scopes=True))  # R7

    def respond(self, port: Port, client: Client, params: Mapping[str, str], user: User) -> dict[str, str]:
        challenge, method = _pkce(params)
        redirect_uri = params.get("redirect_uri") or None
        code = issue(port, client.client_id, params["scope"], user.user_id, redirect_uri, challenge, method)
        return {"code": code, "scope": params["scope"]}


def _pkce(params: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The request's PKCE challenge and method (``plain`` for a challenge without one, RFC 7636 section 4.3)."""
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    return challenge, (method or "plain") if challenge is not None else method


class AuthorizationCode(Grant):
    required = ("code",)

    def secret_required(self, port: Port, params: Mapping[str, str], client_id: str) -> bool:
        """A client may omit its secret when redeeming a code bound to a PKCE challenge."""
        record = port.codes.get(params.get("code", ""))
        return record is None or record.client_id != client_id or record.challenge is None

    def answer(self, port: Port, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        now = port.clock.now()

        def check(record: Code | None) -> None:
            if record is None or record.expires_at <= now:
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

        record = port.codes.redeem(params["code"], check)
        if record.challenge is not None and not params.get("client_secret"):
            return user_tokens(port, client.client_id, record.scope, record.user_id, None)  # N3: no refresh token
        refresh = port.mint_refresh(client.client_id, record.scope, record.user_id, public=False)
        return user_tokens(port, client.client_id, record.scope, record.user_id, refresh)


def _verify(record: Code, verifier: str) -> None:
    if not (43 <= len(verifier) <= 128 and set(verifier) <= _PKCE_VERIFIER_CHARS):
        raise errors.INVALID_CODE(
            reason="the code has a PKCE challenge and the code_verifier is missing or not 43-128 of A-Z a-z 0-9 - . _ ~"
        )
    assert record.method is not None
    if not hmac.compare_digest(pkce_challenge(verifier, record.method), record.challenge or ""):
        raise errors.INVALID_CODE(reason=f"the code_verifier does not match the code_challenge ({record.method})")
