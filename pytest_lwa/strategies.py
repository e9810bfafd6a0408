"""Hypothesis strategies for property-testing your own LWA client code (``pip install 'pytest-lwa[strategies]'``).

Strategies in, strategies out, arguments checked (hypothesis' API style). Never imported by the pytest
plugin. Requests come with the exact answer the mock (and, where the contract knows it, Amazon) gives::

    @given(request=invalid_token_requests(client))
    def test_each_error(request): ...

The client passed to the request strategies must be registered on the server the requests go to, with
default settings (JSON bodies accepted).
"""

from __future__ import annotations

import base64
import json
import string
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from . import errors
from .authority import CLIENT_CREDENTIALS_SCOPES, GRANT_TYPES, USER_SCOPES, Client
from .errors import BODY_STYLES, BodyStyle, LwaError

__all__ = [
    "TokenRequest",
    "access_tokens",
    "client_ids",
    "client_secrets",
    "error_responses",
    "invalid_token_requests",
    "refresh_tokens",
    "scopes",
    "token_responses",
    "valid_token_requests",
]

_HEX = "0123456789abcdef"
ScopeKind = Literal["client_credentials", "user", "any"]


@dataclass(frozen=True)
class TokenRequest:
    """A token request as bytes on the wire, and the error it must get (``None``: success).

    Send it with ``requests.post(token_url, data=request.body, headers=request.headers)``.
    """

    body: bytes
    headers: dict[str, str]
    expected: LwaError | None = None
    #: what was changed from a valid request, for reading a failure
    mutation: str = "none"
    fields: dict[str, str] = field(default_factory=dict)


def _check_size(min_size: int, max_size: int) -> None:
    if min_size < 0 or max_size < min_size:
        raise InvalidArgument(f"need 0 <= min_size <= max_size, got min_size={min_size}, max_size={max_size}")


def client_ids() -> st.SearchStrategy[str]:
    """``amzn1.application-oa2-client.<32 hex>``."""
    return st.text(_HEX, min_size=32, max_size=32).map("amzn1.application-oa2-client.".__add__)


def client_secrets() -> st.SearchStrategy[str]:
    """``amzn1.oa2-cs.v1.<64 hex>``."""
    return st.text(_HEX, min_size=64, max_size=64).map("amzn1.oa2-cs.v1.".__add__)


def scopes(kind: ScopeKind = "client_credentials", *, min_size: int = 1, max_size: int = 3) -> st.SearchStrategy[str]:
    """A ``scope`` value: documented scopes of ``kind``, distinct, space-separated."""
    pools = {
        "client_credentials": CLIENT_CREDENTIALS_SCOPES,
        "user": USER_SCOPES,
        "any": CLIENT_CREDENTIALS_SCOPES + USER_SCOPES,
    }
    if kind not in pools:
        raise InvalidArgument(f"kind must be one of {', '.join(pools)}, got {kind!r}")
    _check_size(min_size, max_size)
    if min_size == 0:
        raise InvalidArgument("min_size must be at least 1: a scope value is never empty")
    return st.lists(st.sampled_from(pools[kind]), min_size=min_size, max_size=max_size, unique=True).map(" ".join)


