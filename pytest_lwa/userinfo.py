"""``GET /auth/o2/tokeninfo`` and ``GET /user/profile``: what an access token says, and whose it is."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from . import errors
from .model import ISSUER, TokenRejected, User, app_id_for
from .tokens import TokenClaims

if TYPE_CHECKING:
    from .authority import Authority


def _access_claims(authority: Authority, access_token: str) -> TokenClaims:
    """The claims of a live access token; ``invalid_token`` for any token :meth:`Authority.verify` rejects."""
    try:
        return authority.verify(access_token)
    except TokenRejected as rejected:
        raise errors.INVALID_TOKEN(reason=f"the token is {rejected.reason}: {rejected.detail}") from None


def tokeninfo(authority: Authority, access_token: str) -> dict[str, Any]:
    """What ``GET /auth/o2/tokeninfo`` answers for a live access token; ``invalid_token`` otherwise."""
    claims = _access_claims(authority, access_token)
    assert claims.expires_at is not None
    info: dict[str, Any] = {"aud": claims.client_id}
    if claims.user_id is not None:
        info["user_id"] = claims.user_id
    info["iss"] = ISSUER
    info["exp"] = math.ceil(claims.expires_at - authority.clock.now())
    info["app_id"] = app_id_for(claims.client_id)
    info["iat"] = int(claims.issued_at)
    return info


def profile(authority: Authority, access_token: str) -> dict[str, Any]:
    """What ``GET /user/profile`` answers: the fields the token's scopes allow."""
    claims = _access_claims(authority, access_token)
    scopes = set(claims.scopes)
    if claims.user_id is None or not scopes & {"profile", "profile:user_id", "postal_code"}:
        raise errors.INSUFFICIENT_SCOPE(
            reason=f"the token's scopes ({claims.scope!r}) include none of profile, profile:user_id, postal_code"
        )
    user = authority.find_user(claims.user_id) or User(claims.user_id)
    answer: dict[str, Any] = {"user_id": user.user_id}
    if "profile" in scopes:
        answer["name"] = user.name
        answer["email"] = user.email
    if "postal_code" in scopes:
        answer["postal_code"] = user.postal_code
    return answer
