"""``grant_type=refresh_token``: a new access token for a user's consent (LWA-CONTRACT R4, R9)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import errors
from ..model import digest
from ..tokens import REFRESH_TOKEN, TokenClaims
from . import Grant

if TYPE_CHECKING:
    from ..authority import Authority
    from ..model import Client


class RefreshToken(Grant):
    required = ("refresh_token",)

    def secret_required(self, authority: Authority, params: Mapping[str, str], client_id: str) -> bool:
        """A public client's refresh token (device flow, PKCE without a secret) refreshes with its client_id
        alone, as Amazon's device SDK does (R9); a secret that is sent must still be right."""
        claims = authority.claims(params.get("refresh_token", ""))
        return claims is None or claims.client_id != client_id or not claims.public

    def answer(self, authority: Authority, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        token = params["refresh_token"]
        with authority.lock:
            claims = authority.claims(token)
            if claims is None or claims.prefix != REFRESH_TOKEN or claims.client_id != client.client_id:
                raise errors.INVALID_REFRESH_TOKEN(reason=_reason(authority, token, claims, client))
            assert claims.user_id is not None  # refresh tokens are always a user's
            if authority.settings.rotate_refresh_tokens:
                authority.revoked.add(digest(token))
                token = authority.mint_refresh(client.client_id, claims.scope, claims.user_id, public=claims.public)
        return authority.user_tokens(client.client_id, claims.scope, claims.user_id, token)


def _reason(authority: Authority, token: str, claims: TokenClaims | None, client: Client) -> str:
    if claims is not None and claims.prefix != REFRESH_TOKEN:
        return f"that is an access token ({claims.prefix}…), not a refresh token (Atzr|…)"
    if claims is not None:
        return f"the refresh token was issued to client {claims.client_id!r}, not {client.client_id!r}"
    if digest(token) in authority.revoked:
        return "the refresh token was revoked (revoke(), or rotated away by a refresh with rotate_refresh_tokens)"
    return (
        "this server never issued that refresh token (or issued it before the last reset); get one from"
        " issue_refresh_token() or a grant"
    )
