"""``POST /auth/o2/token``: the checks every grant shares, then the grant :data:`~pytest_lwa.grants.GRANTS`
names for the request's ``grant_type``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .. import errors
from ..model import Client, not_granted, unknown_client, wrong_secret
from . import GRANT_TYPES, GRANTS

if TYPE_CHECKING:
    from ..port import Port

#: What a request's HTTP Basic header gave: (client_id, secret), ``None`` without one, ``False`` if malformed.
BasicCredentials = tuple[str, str] | Literal[False] | None


def answer(port: Port, params: Mapping[str, str], basic: BasicCredentials = None) -> dict[str, Any]:
    """Answer a token request's parameters (``basic``: the credentials of its HTTP Basic header), running the
    checks every grant shares in the order :mod:`pytest_lwa.grants` gives, then the grant's own."""
    grant_type = params.get("grant_type", "")
    grant = GRANTS.get(grant_type)
    if grant is None:
        sent = f"grant_type {grant_type!r} is not" if grant_type else "no grant_type was sent; it must be"
        raise errors.UNSUPPORTED_GRANT_TYPE(reason=f"{sent} one of {', '.join(GRANT_TYPES)} (case matters)")
    needs_client_id = basic is None and not grant.names_client
    for name in (*grant.required, "client_id") if needs_client_id else grant.required:
        if not params.get(name):
            how = " (or an HTTP Basic header)" if name == "client_id" else ""
            raise errors.missing_parameter(name, f"grant_type {grant_type} needs {name}{how}; none was sent")
    if basic is None and not params.get("client_id") and grant.names_client:
        # Amazon's device SDK polls with grant_type, device_code and user_code alone (R8)
        params = {**params, "client_id": grant.implied_client(port, params)}
    secret_required = functools.partial(grant.secret_required, port, params)
    client = _authenticate(port, params, basic, secret_required)
    if grant_type not in client.grants:
        raise errors.UNAUTHORIZED_CLIENT(reason=not_granted(client, grant_type))
    return grant.answer(port, client, params)


def _authenticate(
    port: Port,
    params: Mapping[str, str],
    basic: BasicCredentials,
    secret_required: Callable[[str], bool],
) -> Client:
    """The client named by the request, if its secret is right; ``invalid_client`` otherwise.

    With HTTP Basic, body credentials, if any, must name the same client and secret.
    """
    if basic is False:
        raise errors.INVALID_CLIENT(reason="the Authorization: Basic header is not base64 of client_id:client_secret")
    if isinstance(basic, tuple):
        client_id, secret = basic
        for name, value in (("client_id", client_id), ("client_secret", secret)):
            if params.get(name, value) != value:
                raise errors.INVALID_CLIENT(
                    reason=f"the HTTP Basic header and the body's {name} disagree; send the same client or one"
                )
    else:
        client_id, secret = params["client_id"], params.get("client_secret", "")
    client = port.find_client(client_id)
    if client is None:
        raise errors.INVALID_CLIENT(reason=unknown_client(port.clients, client_id))
    now = port.clock.now()
    if (secret or secret_required(client_id)) and not client.accepts_secret(secret, now):
        raise errors.INVALID_CLIENT(reason=wrong_secret(client, secret, now))
    return client