def _opaque(prefix: str, min_size: int) -> st.SearchStrategy[str]:
    """``prefix`` and ``min_size`` to ``min_size + 200`` base64url characters, drawn as bytes and encoded: about
    three times faster to draw than a character at a time, so a test drawing a few tokens stays clear of
    hypothesis's too-slow health check on a loaded machine."""
    least, most = -(-min_size * 3 // 4), (min_size + 200) * 3 // 4
    return st.binary(min_size=least, max_size=most).map(
        lambda raw: prefix + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    )


def access_tokens(kind: Literal["client", "user"] = "client") -> st.SearchStrategy[str]:
    """Opaque access tokens shaped like Amazon's: ``Atc|…`` (client) or ``Atza|…`` (user), 350+ characters."""
    if kind not in ("client", "user"):
        raise InvalidArgument(f"kind must be 'client' or 'user', got {kind!r}")
    return _opaque("Atc|" if kind == "client" else "Atza|", 346)


def refresh_tokens() -> st.SearchStrategy[str]:
    """Opaque refresh tokens, ``Atzr|…``."""
    return _opaque("Atzr|", 346)


def token_responses(
    grant_type: str = "client_credentials", *, min_expires_in: int = 1, max_expires_in: int = 86400
) -> st.SearchStrategy[dict[str, Any]]:
    """Successful token-endpoint bodies, keys in Amazon's order, for ``grant_type``."""
    if grant_type not in GRANT_TYPES:
        raise InvalidArgument(f"grant_type must be one of {', '.join(GRANT_TYPES)}, got {grant_type!r}")
    if not 1 <= min_expires_in <= max_expires_in:
        raise InvalidArgument(f"need 1 <= min_expires_in <= max_expires_in, got {min_expires_in}, {max_expires_in}")
    expires_in = st.integers(min_expires_in, max_expires_in)
    if grant_type == "client_credentials":
        return st.builds(
            lambda token, scope, seconds: {
                "access_token": token,
                "scope": scope,
                "token_type": "bearer",
                "expires_in": seconds,
            },
            access_tokens("client"),
            scopes(),
            expires_in,
        )
    return st.builds(
        lambda token, refresh, seconds: {
            "access_token": token,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": seconds,
        },
        access_tokens("user"),
        refresh_tokens(),
        expires_in,
    )


def error_responses(style: BodyStyle | None = None) -> st.SearchStrategy[tuple[int, bytes]]:
    """``(status, body)`` of the mock's error answers, in ``style`` (default: either style)."""
    if style is not None and style not in BODY_STYLES:
        raise InvalidArgument(f"style must be one of {', '.join(BODY_STYLES)} or None, got {style!r}")
    styles = st.just(style) if style is not None else st.sampled_from(BODY_STYLES)
    request_ids = st.uuids(version=4).map(str)
    return st.builds(
        lambda error, chosen, request_id: (error.status, error.body(chosen, request_id)),
        st.sampled_from(errors.catalogue()),
        styles,
        request_ids,
    )


def _check_client(client: object) -> Client:
    if not isinstance(client, Client):
        raise InvalidArgument(f"client must be a pytest_lwa.Client (from add_client()), got {client!r}")
    if not client.scopes or "client_credentials" not in client.grants:
        raise InvalidArgument("the client needs at least one scope and the client_credentials grant")
    return client


def _encode(fields: dict[str, str], encoding: str) -> tuple[bytes, str]:
    if encoding == "json":
        return json.dumps(fields).encode(), "application/json"
    content_type = "application/x-www-form-urlencoded" + (";charset=UTF-8" if encoding == "form-charset" else "")
    return urlencode(fields).encode(), content_type


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@st.composite
def _valid(draw: st.DrawFn, client: Client) -> TokenRequest:
    scope = " ".join(draw(st.lists(st.sampled_from(client.scopes), min_size=1, max_size=3, unique=True)))
    fields = {"grant_type": "client_credentials", "scope": scope}
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        fields.update(client_id=client.client_id, client_secret=client.client_secret)
    else:
        headers["Authorization"] = _basic(client.client_id, client.client_secret)
    encoding = draw(st.sampled_from(["form", "form-charset", "json"]))
    body, headers["Content-Type"] = _encode(fields, encoding)
    return TokenRequest(body, headers, None, "none", fields)


def valid_token_requests(client: Client) -> st.SearchStrategy[TokenRequest]:
    """Client-credentials requests the mock must answer 200: form or JSON, body or HTTP Basic credentials."""
    return _valid(_check_client(client))


_WORDS = st.text(string.ascii_letters + string.digits + ":_-", min_size=1, max_size=30)


@st.composite
def _invalid(draw: st.DrawFn, client: Client) -> TokenRequest:
    base = draw(_valid(client))
    fields = dict(base.fields)
    headers = dict(base.headers)
    basic = "Authorization" in headers
    mutation = draw(
        st.sampled_from(
            [
                "wrong secret",
                "unknown client",
                "no grant_type",
                "unknown grant_type",
                "no scope",
                "empty scope",
                "scope not registered",
                "unsupported content type",
                "no client_id",
                "parameter twice",
                "invalid UTF-8",
                "malformed Basic header",
            ]
        )
    )
    expected: LwaError
    if mutation == "wrong secret":
        secret = draw(client_secrets().filter(lambda s: s != client.client_secret))
        if basic:
            headers["Authorization"] = _basic(client.client_id, secret)
        else:
            fields["client_secret"] = secret
        expected = errors.INVALID_CLIENT()
    elif mutation == "unknown client":
        other = draw(client_ids().filter(lambda c: c != client.client_id))
        if basic:
            headers["Authorization"] = _basic(other, client.client_secret)
        else:
            fields["client_id"] = other
        expected = errors.INVALID_CLIENT()
    elif mutation == "no grant_type":
        del fields["grant_type"]
        expected = errors.UNSUPPORTED_GRANT_TYPE()
    elif mutation == "unknown grant_type":
        fields["grant_type"] = draw(_WORDS.filter(lambda g: g not in GRANT_TYPES))
        expected = errors.UNSUPPORTED_GRANT_TYPE()
    elif mutation in ("no scope", "empty scope"):
        if mutation == "no scope":
            del fields["scope"]
        else:
            fields["scope"] = ""
        expected = errors.missing_parameter("scope")
    elif mutation == "scope not registered":
        stranger = draw(
            (st.sampled_from(CLIENT_CREDENTIALS_SCOPES + USER_SCOPES) | _WORDS).filter(lambda s: s not in client.scopes)
        )
        fields["scope"] = f"{fields['scope']} {stranger}"
        expected = errors.INVALID_SCOPE()
    elif mutation == "no client_id" and not basic:
        del fields["client_id"]
        expected = errors.missing_parameter("client_id")
    elif mutation == "malformed Basic header" or mutation == "no client_id":
        headers["Authorization"] = "Basic " + draw(st.sampled_from(["!!!", base64.b64encode(b"no-colon").decode()]))
        expected = errors.INVALID_CLIENT()
        mutation = "malformed Basic header"
    elif mutation == "parameter twice":
        expected = errors.MALFORMED_REQUEST()
    elif mutation == "invalid UTF-8":
        expected = errors.UNSUPPORTED_GRANT_TYPE()
    else:
        expected = errors.UNSUPPORTED_CONTENT_TYPE()
    # re-encode as the valid request was, except where the fault needs a form body
    form_only = mutation in ("parameter twice", "invalid UTF-8")
    encoding = "json" if headers["Content-Type"] == "application/json" and not form_only else "form"
    body, headers["Content-Type"] = _encode(fields, encoding)
    if mutation == "parameter twice":
        body += b"&grant_type=client_credentials"
    elif mutation == "invalid UTF-8":
        body += b"&note=\xff\xfe"
    elif mutation == "unsupported content type":
        headers["Content-Type"] = draw(
            st.sampled_from(["text/plain", "multipart/form-data; boundary=x", "application/xml", "application/jsonl"])
        )
    return TokenRequest(body, headers, expected, mutation, fields)


def invalid_token_requests(client: Client) -> st.SearchStrategy[TokenRequest]:
    """Client-credentials requests with one fault each, paired with the exact error they must get."""
    return _invalid(_check_client(client))
