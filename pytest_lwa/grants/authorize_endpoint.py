"""``GET /ap/oa``: the front every response type shares (RFC 6749 section 3.1), then the response type
:data:`~pytest_lwa.grants.RESPONSE_TYPES` names for the request's ``response_type``.

The front checks, in this order: the client (a missing or unknown ``client_id`` is an error page, not a
redirect), the redirect URI (one that is not registered is an error page too), then, each sent to the redirect
URI with ``state``: ``response_type`` supported, the response type's own checks, and the consent (a page with
interactive consent, else :meth:`~pytest_lwa.authority.Authority.set_consent`'s). After consent the response
type says what the redirect carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .. import errors
from ..errors import LwaError
from ..model import Client, User, listed, unknown_client
from . import RESPONSE_TYPES
from .base import ResponseType

if TYPE_CHECKING:
    from ..port import Port

#: how an unsupported response type's error is sent: in the redirect's query
_IN_QUERY: Final = ResponseType()


@dataclass(frozen=True)
class Authorization:
    """What ``GET /ap/oa`` answers: a redirect (``location``, with ``reason`` when it carries an error), or,
    with interactive consent and no decision yet, the consent page's content (``client``, ``scopes``)."""

    location: str | None = None
    reason: str | None = None
    client: Client | None = None
    scopes: tuple[str, ...] = ()


def answer(port: Port, params: Mapping[str, str], consent: tuple[User, bool] | None = None) -> Authorization:
    """Answer ``GET /ap/oa``, with ``consent`` (user, granted) when a page asked.

    A missing or unknown ``client_id`` or a ``redirect_uri`` not registered for the client raises (the app
    shows an error page instead of redirecting); every other error is sent to the redirect URI.
    """
    client = port.find_client(params.get("client_id", ""))
    if client is None:
        raise errors.UNKNOWN_CLIENT_ID(reason=unknown_client(port.clients, params.get("client_id", "")))
    target = _redirect_uri(client, params.get("redirect_uri"))
    state = {"state": params["state"]} if "state" in params else {}
    response_type = RESPONSE_TYPES.get(params.get("response_type", ""))
    try:
        if response_type is None:
            takes = " or ".join(repr(name) for name in RESPONSE_TYPES)
            raise errors.UNSUPPORTED_RESPONSE_TYPE(
                reason=f"response_type is {params.get('response_type')!r}; /ap/oa takes {takes}"
            )
        response_type.check(client, params)
        if consent is None and port.settings.interactive_consent:
            return Authorization(client=client, scopes=tuple(params.get("scope", "").split()))
        user, granted = consent if consent is not None else port.consent
        if not granted:
            why = "cancelled on the consent page" if consent is not None else "cancelled: set_consent(granted=False)"
            raise errors.ACCESS_DENIED(reason=f"the user {user.user_id} {why}")
    except LwaError as error:
        query = {"error": error.error, "error_description": error.description, **state}
        return Authorization((response_type or _IN_QUERY).redirect(target, query), error.reason)
    return Authorization(response_type.redirect(target, {**response_type.respond(port, client, params, user), **state}))


def _redirect_uri(client: Client, given: str | None) -> str:
    """Where the answer goes: the ``redirect_uri`` sent, if registered, else the client's only one."""
    registered = listed(client.redirect_uris, "none")
    if given:
        if given not in client.redirect_uris:
            raise errors.UNREGISTERED_REDIRECT_URI(
                reason=f"redirect_uri {given!r} is not registered for client {client.client_id!r} (registered:"
                f" {registered}); add_client(redirect_uris=[...]) registers it"
            )
        return given
    if len(client.redirect_uris) == 1:
        return client.redirect_uris[0]
    raise errors.UNREGISTERED_REDIRECT_URI(
        reason=f"no redirect_uri was sent and client {client.client_id!r} does not have exactly one"
        f" (registered: {registered})"
    )
