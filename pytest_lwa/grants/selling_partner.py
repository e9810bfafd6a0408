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

import secrets
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, cast
from urllib.parse import quote, urlsplit

from ..model import NotRegistered, add_query, credential, flag, listed, random_letters, text, words
from . import authorization_code

if TYPE_CHECKING:
    from ..authority import Authority
    from ..model import Client

APPLICATION_ID_PREFIX: Final = "amzn1.sp.solution."
#: an ``amazon_state`` works once, within this many seconds of the server's clock (the mock's choice:
#: Amazon documents no lifetime)
AMAZON_STATE_LIFETIME: Final = 600
CONSENT_PATH: Final = "/apps/authorize/consent"
CALLBACK_PATH: Final = "/apps/authorize/confirm/"
APPSTORE_PATH: Final = "/selling-partner-appstore/dp/"


@dataclass(frozen=True)
class SellingPartnerApp:
    """An SP-API application: its id, its LWA client, its log-in URI, redirect URIs and status."""

    application_id: str
    client_id: str
    name: str
    login_uri: str
    redirect_uris: tuple[str, ...]
    #: ``False``: a draft, authorized only with ``version=beta``; ``True``: listed in the Appstore
    published: bool = False
    #: a vendor application (Vendor Central; no Appstore workflow)
    vendor: bool = False


@dataclass(frozen=True)
class SellingPartner:
    """A seller or vendor account that can authorize applications."""

    selling_partner_id: str
    name: str = "Test Seller"


@dataclass
class _Pending:
    """A workflow between Amazon's redirect to the log-in URI and the app's redirect to the callback."""

    application_id: str
    selling_partner_id: str
    consented: bool  # website workflow: already; Appstore workflow: at the callback
    expires_at: float


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


class SellingPartners:
    """The SP-API applications, selling partners and workflows in progress of one authority."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.apps: dict[str, SellingPartnerApp] = {}
        self.partners: dict[str, SellingPartner] = {}
        self.pending: dict[str, _Pending] = {}
        self.default = self.add_partner()
        #: who signs in to Seller Central from now on, and whether they authorize (``set_seller_consent``)
        self.consent: tuple[SellingPartner, bool] = (self.default, True)

    def add_partner(self, selling_partner_id: str | None = None, name: str = "Test Seller") -> SellingPartner:
        partner_id = credential(selling_partner_id, "selling_partner_id") or "A" + random_letters(13)
        partner = SellingPartner(partner_id, text(name, "name"))
        with self.lock:
            if partner.selling_partner_id in self.partners:
                raise ValueError(f"a selling partner with id {partner.selling_partner_id!r} is already registered")
            self.partners[partner.selling_partner_id] = partner
        return partner

    def partner(self, partner: SellingPartner | str | None) -> SellingPartner:
        if partner is None:
            return self.default
        partner_id = (
            partner.selling_partner_id if isinstance(partner, SellingPartner) else text(partner, "selling_partner_id")
        )
        found = self.partners.get(partner_id)
        if found is None:
            raise NotRegistered(
                f"no selling partner {partner_id!r} is registered", "add_selling_partner() registers one"
            )
        return found

    def add_app(self, app: SellingPartnerApp) -> SellingPartnerApp:
        with self.lock:
            if app.application_id in self.apps:
                raise ValueError(f"an application with id {app.application_id!r} is already registered")
            self.apps[app.application_id] = app
        return app

    def app(self, application_id: str) -> SellingPartnerApp:
        """The registered application; Seller Central's error page for an id it does not know."""
        found = self.apps.get(application_id)
        if found is None:
            known = listed(self.apps, "none")
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
    authority: Authority, app: SellingPartnerApp, partner: SellingPartner, base_url: str, *, consented: bool
) -> str:
    """The app's log-in URI with ``amazon_callback_uri``, a new ``amazon_state`` and ``selling_partner_id``."""
    now = authority.clock.now()
    amazon_state = secrets.token_urlsafe(24)
    store = authority.selling_partners
    with store.lock:
        for stale in [s for s, kept in store.pending.items() if kept.expires_at <= now]:
            del store.pending[stale]
        store.pending[amazon_state] = _Pending(
            app.application_id, partner.selling_partner_id, consented, now + AMAZON_STATE_LIFETIME
        )
    callback = base_url + CALLBACK_PATH + quote(app.application_id, safe="")
    query = {
        "amazon_callback_uri": callback,
        "amazon_state": amazon_state,
        "selling_partner_id": partner.selling_partner_id,
    }
    return add_query(app.login_uri, query)


