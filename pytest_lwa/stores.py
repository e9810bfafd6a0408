"""The state the grants work on, one store per kind, each with its own lock and single-step verbs.

A store's data is private: a grant, the authority or a page reads and changes it only through the verbs
below, each of which takes the store's lock once and lets it go before it returns.

Lock order: :class:`~pytest_lwa.authority.Authority`'s own lock (clients, users, settings, named refresh
tokens, consent) may be held while one store's lock is taken, never the other way round. A store's lock is a
leaf: while it is held the store calls nothing that takes a lock (a ``check`` handed to :meth:`Codes.redeem`
must not either), and no two stores' locks are ever held together.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from .model import NotRegistered, credential, digest, random_letters, text

__all__ = [
    "Code",
    "Codes",
    "Consent",
    "Notification",
    "Notifications",
    "Pair",
    "Pairs",
    "Poll",
    "Revocations",
    "SellerCentral",
    "SellingPartner",
    "SellingPartnerApp",
    "Workflow",
]


# --- authorization codes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """What an authorization code remembers of the consent it stands for."""

    client_id: str
    user_id: str
    scope: str
    redirect_uri: str | None
    challenge: str | None
    method: str | None
    expires_at: float


@dataclass(frozen=True)
class Consent:
    """A customer's consent at ``/ap/oa``: the scopes asked (``requested``) and granted (``scope``, narrower when
    voluntary scopes were unticked, N16), and the request's ``scope_data`` as sent (AVS's ``alexa:all``
    product attributes, say)."""

    client_id: str
    user_id: str
    requested: str
    scope: str
    scope_data: dict[str, Any]


class Codes:
    """The live authorization codes of one authority."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._codes: dict[str, Code] = {}

    def new(self, record: Code, now: float) -> str:
        """A new code for ``record`` (codes expired at ``now`` are forgotten)."""
        code = random_letters(20, string.ascii_letters)
        with self._lock:
            for stale in [c for c, kept in self._codes.items() if kept.expires_at <= now]:
                del self._codes[stale]
            self._codes[code] = record
        return code

    def get(self, code: str) -> Code | None:
        """The code's record, live or expired, if it is not used yet."""
        with self._lock:
            return self._codes.get(code)

    def redeem(self, code: str, check: Callable[[Code | None], None]) -> Code:
        """Use ``code`` once, in one step: ``check`` sees its record (``None`` for a code this store does not
        hold) and raises to refuse it, which leaves the code as it was; otherwise the code is used up."""
        with self._lock:
            record = self._codes.get(code)
            check(record)
            assert record is not None  # check refuses a code it does not have
            del self._codes[code]
            return record


# --- device code pairs ------------------------------------------------------------------------------


@dataclass
class Pair:
    """A device code pair; the store hands out copies of it."""

    client_id: str
    user_code: str
    scope: str
    expires_at: float
    last_poll: float | None = None
    state: Literal["pending", "approved", "denied"] = "pending"
    user_id: str | None = None


@dataclass(frozen=True)
class Poll:
    """What one poll of a code pair found: the pair as it was polled (``None``: unknown or expired), the time
    of the poll before (``None``: the first), whether the poll came too soon after it, and whether the pair
    ended here (a decided pair's poll that was not refused)."""

    pair: Pair | None
    previous: float | None = None
    too_soon: bool = False
    ended: bool = False


