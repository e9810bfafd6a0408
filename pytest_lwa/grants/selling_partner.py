"""Selling Partner API authorization: Seller Central's (and Vendor Central's) part of the OAuth workflows.

As Amazon's SP-API documentation describes them ("Website Authorization Workflow", "Selling Partner Appstore
Authorization Workflow"):

Website workflow
    ``GET /apps/authorize/consent?application_id=…&state=…[&version=beta]`` → the selling partner signs in
    and consents → the app's log-in URI with ``amazon_callback_uri``, ``amazon_state`` and
    ``selling_partner_id`` → the app redirects to the callback with ``amazon_state``, ``state`` and an
    optional ``redirect_uri`` → the redirect URI with ``state``, ``selling_partner_id`` and
    ``spapi_oauth_code``.
Appstore workflow (seller applications only)
    the app's detail page ``GET /selling-partner-appstore/dp/<application_id>`` ("Authorize now") → the
    log-in URI as above → the callback, where the selling partner consents → the redirect URI as above.

The ``spapi_oauth_code`` is an authorization code of this server: single use, 300 s of the server's clock,
exchanged at ``/auth/o2/token`` (``grant_type=authorization_code``) by the application's LWA client for a
refresh token that refreshes like any other. A failure never redirects: Seller Central shows an error page
(:class:`SellerCentralError`), with the code Amazon's "Authorization Errors" page names where it names one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from ..model import add_query, listed
from ..stores import SellingPartner, SellingPartnerApp, Workflow
from . import authorization_code

if TYPE_CHECKING:
    from ..port import Port

__all__ = [
    "APPSTORE_PATH",
    "CALLBACK_PATH",
    "CONSENT_PATH",
    "SellerCentralError",
    "SellingPartner",
    "SellingPartnerApp",
    "Step",
    "appstore",
    "callback",
    "consent",
]

APPLICATION_ID_PREFIX: Final = "amzn1.sp.solution."
#: an ``amazon_state`` works once, within this many seconds of the server's clock (the mock's choice:
#: Amazon documents no lifetime)
AMAZON_STATE_LIFETIME: Final = 600
CONSENT_PATH: Final = "/apps/authorize/consent"
CALLBACK_PATH: Final = "/apps/authorize/confirm/"
APPSTORE_PATH: Final = "/selling-partner-appstore/dp/"


class SellerCentralError(Exception):
    """A workflow failure: Seller Central shows an error page and redirects nowhere."""

    def __init__(self, status: int, message: str, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.status, self.message, self.reason, self.code = status, message, reason, code


@dataclass(frozen=True)
class Step:
    """What a workflow route answers: a redirect, or (with interactive consent) the consent page for
    ``app``, or the page saying the selling partner left without authorizing."""

    location: str | None = None
    app: SellingPartnerApp | None = None
    partner: SellingPartner | None = None
    declined: bool = False
    #: the parameters the consent page must send back
    carry: dict[str, str] = field(default_factory=dict)


def _app(port: Port, application_id: str) -> SellingPartnerApp:
    """The registered application; Seller Central's error page for an id it does not know."""
    found = port.seller_central.find_app(application_id)
    if found is None:
        known = listed([app.application_id for app in port.seller_central.apps()], "none")
        raise SellerCentralError(
            404,
            "This application is not available.",
            f"application_id {application_id!r} is not registered (registered: {known});"
            " add_sp_application() registers one",
        )
    return found


def _check_version(app: SellingPartnerApp, params: Mapping[str, str]) -> bool:
    """Whether the workflow is a draft's test (``version=beta``); MD1000 for a draft without it."""
    beta = params.get("version") == "beta"
    if not app.published and not beta:
        raise SellerCentralError(
            400,
            "The application is in draft status and cannot be authorized without version=beta.",
            f"application {app.application_id!r} is a draft: add version=beta to the authorization URI and to"
            " the Amazon callback URI, or register it with published=True",
            "MD1000",
        )
    return beta


def _require_state(params: Mapping[str, str], reason: str) -> None:
    """The authorization URI and the callback must carry a ``state``; Seller Central's page otherwise."""
    if not params.get("state"):
        raise SellerCentralError(400, "The authorization request is missing its state.", reason)


def login_redirect(
    port: Port, app: SellingPartnerApp, partner: SellingPartner, base_url: str, *, consented: bool
) -> str:
    """The app's log-in URI with ``amazon_callback_uri``, a new ``amazon_state`` and ``selling_partner_id``."""
    now = port.clock.now()
    workflow = Workflow(app.application_id, partner.selling_partner_id, consented, now + AMAZON_STATE_LIFETIME)
    amazon_state = port.seller_central.start(workflow, now)
    callback = base_url + CALLBACK_PATH + quote(app.application_id, safe="")
    query = {
        "amazon_callback_uri": callback,
        "amazon_state": amazon_state,
        "selling_partner_id": partner.selling_partner_id,
    }
    return add_query(app.login_uri, query)