def consent(
    authority: Authority, params: Mapping[str, str], base_url: str, decision: tuple[SellingPartner, bool] | None
) -> Step:
    """``/apps/authorize/consent``: the website workflow's start, where the selling partner consents."""
    store = authority.selling_partners
    app = store.app(params.get("application_id", ""))
    _check_version(app, params)
    _require_state(
        params, "the authorization URI has no state: the website workflow requires one (the app checks it on return)"
    )
    if decision is None and authority.settings.interactive_consent:
        return Step(app=app, carry=dict(params))
    partner, granted = decision if decision is not None else store.consent
    if not granted:
        return Step(app=app, partner=partner, declined=True)
    return Step(location=login_redirect(authority, app, partner, base_url, consented=True))


def appstore(authority: Authority, application_id: str, base_url: str, decision: SellingPartner | None) -> Step:
    """The Appstore detail page's "Authorize now": the Appstore workflow's start, at the log-in URI."""
    store = authority.selling_partners
    app = store.app(application_id)
    if app.vendor or not app.published:
        why = "a vendor application (the Appstore workflow is for seller applications)" if app.vendor else "a draft"
        raise SellerCentralError(
            404,
            "This application is not listed in the Selling Partner Appstore.",
            f"application {app.application_id!r} is {why}; test a draft through the authorization URI with"
            " version=beta",
        )
    if decision is None and authority.settings.interactive_consent:
        return Step(app=app)  # the sign-in page: which selling partner starts
    partner = decision if decision is not None else store.consent[0]
    return Step(location=login_redirect(authority, app, partner, base_url, consented=False))


def callback(
    authority: Authority, application_id: str, params: Mapping[str, str], decision: tuple[SellingPartner, bool] | None
) -> Step:
    """The Amazon callback URI: checks ``amazon_state``, the version and the redirect URI, then sends the
    selling partner to the redirect URI with ``spapi_oauth_code`` (after consent, in the Appstore workflow)."""
    store = authority.selling_partners
    app = store.app(application_id)
    amazon_state = params.get("amazon_state", "")
    pending = _pending(authority, amazon_state, app, take=False)
    _check_version(app, params)
    _require_state(
        params, "the callback has no state: the app must send one with amazon_state (it comes back with the code)"
    )
    target = _redirect_target(app, params.get("redirect_uri"))
    partner = store.partner(pending.selling_partner_id)
    if not pending.consented:  # the Appstore workflow: the selling partner consents here
        if decision is None and authority.settings.interactive_consent:
            return Step(app=app, partner=partner, carry=dict(params))
        if not (decision[1] if decision is not None else store.consent[1]):
            _pending(authority, amazon_state, app, take=True)
            return Step(app=app, partner=partner, declined=True)
    _pending(authority, amazon_state, app, take=True)  # once: a second callback with it is refused
    code = authorization_code.issue(authority, app.client_id, "", partner.selling_partner_id)
    query = {"state": params["state"], "selling_partner_id": partner.selling_partner_id, "spapi_oauth_code": code}
    return Step(location=add_query(target, query))


