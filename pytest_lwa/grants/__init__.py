"""The grants of ``POST /auth/o2/token``, one module each, registered in :data:`GRANTS`.

A grant names the parameters it requires, says when a client must authenticate with its secret, may name
the client itself (a device code poll), and turns an authenticated client's parameters into a success body
or the exact :class:`~pytest_lwa.errors.LwaError`. :func:`pytest_lwa.grants.token_endpoint.answer` runs the
checks every grant shares, in this order, so a request with several faults gets the first one's error:

1. method and path, content type, body parse (the HTTP app, :mod:`pytest_lwa.app`);
2. ``grant_type`` present and supported (a key of :data:`GRANTS`);
3. the grant's ``required`` parameters present and non-empty, then ``client_id`` unless HTTP Basic is used or
   the grant ``names_client`` (a device code poll, LWA-CONTRACT R8);
4. client authentication (body or HTTP Basic; the secret may be left out where ``secret_required`` says);
5. the client's permission for the grant;
6. the grant's own checks (``answer``): scopes, refresh token, authorization code, device code pair.

A new grant is one module with a :class:`Grant` subclass and one line in :data:`GRANTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

if TYPE_CHECKING:
    from ..authority import Authority
    from ..model import Client


class Grant:
    """One ``grant_type`` of the token endpoint."""

    #: parameters that must be present and non-empty, in the order they are checked
    required: ClassVar[tuple[str, ...]] = ()
    #: whether the grant's parameters name the client, so a request may leave ``client_id`` out
    names_client: ClassVar[bool] = False

    def secret_required(self, authority: Authority, params: Mapping[str, str], client_id: str) -> bool:
        """Whether the client must send its secret (a secret that is sent must be right regardless)."""
        return True

    def implied_client(self, authority: Authority, params: Mapping[str, str]) -> str:
        """The client the parameters name (only asked when :attr:`names_client`)."""
        raise NotImplementedError

    def answer(self, authority: Authority, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        """The success body, or raise the grant's :class:`~pytest_lwa.errors.LwaError`."""
        raise NotImplementedError


# Runs only while the module is imported, before mutation testing can switch a mutant on (as errors._kind).
def _table() -> dict[str, Grant]:  # pragma: no mutate block
    from .authorization_code import AuthorizationCode
    from .client_credentials import ClientCredentials
    from .device_code import DeviceCode
    from .refresh_token import RefreshToken

    return {
        "client_credentials": ClientCredentials(),
        "refresh_token": RefreshToken(),
        "authorization_code": AuthorizationCode(),
        "device_code": DeviceCode(),
    }


#: Every grant the token endpoint serves, by ``grant_type``.
GRANTS: Final[Mapping[str, Grant]] = _table()
GRANT_TYPES: Final[tuple[str, ...]] = tuple(GRANTS)
