"""The grants of ``POST /auth/o2/token``, one module each, registered in :data:`GRANTS`.

A grant names the parameters it requires, says when a client must authenticate with its secret, may name
the client itself (a device code poll), and turns an authenticated client's parameters into a success body
or the exact :class:`~pytest_lwa.errors.LwaError`. :func:`pytest_lwa.grants.token_endpoint.answer` runs the
checks every grant shares, in this order, so a request with several faults gets the first one's error:

1. method and path, content type, body parse (the HTTP app, :mod:`pytest_lwa.app`);
2. ``grant_type`` present and supported (a key of :data:`GRANTS`);
3. the grant's ``required`` parameters present and non-empty, then ``client_id`` unless HTTP Basic is used or
   the grant ``names_client`` (a device code poll, docs/contract.md R8);
4. client authentication (body or HTTP Basic; the secret may be left out where ``secret_required`` says);
5. the client's permission for the grant;
6. the grant's own checks (``answer``): scopes, refresh token, authorization code, device code pair.

``GET /ap/oa`` grows the same way: a shared front (:mod:`pytest_lwa.grants.authorize_endpoint`: the client, the
redirect URI, ``state``, the consent) and one :class:`ResponseType` per ``response_type``, registered in
:data:`RESPONSE_TYPES`.

A grant and a response type work through a :class:`~pytest_lwa.port.Port` and import nothing above it. A new
grant is one module with a :class:`Grant` subclass, one line in :data:`GRANTS` and its name in
:data:`~pytest_lwa.model.GRANT_TYPES`; a new response type (the implicit grant's ``token``, say) one module
with a :class:`ResponseType` subclass and one line in :data:`RESPONSE_TYPES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..model import GRANT_TYPES
from .authorization_code import AuthorizationCode, CodeResponse
from .base import Grant, ResponseType
from .client_credentials import ClientCredentials
from .device_code import DeviceCode
from .refresh_token import RefreshToken

__all__ = ["GRANTS", "GRANT_TYPES", "RESPONSE_TYPES", "Grant", "ResponseType"]


# Runs only while the module is imported, before mutation testing can switch a mutant on (as errors._kind).
def _table() -> dict[str, Grant]:  # pragma: no mutate block
    return {
        "client_credentials": ClientCredentials(),
        "refresh_token": RefreshToken(),
        "authorization_code": AuthorizationCode(),
        "device_code": DeviceCode(),
    }


def _response_types() -> dict[str, ResponseType]:  # pragma: no mutate block
    return {
        "code": CodeResponse(),
    }


#: Every grant the token endpoint serves, by ``grant_type`` (in the order of :data:`GRANT_TYPES`).
GRANTS: Final[Mapping[str, Grant]] = _table()
#: Every response type ``GET /ap/oa`` serves, by ``response_type``.
RESPONSE_TYPES: Final[Mapping[str, ResponseType]] = _response_types()