def _pending(authority: Authority, amazon_state: str, app: SellingPartnerApp, *, take: bool) -> _Pending:
    """The live workflow ``amazon_state`` names for ``app`` (ended when ``take``); an error page otherwise."""
    store = authority.selling_partners
    with store.lock:
        pending = store.pending.get(amazon_state)
        live = pending is not None and pending.expires_at > authority.clock.now()
        if pending is None or not live or pending.application_id != app.application_id:
            why = "not one this server gave (or used, expired after 600 s, or another app's)"
            raise SellerCentralError(
                400,
                "The authorization request is invalid or has expired. Please start again.",
                f"amazon_state is {why if amazon_state else 'missing'}: send back the amazon_state the log-in URI"
                " received, once",
            )
        if take:
            del store.pending[amazon_state]
        return pending


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


class SellingPartnerMethods:
    """The Selling Partner API methods of :class:`~pytest_lwa.authority.Authority` (and so of the server)."""

    if TYPE_CHECKING:  # what the authority provides

        @property
        def selling_partners(self) -> SellingPartners: ...

        def _client(self, client: Client | str) -> Client: ...

        def add_client(self) -> Client: ...

    def add_sp_application(
        self,
        client: Client | str | None = None,
        *,
        login_uri: str,
        redirect_uris: Iterable[str],
        application_id: str | None = None,
        name: str = "Test SP-API Application",
        published: bool = False,
        vendor: bool = False,
    ) -> SellingPartnerApp:
        """Register an SP-API application: ``application_id`` defaults to a new ``amzn1.sp.solution.…`` id,
        ``client`` (its LWA client) to a newly registered one. A draft (``published=False``) is authorized
        only with ``version=beta``; a ``vendor`` application has no Appstore workflow."""
        uris = words(redirect_uris, "redirect_uris")
        name, published, vendor = text(name, "name"), flag(published, "published"), flag(vendor, "vendor")
        application_id = credential(application_id, "application_id")
        if application_id in self.selling_partners.apps:  # before a client is made for it
            raise ValueError(f"an application with id {application_id!r} is already registered")
        for uri in (login_uri, *uris):
            parts = urlsplit(uri) if isinstance(uri, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"log-in and redirect URIs must be absolute http(s) URLs, got {uri!r}")
        app = SellingPartnerApp(
            application_id or APPLICATION_ID_PREFIX + str(uuid.uuid4()),
            self._client(client).client_id if client is not None else self.add_client().client_id,
            name,
            login_uri,
            uris,
            published,
            vendor,
        )
        return self.selling_partners.add_app(app)

    def add_selling_partner(
        self, selling_partner_id: str | None = None, *, name: str = "Test Seller"
    ) -> SellingPartner:
        """Register a seller or vendor account; ``selling_partner_id`` defaults to a new ``A…`` id."""
        return self.selling_partners.add_partner(selling_partner_id, name)

    @property
    def default_selling_partner(self) -> SellingPartner:
        """The selling partner who signs in to Seller Central unless :meth:`set_seller_consent` names another."""
        return self.selling_partners.default

    def set_seller_consent(self, partner: SellingPartner | str | None = None, *, granted: bool = True) -> None:
        """Who signs in to Seller Central's consent from now on, and whether they authorize the app.

        ``set_seller_consent(granted=False)``: the selling partner cancels, and the workflow ends on Seller
        Central's page, without a redirect (as Amazon documents the Cancel button)."""
        self.selling_partners.consent = (self.selling_partners.partner(partner), flag(granted, "granted"))

    def issue_spapi_code(
        self, application: SellingPartnerApp | str, partner: SellingPartner | str | None = None
    ) -> str:
        """An ``spapi_oauth_code`` as the workflow would give it, skipping the browser."""
        application_id = (
            application.application_id
            if isinstance(application, SellingPartnerApp)
            else text(application, "application_id")
        )
        app = self.selling_partners.apps.get(application_id)
        if app is None:
            hint = "add_sp_application() registers one"
            raise NotRegistered(f"no SP-API application {application_id!r} is registered", hint)
        partner_id = self.selling_partners.partner(partner).selling_partner_id
        return authorization_code.issue(cast("Authority", self), app.client_id, "", partner_id)
