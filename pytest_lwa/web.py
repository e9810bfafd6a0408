"""The browser's routes: ``/ap/oa`` and its consent page, and Seller Central's authorization workflow.

With automatic consent (the default) every route answers at once with a redirect, as
:meth:`~pytest_lwa.authority.Authority.set_consent` and
:meth:`~pytest_lwa.authority.Authority.set_seller_consent` decide. With ``interactive_consent`` the same
routes show a page (:mod:`pytest_lwa.pages`) whose form posts the decision back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from . import errors, pages
from .errors import LwaError
from .grants.popup import RELAY_PATH
from .grants.selling_partner import SellerCentralError, SellingPartner, Step
from .model import User
from .wire import HTML_HEADERS, Answer, LwaRequest, answer_headers, base_url, params

if TYPE_CHECKING:
    from .authority import Authority

StepRunner = Callable[[dict[str, str], "tuple[SellingPartner, bool] | None"], Step]
#: where ``/ap/oa``'s consent page posts the decision
DECISION_PATH: Final = "/ap/oa/consent"
#: the form fields of a consent page (the rest of a form is the request it answers)
_FIELDS: Final = ("lwa_account", "lwa_typed_account", "lwa_decision")
#: what a browser sees at ``/ap/oa`` for an unknown client (R20) or an unregistered redirect URI (R21)
BROWSER_PAGES: Final[dict[type[LwaError], str]] = {
    errors.UNKNOWN_CLIENT_ID: "Unknown client_id",
    errors.UNREGISTERED_REDIRECT_URI: "The redirect URI you provided has not been whitelisted for your application."
    " Please add your redirect URI in the 'Allowed Return URLs' section under 'Web Settings' for your Security"
    " Profile on Amazon Developer Portal.",
    errors.UNLISTED_ORIGIN: "The domain on which you are using the JavaScript SDK has not been whitelisted.",
}


def _html(status: int, body: bytes, reason: str | None = None) -> Answer:
    answer = Answer(status, body, list(HTML_HEADERS))
    answer.reason = reason
    return answer


class Pages:
    """The browser routes of one :class:`~pytest_lwa.authority.Authority` (served by
    :class:`~pytest_lwa.app.LwaApp`)."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority

    def _params(self, request: LwaRequest) -> dict[str, str]:
        return params(request, json_body=self.authority.settings.json_body)

    def _redirect(self, location: str, reason: str | None = None) -> Answer:
        headers = answer_headers(self.authority.clock)
        headers.append(("Location", location))
        answer = Answer(302, b"", headers, None)
        answer.reason = reason
        return answer

    def _form(self, request: LwaRequest) -> tuple[dict[str, str], str, bool, frozenset[str]]:
        """The request's own parameters, and what its consent page's form said: the account (typed, else
        chosen; empty for the default one), whether Allow was pressed and the voluntary scopes left ticked."""
        params = self._params(request)
        account = params.get("lwa_typed_account", "").strip() or params.get("lwa_account", "")
        own = {k: v for k, v in params.items() if k not in _FIELDS and not k.startswith(pages.KEEP)}
        kept = frozenset(k.removeprefix(pages.KEEP) for k in params if k.startswith(pages.KEEP))
        return own, account, params.get("lwa_decision") == "allow", kept

    # --- /ap/oa ---------------------------------------------------------------------------------

    def authorize(self, request: LwaRequest) -> Answer:
        """``GET /ap/oa``: a redirect, Amazon's error page (R20, R21), or the consent page."""
        return self._authorize(request, self._params(request), None)

    def decide(self, request: LwaRequest) -> Answer:
        """``POST /ap/oa/consent``: the consent page's Allow or Cancel."""
        params, account, allowed, kept = self._form(request)
        try:
            user = self._user(account)
        except ValueError as error:
            return _html(400, pages.error_page(str(error)), f"the consent page named no usable user: {error}")
        return self._authorize(request, params, (user, allowed), kept)

    def _user(self, user_id: str) -> User:
        if not user_id:
            return self.authority.default_user
        found = self.authority.find_user(user_id)
        return found if found is not None else self.authority.add_user(user_id)  # a typed id signs up

    def _authorize(
        self,
        request: LwaRequest,
        params: Mapping[str, str],
        consent: tuple[User, bool] | None,
        kept: frozenset[str] | None = None,
    ) -> Answer:
        try:
            outcome = self.authority.authorize(params, consent, kept, base_url(request) + RELAY_PATH)
        except LwaError as error:
            summary = BROWSER_PAGES.get(type(error))
            if summary is None or "text/html" not in request.headers.get("Accept", ""):
                raise  # an API client gets the JSON error
            return _html(400, pages.error_page(summary), error.reason)
        if outcome.location is not None:
            return self._redirect(outcome.location, outcome.reason)
        assert outcome.client is not None
        body = pages.consent(
            title="Amazon.com: consent",
            heading=f"Sign in with Amazon to {outcome.client.name}",
            action=DECISION_PATH,
            carry=params,
            accounts=[(u.user_id, f"{u.name} <{u.email}> ({u.user_id})") for u in self.authority.users],
            access=outcome.scopes,
            privacy=(outcome.client.name, outcome.client.privacy_notice_url),
            optional=outcome.optional,
            ticked=kept,
            alert=outcome.alert,
        )
        return _html(200, body, outcome.reason)

    # --- Seller Central ---------------------------------------------------------------------------

    def _partner(self, partner_id: str) -> SellingPartner:
        if not partner_id:
            return self.authority.seller_consent[0]
        found = self.authority.find_selling_partner(partner_id)
        return found if found is not None else self.authority.add_selling_partner(partner_id)  # a typed id signs up

    def _seller_step(self, request: LwaRequest, run: StepRunner) -> Answer:
        """A Seller Central route: a GET starts its step, a POST is its page's form answering it."""
        params, account, allowed, _ = self._form(request)
        decision = None
        try:
            if request.method == "POST":
                decision = (self._partner(account), allowed)
            step = run(params, decision)
        except SellerCentralError as error:
            return _html(error.status, pages.seller_central_error(error.message, error.code), error.reason)
        except ValueError as error:  # a typed account id that cannot be one
            return _html(
                400, pages.seller_central_error(str(error), None), f"the consent page named no partner: {error}"
            )
        if step.location is not None:
            return self._redirect(step.location)
        assert step.app is not None
        if step.declined:
            who = step.partner.selling_partner_id if step.partner else "the selling partner"
            return _html(200, pages.declined(step.app.name), f"{who} cancelled on Seller Central's consent page")
        return _html(200, self._seller_page(request, step))

    def _seller_page(self, request: LwaRequest, step: Step) -> bytes:
        """The consent page (a step that carries its request on), or the Appstore's sign-in (one that does not)."""
        assert step.app is not None
        partners = self.authority.selling_partners
        central = "Vendor Central" if step.app.vendor else "Seller Central"
        consenting = bool(step.carry)
        return pages.consent(
            title=f"{central}: authorize {step.app.name}",
            heading=f"Authorize {step.app.name}" if consenting else f"{step.app.name} in the Appstore",
            action=request.path,
            carry=step.carry,
            accounts=[(p.selling_partner_id, f"{p.name} ({p.selling_partner_id})") for p in partners],
            signed_in=step.partner.selling_partner_id if step.partner else None,
            access=[f"Selling Partner API access to your {central} account data"] if consenting else (),
            allow="Confirm" if consenting else "Authorize now",
            cancel="Cancel" if consenting else None,
        )

    def seller_consent(self, request: LwaRequest) -> Answer:
        """``/apps/authorize/consent``: the website workflow's start (GET), and its consent page's form (POST)."""
        base = base_url(request)
        return self._seller_step(
            request,
            lambda params, decision: self.authority.seller_authorize(params, base, decision),
        )

    def seller_callback(self, request: LwaRequest, application_id: str) -> Answer:
        """``/apps/authorize/confirm/<application_id>``: the Amazon callback URI."""
        return self._seller_step(
            request,
            lambda params, decision: self.authority.seller_callback(application_id, params, decision),
        )

    def appstore(self, request: LwaRequest, application_id: str) -> Answer:
        """``/selling-partner-appstore/dp/<application_id>``: the detail page's "Authorize now"."""
        base = base_url(request)
        return self._seller_step(
            request,
            lambda params, decision: self.authority.seller_appstore(
                application_id, base, decision[0] if decision else None
            ),
        )