class Pairs:
    """The live code pairs of one authority, by device code and by user code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_device: dict[str, Pair] = {}
        self._by_user_code: dict[str, str] = {}  # user_code -> device_code

    def new(self, client_id: str, scope: str, now: float, expires_at: float) -> tuple[str, str]:
        """A new pending pair: its device code and user code (pairs expired at ``now`` are forgotten)."""
        device_code = secrets.token_urlsafe(27)
        with self._lock:
            for stale in [d for d, pair in self._by_device.items() if pair.expires_at <= now]:
                del self._by_user_code[self._by_device.pop(stale).user_code]
            user_code = random_letters(6)
            while user_code in self._by_user_code:
                user_code = random_letters(6)
            self._by_device[device_code] = Pair(client_id, user_code, scope, expires_at)
            self._by_user_code[user_code] = device_code
        return device_code, user_code

    def find(self, device_code: str) -> Pair | None:
        """A copy of the pair, live or expired, if it has not ended."""
        with self._lock:
            pair = self._by_device.get(device_code)
            return dataclasses.replace(pair) if pair is not None else None

    def client_of(self, device_code: str) -> str | None:
        """The client the pair was made for, if it has not ended."""
        with self._lock:
            pair = self._by_device.get(device_code)
            return pair.client_id if pair is not None else None

    def approve(self, user_code: str, user_id: str, now: float) -> None:
        """The user approves the live pair with ``user_code``: its next poll gets tokens."""
        self._decide(user_code, "approved", user_id, now)

    def deny(self, user_code: str, now: float) -> None:
        """The user refuses the live pair with ``user_code``: its next poll gets ``access_denied``."""
        self._decide(user_code, "denied", None, now)

    def _decide(self, user_code: str, state: Literal["approved", "denied"], user_id: str | None, now: float) -> None:
        with self._lock:
            pair = self._by_device.get(self._by_user_code.get(user_code, ""))
            if pair is None or pair.expires_at <= now:
                raise NotRegistered(f"no live code pair with user_code {user_code!r}")
            pair.state, pair.user_id = state, user_id

    def poll(self, device_code: str, client_id: str, user_code: str, now: float, interval: float | None) -> Poll:
        """One poll, in one step: a live pair of ``client_id`` with ``user_code`` records the poll's time; it is
        too soon when ``interval`` is given and the poll before was less than that long ago; a decided pair
        polled in time ends."""
        with self._lock:
            pair = self._by_device.get(device_code)
            if pair is None or pair.expires_at <= now:
                return Poll(None)
            if pair.client_id != client_id or pair.user_code != user_code:
                return Poll(dataclasses.replace(pair))
            previous, pair.last_poll = pair.last_poll, now
            too_soon = interval is not None and previous is not None and now - previous < interval
            ended = not too_soon and pair.state != "pending"
            if ended:
                del self._by_device[device_code]
                del self._by_user_code[pair.user_code]
            return Poll(dataclasses.replace(pair), previous, too_soon, ended)


# --- revocations ------------------------------------------------------------------------------------


class Revocations:
    """The tokens of one authority that were revoked (by their digests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked: set[bytes] = set()

    def revoke(self, token: str) -> None:
        with self._lock:
            self._revoked.add(digest(token))

    def take(self, token: str) -> bool:
        """Revoke ``token`` unless it already was: whether this call revoked it (a rotation happens once)."""
        key = digest(token)
        with self._lock:
            if key in self._revoked:
                return False
            self._revoked.add(key)
            return True

    def revoked(self, token: str) -> bool:
        with self._lock:
            return digest(token) in self._revoked


# --- Seller Central ---------------------------------------------------------------------------------


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
    #: where its rotation notifications go, as registered in the Developer Console (an SQS queue URL is sent
    #: to; ``None``: not enrolled, and the rotation API answers 400)
    notification_queue: str | None = None


@dataclass(frozen=True)
class SellingPartner:
    """A seller or vendor account that can authorize applications."""

    selling_partner_id: str
    name: str = "Test Seller"


@dataclass(frozen=True)
class Workflow:
    """A workflow between Amazon's redirect to the log-in URI and the app's redirect to the callback."""

    application_id: str
    selling_partner_id: str
    consented: bool  # website workflow: already; Appstore workflow: at the callback
    expires_at: float


_DEFAULT_NAME: Final = "Test Seller"


class SellerCentral:
    """The SP-API applications, selling partners, the seller consent and the workflows in progress of one
    authority. The default selling partner is made on first use (a reset that nothing follows costs little)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._apps: dict[str, SellingPartnerApp] = {}
        self._partners: dict[str, SellingPartner] = {}
        self._workflows: dict[str, Workflow] = {}
        self._default: SellingPartner | None = None
        self._consent: tuple[SellingPartner, bool] | None = None

    def _made_default(self) -> SellingPartner:
        """The default selling partner, made now if it is not yet (the lock held)."""
        if self._default is None:
            self._default = SellingPartner("A" + random_letters(13), _DEFAULT_NAME)
            self._partners[self._default.selling_partner_id] = self._default
        return self._default

    @property
    def default(self) -> SellingPartner:
        with self._lock:
            return self._made_default()

    @property
    def consent(self) -> tuple[SellingPartner, bool]:
        """Who signs in to Seller Central, and whether they authorize (``set_seller_consent``)."""
        with self._lock:
            return self._consent if self._consent is not None else (self._made_default(), True)

    def set_consent(self, partner: SellingPartner | str | None, granted: bool) -> None:
        found = self.partner(partner)
        with self._lock:
            self._consent = (found, granted)

    def add_partner(self, selling_partner_id: str | None = None, name: str = _DEFAULT_NAME) -> SellingPartner:
        partner_id = credential(selling_partner_id, "selling_partner_id") or "A" + random_letters(13)
        partner = SellingPartner(partner_id, text(name, "name"))
        with self._lock:
            self._made_default()  # the default stays the first registered
            if partner.selling_partner_id in self._partners:
                raise ValueError(f"a selling partner with id {partner.selling_partner_id!r} is already registered")
            self._partners[partner.selling_partner_id] = partner
        return partner

    def partner(self, partner: SellingPartner | str | None) -> SellingPartner:
        """The registered selling partner (the default one for ``None``); :class:`NotRegistered` otherwise."""
        if partner is None:
            return self.default
        partner_id = (
            partner.selling_partner_id if isinstance(partner, SellingPartner) else text(partner, "selling_partner_id")
        )
        found = self.find_partner(partner_id)
        if found is None:
            raise NotRegistered(
                f"no selling partner {partner_id!r} is registered", "add_selling_partner() registers one"
            )
        return found

    def find_partner(self, selling_partner_id: str) -> SellingPartner | None:
        with self._lock:
            self._made_default()
            return self._partners.get(selling_partner_id)

    def partners(self) -> list[SellingPartner]:
        """The registered selling partners, the default one first."""
        with self._lock:
            self._made_default()
            return list(self._partners.values())

    def add_app(self, app: SellingPartnerApp) -> SellingPartnerApp:
        with self._lock:
            if app.application_id in self._apps:
                raise ValueError(f"an application with id {app.application_id!r} is already registered")
            self._apps[app.application_id] = app
        return app

    def replace_app(self, app: SellingPartnerApp) -> None:
        """Put ``app`` in place of the registered application with its id."""
        with self._lock:
            self._apps[app.application_id] = app

    def find_app(self, application_id: str | None) -> SellingPartnerApp | None:
        with self._lock:
            return self._apps.get(application_id) if application_id is not None else None

    def apps(self) -> list[SellingPartnerApp]:
        """The registered applications, in registration order."""
        with self._lock:
            return list(self._apps.values())

    def start(self, workflow: Workflow, now: float) -> str:
        """A new ``amazon_state`` for ``workflow`` (workflows expired at ``now`` are forgotten)."""
        amazon_state = secrets.token_urlsafe(24)
        with self._lock:
            for stale in [s for s, kept in self._workflows.items() if kept.expires_at <= now]:
                del self._workflows[stale]
            self._workflows[amazon_state] = workflow
        return amazon_state

    def find_workflow(self, amazon_state: str) -> Workflow | None:
        """The workflow ``amazon_state`` names, live or expired, if it has not ended."""
        with self._lock:
            return self._workflows.get(amazon_state)

    def continue_workflow(self, amazon_state: str, application_id: str, now: float, *, end: bool) -> Workflow | None:
        """The live workflow of ``application_id`` that ``amazon_state`` names (``None``: no such one), ended
        in the same step when ``end``."""
        with self._lock:
            workflow = self._workflows.get(amazon_state)
            if workflow is None or workflow.expires_at <= now or workflow.application_id != application_id:
                return None
            if end:
                del self._workflows[amazon_state]
            return workflow


# --- rotation notifications -------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """One rotation notification: its body as Amazon sends it, the queue it was for (``None``: the application
    registered none), and what became of it: ``"sent"`` (``message_id`` is the queue's), ``"kept"`` (on the
    server only: the queue is not an SQS queue URL) or ``"failed: …"`` with the reason."""

    body: dict[str, Any]
    queue: str | None
    delivery: str
    message_id: str | None = None


class Notifications:
    """The rotation notifications of one authority, the expiry-notice points already passed, and when each
    application last rotated (for the rate limit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[Notification] = []
        self._passed: set[tuple[str, float, int]] = set()
        self._rotated: dict[str, float] = {}

    def add(self, notification: Notification) -> None:
        with self._lock:
            self._kept.append(notification)

    def all(self) -> list[Notification]:
        """Every notification, oldest first."""
        with self._lock:
            return list(self._kept)

    def pass_points(self, client_id: str, expires_at: float, days: tuple[int, ...]) -> bool:
        """Mark the notice points ``days`` before the secret of ``client_id`` that expires at ``expires_at`` as
        passed: whether any of them was not yet (one notice for all the points one move of the clock passed)."""
        keys = {(client_id, expires_at, day) for day in days}
        with self._lock:
            new = bool(keys - self._passed)
            self._passed |= keys
            return new

    def take_rotation(self, application_id: str, now: float, interval: float | None) -> float | None:
        """Record a rotation of ``application_id`` at ``now``, unless one was less than ``interval`` seconds
        before (``None``: no limit): ``None`` when recorded, else the seconds until one may be."""
        with self._lock:
            last = self._rotated.get(application_id)
            if interval is not None and last is not None and now - last < interval:
                return interval - (now - last)
            self._rotated[application_id] = now
            return None
