"""Opaque LWA tokens that carry their own sealed claims.

A token is its prefix (``Atc|`` for client-credentials access tokens, ``Atza|`` for user access tokens,
``Atzr|`` for refresh tokens) followed by base64url of a few fixed bytes, a nonce, the encrypted claims
and an authentication tag. Like Amazon's own (docs/contract.md R15: ``Atza|IwEBI…``; ``Atc|MAEBI…``, the
seed's sample), they show nothing readable when decoded, and a user token and its refresh token together are
728 characters long, as in R1's recording (longer only when the claims are: a long list of scopes, say).

The server needs no token table to check one, so memory stays flat however many tokens a run issues, and
a new key (one per reset) makes every earlier token unknown at once. The claims are encrypted with a
keystream of keyed BLAKE2b blocks (counter mode) and sealed with keyed BLAKE2b, both built into Python
(no OpenSSL call, whose digest lookups cost tens of microseconds in a process that has loaded TLS): enough
that a token is opaque and cannot be forged or altered, which is all a mock needs of it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Final

from .errors import compact_json
from .unique import unique_bytes

__all__ = [
    "ACCESS_TOKEN_MIN_LENGTH",
    "CLIENT_TOKEN",
    "REFRESH_TOKEN",
    "TOKEN_LENGTH",
    "USER_TOKEN",
    "TokenClaims",
    "TokenMinter",
]

CLIENT_TOKEN: Final = "Atc|"
USER_TOKEN: Final = "Atza|"
REFRESH_TOKEN: Final = "Atzr|"
PREFIXES: Final = (CLIENT_TOKEN, USER_TOKEN, REFRESH_TOKEN)

#: Real access tokens are 350 characters or more; clients that store them should see realistic lengths.
ACCESS_TOKEN_MIN_LENGTH: Final = 350
#: Every token's length (characters, prefix included) unless its claims need more: an ``Atza|`` token and
#: its ``Atzr|`` refresh token are 728 together, as in the recording of docs/contract.md R1.
TOKEN_LENGTH: Final = 364

#: the first bytes of the encoded part, as in Amazon's tokens: ``IwEBI…`` after ``Atza|``/``Atzr|``,
#: ``MAEBI…`` after ``Atc|`` (the seed's sample token; R15's pasted ones begin ``MQEB…``: the seed wins)
_MAGIC: Final = {USER_TOKEN: b"\x23\x01\x01\x20", REFRESH_TOKEN: b"\x23\x01\x01\x20", CLIENT_TOKEN: b"\x30\x01\x01\x20"}
_MAGIC_BYTES: Final = 4
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16


#: claims are padded with spaces to this many bytes, so that tokens have one length: the bytes that unpadded
#: base64 makes into the characters after the prefix (3 bytes a 4 characters), less the fixed parts
_PLAINTEXT_BYTES: Final = (TOKEN_LENGTH - len(USER_TOKEN)) * 3 // 4 - _MAGIC_BYTES - _NONCE_BYTES - _TAG_BYTES


@dataclass(frozen=True)
class TokenClaims:
    """What a token says about itself.

    ``public`` marks a refresh token a public client holds (the device flow's; a code redeemed with PKCE and
    no secret gets none, N3): refreshing it needs only the ``client_id`` (docs/contract.md R9).
    """

    prefix: str
    client_id: str
    scope: str
    issued_at: float
    expires_at: float | None
    user_id: str | None = None
    public: bool = False

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.scope.split())


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class TokenMinter:
    """Mints and reads tokens sealed with one key."""

    def __init__(self, key: bytes | None = None) -> None:
        key = key if key is not None else secrets.token_bytes()  # 32 bytes
        cipher_key = hashlib.blake2b(b"pytest-lwa token encryption", key=key, digest_size=32).digest()
        tag_key = hashlib.blake2b(b"pytest-lwa token authentication", key=key, digest_size=32).digest()
        # keyed once: each block and each tag copies the keyed state instead of keying anew
        self._cipher = hashlib.blake2b(key=cipher_key)
        self._tagger = hashlib.blake2b(key=tag_key, digest_size=_TAG_BYTES)

    def _keystream_xor(self, nonce: bytes, data: bytes) -> bytes:
        stream = bytearray()
        for counter in range((len(data) + 63) // 64):
            block = self._cipher.copy()
            block.update(nonce + counter.to_bytes(4))  # big-endian, as int methods are by default
            stream += block.digest()
        return (int.from_bytes(data) ^ int.from_bytes(stream[: len(data)])).to_bytes(len(data))

    def _tag(self, sealed: bytes) -> bytes:
        tag = self._tagger.copy()
        tag.update(sealed)
        return tag.digest()

    def mint(self, claims: TokenClaims) -> str:
        """A new token for ``claims``; two calls never return the same token."""
        fields = [claims.client_id, claims.scope, claims.issued_at, claims.expires_at, claims.user_id, claims.public]
        plaintext = compact_json(fields).ljust(_PLAINTEXT_BYTES)
        nonce = unique_bytes(_NONCE_BYTES)
        sealed = _MAGIC[claims.prefix] + nonce + self._keystream_xor(nonce, plaintext)
        return claims.prefix + _encode(sealed + self._tag(claims.prefix.encode() + sealed))

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
        sealed, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if len(sealed) <= _MAGIC_BYTES + _NONCE_BYTES or not hmac.compare_digest(
            tag, self._tag(prefix.encode() + sealed)
        ):
            return None
        nonce, ciphertext = sealed[_MAGIC_BYTES : _MAGIC_BYTES + _NONCE_BYTES], sealed[_MAGIC_BYTES + _NONCE_BYTES :]
        try:
            client_id, scope, issued_at, expires_at, user_id, public = json.loads(
                self._keystream_xor(nonce, ciphertext)
            )
        except (ValueError, TypeError):  # pragma: no cover - only this minter's own payloads get here
            return None
        return TokenClaims(prefix, client_id, scope, issued_at, expires_at, user_id, public)