def consent(port: Port, params: Mapping[str, str], base_url: str, decision: tuple[SellingPartner, bool] | None) -> Step:
    """``/apps/authorize/consent``: the website workflow's start, where the selling partner consents."""
    app = _app(port, params.get("application_id", ""))
    _check_version(app, params)
    _require_state(
        params, "the authorization URI has no state: the website workflow requires one (the app checks it on return)"
    )
    if decision is None and port.settings.interactive_consent:
        return Step(app=app, carry=dict(params))
    partner, granted = decision if decision is not None else port.seller_central.consent
    if not granted:
        return Step(app=app, partner=partner, declined=True)
    return Step(location=login_redirect(port, app, partner, base_url, consented=True))


def appstore(port: Port, application_id: str, base_url: str, decision: SellingPartner | None) -> Step:
    """The Appstore detail page's "Authorize now": the Appstore workflow's start, at the log-in URI."""
    app = _app(port, application_id)
    if app.vendor or not app.published:
        why = "a vendor application (the Appstore workflow is for seller applications)" if app.vendor else "a draft"
        raise SellerCentralError(
            404,
            "This application is not listed in the Selling Partner Appstore.",
            f"application {app.application_id!r} is {why}; test a draft through the authorization URI with"
            " version=beta",
        )
    if decision is None and port.settings.interactive_consent:
        return Step(app=app)  # the sign-in page: which selling partner starts
    partner = decision if decision is not None else port.seller_central.consent[0]
    return Step(location=login_redirect(port, app, partner, base_url, consented=False))


def callback(
    port: Port, application_id: str, params: Mapping[str, str], decision: tuple[SellingPartner, bool] | None
) -> Step:
    """The Amazon callback URI: checks ``amazon_state``, the version and the redirect URI, then sends the
    selling partner to the redirect URI with ``spapi_oauth_code`` (after consent, in the Appstore workflow)."""
    app = _app(port, application_id)
    amazon_state = params.get("amazon_state", "")
    pending = _pending(port, amazon_state, app, take=False)
    _check_version(app, params)
    _require_state(
        params, "the callback has no state: the app must send one with amazon_state (it comes back with the code)"
    )
    target = _redirect_target(app, params.get("redirect_uri"))
    partner = port.seller_central.partner(pending.selling_partner_id)
    if not pending.consented:  # the Appstore workflow: the selling partner consents here
        if decision is None and port.settings.interactive_consent:
            return Step(app=app, partner=partner, carry=dict(params))
        if not (decision[1] if decision is not None else port.seller_central.consent[1]):
            _pending(port, amazon_state, app, take=True)
            return Step(app=app, partner=partner, declined=True)
    _pending(port, amazon_state, app, take=True)  # once: a second callback with it is refused
    code = authorization_code.issue(port, app.client_id, "", partner.selling_partner_id)
    query = {"state": params["state"], "selling_partner_id": partner.selling_partner_id, "spapi_oauth_code": code}
    return Step(location=add_query(target, query))


def _pending(port: Port, amazon_state: str, app: SellingPartnerApp, *, take: bool) -> Workflow:
    """The live workflow ``amazon_state`` names for ``app`` (ended when ``take``); an error page otherwise."""
    workflow = port.seller_central.continue_workflow(amazon_state, app.application_id, port.clock.now(), end=take)
    if workflow is None:
        why = "not one this server gave (or used, expired after 600 s, or another app's)"
        raise SellerCentralError(
            400,
            "The authorization request is invalid or has expired. Please start again.",
            f"amazon_state is {why if amazon_state else 'missing'}: send back the amazon_state the log-in URI"
            " received, once",
        )
    return workflow


def _redirect_target(app: SellingPartnerApp, given: str | None) -> str:
    """The redirect URI: the one sent, if registered; else the first registered (MD5110, MD5101)."""
    if given and "#" in given:
        raise SellerCentralError(
            400,
            "The redirect URI must not contain a fragment.",
            f"redirect_uri {given!r} contains a fragment (#), which OAuth forbids",
            "MD5110",
        )
    if (given and given not in app.redirect_uris) or not app.redirect_uris:
        raise SellerCentralError(
            400,
            "The redirect URI does not match the application's registered redirect URIs.",
            f"redirect_uri {given!r} is not registered for application {app.application_id!r} (registered:"
            f" {listed(app.redirect_uris, 'none')}); add_sp_application(redirect_uris=[...]) registers it",
            "MD5101",
        )
    return given or app.redirect_uris[0]
