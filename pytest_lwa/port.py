"""What a grant or flow sees of the authorization server: the :class:`Port`.

The grants (:mod:`pytest_lwa.grants`) are handed a port and nothing else: the settings and the clock, the
stores of :mod:`pytest_lwa.stores`, the registered clients and the consent, and the minting and reading of
tokens. :class:`~pytest_lwa.authority.Authority` is one; a grant never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .clock import Clock
from .model import Client, Settings, User
from .stores import Codes, Consent, Pairs, Revocations, SellerCentral
from .tokens import TokenClaims

__all__ = ["Port"]


class Port(Protocol):
    """The authorization server as the grants see it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def codes(self) -> Codes: ...

    @property
    def pairs(self) -> Pairs: ...

    @property
    def revocations(self) -> Revocations: ...

    @property
    def seller_central(self) -> SellerCentral: ...

    @property
    def clients(self) -> Sequence[Client]:
        """The registered clients, in registration order."""
        ...

    @property
    def consent(self) -> tuple[User, bool]:
        """Who answers ``/ap/oa``'s consent, and whether they agree."""
        ...

    @property
    def consent_scopes(self) -> frozenset[str] | None:
        """The voluntary scopes automatic consent leaves ticked (``None``: all)."""
        ...

    @property
    def consents(self) -> list[Consent]:
        """The consents given at ``/ap/oa``, oldest first."""
        ...

    def find_client(self, client_id: str) -> Client | None: ...

    def claims(self, token: str) -> TokenClaims | None:
        """The claims of an unrevoked token this server issued."""
        ...

    def access_token(self, prefix: str, client_id: str, scope: str, user_id: str | None = None) -> tuple[str, int]:
        """A new access token and its lifetime in seconds."""
        ...

    def mint_refresh(self, client_id: str, scope: str, user_id: str, *, public: bool) -> str:
        """A new refresh token; ``public`` for a client that holds no secret."""
        ...
