"""``GET /ap/oa``: the front every response type shares (RFC 6749 section 3.1), then the response type
:data:`~pytest_lwa.grants.RESPONSE_TYPES` names for the request's ``response_type``.

The front checks, in this order: the client (a missing or unknown ``client_id`` is an error page, not a
redirect), the redirect URI (one that is not registered is an error page too), then, each sent to the redirect
URI with ``state``: ``response_type`` supported, the response type's own checks, and the consent (a page with
interactive consent, else :meth:`~pytest_lwa.authority.Authority.set_consent`'s). After consent the response
type says what the redirect carries, for the scopes granted: those asked, less the voluntary ones the customer
unticked (:mod:`pytest_lwa.grants.voluntary`, N16). Each consent is kept in ``port.consents``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from .. import errors
from ..errors import LwaError
from ..model import ALLOW_ORIGIN, Client, User, listed, unknown_client
from ..stores import Consent
from . import RESPONSE_TYPES, popup, voluntary
from .base import ResponseType

if TYPE_CHECKING:
    from ..port import Port

#: how an unsupported response type's error is sent: in the redirect's query
_IN_QUERY: Final = ResponseType()


@dataclass(frozen=True)
class Authorization:
    """What ``GET /ap/oa`` answers: a redirect (``location``, with ``reason`` when it carries an error), or,
    with interactive consent and no decision yet (or one the page refuses: ``alert`` and ``reason``), the page's
    content (``client``, ``scopes``, and the ``optional`` ones the customer may untick)."""

    location: str | None = None
    reason: str | None = None
    client: Client | None = None
    scopes: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    alert: str | None = None


def answer(
    port: Port,
    params: Mapping[str, str],
    consent: tuple[User, bool] | None = None,
    kept: Collection[str] | None = None,
    relay: str | None = None,
) -> Authorization:
    """Answer ``GET /ap/oa``, with ``consent`` (user, granted) and the voluntary scopes ``kept`` ticked when a
    page asked. ``relay`` is the URL of this host's SDK popup relay page (:mod:`~pytest_lwa.grants.popup`),
    a redirect URI the client's Allowed Origins allow.

    A missing or unknown ``client_id`` or a ``redirect_uri`` not registered for the client raises (the app
    shows an error page instead of redirecting); every other error is sent to the redirect URI.
    """
    client = port.find_client(params.get("client_id", ""))
    if client is None:
        raise errors.UNKNOWN_CLIENT_ID(reason=unknown_client(port.clients, params.get("client_id", "")))
    target, bound = _redirect_uri(client, params.get("redirect_uri"), relay)
    state = {"state": params["state"]} if "state" in params else {}
    response_type = RESPONSE_TYPES.get(params.get("response_type", ""))
    try:
        if response_type is None:
            takes = " or ".join(repr(name) for name in RESPONSE_TYPES)
            raise errors.UNSUPPORTED_RESPONSE_TYPE(
                reason=f"response_type is {params.get('response_type')!r}; /ap/oa takes {takes}"
            )
        response_type.check(client, params)
        data = voluntary.scope_data(params)
        scopes = tuple(params.get("scope", "").split())
        optional = voluntary.voluntary(scopes, data)
        page = Authorization(client=client, scopes=scopes, optional=optional)
        if consent is None and port.settings.interactive_consent:
            return page
        user, allowed = consent if consent is not None else port.consent
        if not allowed:
            why = "cancelled on the consent page" if consent is not None else "cancelled: set_consent(granted=False)"
            raise errors.ACCESS_DENIED(reason=f"the user {user.user_id} {why}")
        try:
            granted = voluntary.granted(scopes, optional, kept if consent is not None else port.consent_scopes)
        except LwaError as refused:
            if consent is None:
                raise
            return replace(
                page,
                reason=refused.reason,
                alert="Keep at least one Data Portability permission ticked, or press Cancel.",
            )
    except LwaError as error:
        query = {"error": error.error, "error_description": error.description, **state}
        return Authorization((response_type or _IN_QUERY).redirect(target, query), error.reason)
    scope = " ".join(granted)
    port.consents.append(Consent(client.client_id, user.user_id, " ".join(scopes), scope, data))
    asked = {k: v for k, v in params.items() if bound or k != "redirect_uri"}  # a popup's code: no redirect URI
    answered = response_type.respond(port, client, {**asked, "scope": scope}, user)
    return Authorization(response_type.redirect(target, {**answered, **state}))


def _redirect_uri(client: Client, given: str | None, relay: str | None) -> tuple[str, bool]:
    """Where the answer goes: the ``redirect_uri`` sent, if registered, else the client's only one; or the SDK's
    popup relay for a page at one of the client's Allowed Origins. And whether a code is bound to it."""
    registered = listed(client.redirect_uris, "none")
    origin = popup.opener_origin(given, relay) if given else None
    if origin is not None:
        if origin not in client.allowed_origins:
            raise errors.UNLISTED_ORIGIN(
                reason=f"the SDK's popup was opened by a page at {origin or 'no web origin'!r}, which is not an"
                f" Allowed Origin of client {client.client_id!r} (its allowed_origins:"
                f" {listed(client.allowed_origins, 'none')}); {ALLOW_ORIGIN}"
            )
        return given or "", False
    if given:
        if given not in client.redirect_uris:
            raise errors.UNREGISTERED_REDIRECT_URI(
                reason=f"redirect_uri {given!r} is not registered for client {client.client_id!r} (registered:"
                f" {registered}); add_client(redirect_uris=[...]) registers it"
            )
        return given, True
    if len(client.redirect_uris) == 1:
        return client.redirect_uris[0], True
    raise errors.UNREGISTERED_REDIRECT_URI(
        reason=f"no redirect_uri was sent and client {client.client_id!r} does not have exactly one"
        f" (registered: {registered})"
    )
