"""``grant_type=refresh_token``: a new access token for a user's consent (docs/contract.md R4, R9)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import errors
from ..tokens import REFRESH_TOKEN, TokenClaims
from .base import Grant, user_tokens

if TYPE_CHECKING:
    from ..model import Client
    from ..port import Port


class RefreshToken(Grant):
    required = ("refresh_token",)

    def secret_required(self, port: Port, params: Mapping[str, str], client_id: str) -> bool:
        """A public client's refresh token (the device flow's) refreshes with its client_id alone, as Amazon's
        device SDK does (R9); a secret that is sent must still be right."""
        claims = port.claims(params.get("refresh_token", ""))
        return claims is None or claims.client_id != client_id or not claims.public

    def answer(self, port: Port, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        token = params["refresh_token"]
        claims = port.claims(token)
        if claims is None or claims.prefix != REFRESH_TOKEN or claims.client_id != client.client_id:
            raise errors.INVALID_REFRESH_TOKEN(reason=_reason(port, token, claims, client))
        # with rotation the token ends in one step: of two refreshes with it, the second finds it revoked
        if port.settings.rotate_refresh_tokens and not port.revocations.take(token):
            raise errors.INVALID_REFRESH_TOKEN(reason=_reason(port, token, None, client))
        assert claims.user_id is not None  # refresh tokens are always a user's
        if port.settings.rotate_refresh_tokens:
            token = port.mint_refresh(client.client_id, claims.scope, claims.user_id, public=claims.public)
        return user_tokens(port, client.client_id, claims.scope, claims.user_id, token)


def _reason(port: Port, token: str, claims: TokenClaims | None, client: Client) -> str:
    if claims is not None and claims.prefix != REFRESH_TOKEN:
        return f"that is an access token ({claims.prefix}…), not a refresh token (Atzr|…)"
    if claims is not None:
        return f"the refresh token was issued to client {claims.client_id!r}, not {client.client_id!r}"
    if port.revocations.revoked(token):
        return "the refresh token was revoked (revoke(), or rotated away by a refresh with rotate_refresh_tokens)"
    return (
        "this server never issued that refresh token (or issued it before the last reset); get one from"
        " issue_refresh_token() or a grant"
    )
