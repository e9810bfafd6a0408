"""Opaque LWA tokens that carry their own signed claims.

A token is its prefix (``Atc|`` for client-credentials access tokens, ``Atza|`` for user access tokens,
``Atzr|`` for refresh tokens) followed by base64url of a small JSON claim set and its HMAC-SHA256.
The server needs no token table to check one, so memory stays flat however many tokens a run issues,
and a new key (one per reset) makes every earlier token unknown at once.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Final

from .errors import compact_json

__all__ = ["ACCESS_TOKEN_MIN_LENGTH", "CLIENT_TOKEN", "REFRESH_TOKEN", "USER_TOKEN", "TokenClaims", "TokenMinter"]

CLIENT_TOKEN: Final = "Atc|"
USER_TOKEN: Final = "Atza|"
REFRESH_TOKEN: Final = "Atzr|"
PREFIXES: Final = (CLIENT_TOKEN, USER_TOKEN, REFRESH_TOKEN)

#: Real access tokens are 350 characters or more; clients that store them should see realistic lengths.
ACCESS_TOKEN_MIN_LENGTH: Final = 350
_SIG_BYTES: Final = 32


@dataclass(frozen=True)
class TokenClaims:
    """What a token says about itself."""

    prefix: str
    client_id: str
    scope: str
    issued_at: float
    expires_at: float | None
    user_id: str | None = None

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.scope.split())


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class TokenMinter:
    """Mints and reads tokens signed with one key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.digest(self._key, payload, "sha256")

    def mint(self, claims: TokenClaims) -> str:
        """A new token for ``claims``; two calls never return the same token."""
        fields = [claims.prefix, claims.client_id, claims.scope, claims.issued_at, claims.expires_at, claims.user_id]
        head = compact_json(fields)[:-1]  # the list without its closing bracket; the nonce goes last
        # base64 turns 3 bytes into 4 characters: choose the nonce length that reaches the minimum.
        wanted_bytes = (ACCESS_TOKEN_MIN_LENGTH - len(claims.prefix)) * 3 // 4 + 3
        nonce_chars = max(32, wanted_bytes - len(head) - 4 - _SIG_BYTES)
        payload = b'%s,"%s"]' % (head, secrets.token_hex((nonce_chars + 1) // 2).encode())
        return claims.prefix + _encode(payload + self._sign(payload))

    def read(self, token: str) -> TokenClaims | None:
        """The claims of ``token`` if this minter issued it, else ``None`` (never raises)."""
        prefix = next((p for p in PREFIXES if token.startswith(p)), None)
        if prefix is None:
            return None
        encoded = token[len(prefix) :]
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            return None
        if _encode(raw) != encoded:  # the decoder skips stray characters; a token must be exact
            return None
        payload, signature = raw[:-_SIG_BYTES], raw[-_SIG_BYTES:]
        if len(raw) <= _SIG_BYTES or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            kind, client_id, scope, issued_at, expires_at, user_id, _nonce = json.loads(payload)
        except (ValueError, TypeError):  # pragma: no cover - only this minter's own payloads get here
            return None
        if kind != prefix:
            return None
        return TokenClaims(kind, client_id, scope, issued_at, expires_at, user_id)
