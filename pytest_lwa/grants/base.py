"""What every grant and response type is: :class:`Grant` (a ``grant_type`` of ``POST /auth/o2/token``) and
:class:`ResponseType` (a ``response_type`` of ``GET /ap/oa``), both working through a
:class:`~pytest_lwa.port.Port`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..model import add_query
from ..tokens import USER_TOKEN

if TYPE_CHECKING:
    from ..model import Client, User
    from ..port import Port


class Grant:
    """One ``grant_type`` of the token endpoint."""

    #: parameters that must be present and non-empty, in the order they are checked
    required: ClassVar[tuple[str, ...]] = ()
    #: whether the grant's parameters name the client, so a request may leave ``client_id`` out
    names_client: ClassVar[bool] = False

    def secret_required(self, port: Port, params: Mapping[str, str], client_id: str) -> bool:
        """Whether the client must send its secret (a secret that is sent must be right regardless)."""
        return True

    def implied_client(self, port: Port, params: Mapping[str, str]) -> str:
        """The client the parameters name (only asked when :attr:`names_client`)."""
        raise NotImplementedError

    def answer(self, port: Port, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        """The success body, or raise the grant's :class:`~pytest_lwa.errors.LwaError`."""
        raise NotImplementedError


class ResponseType:
    """One ``response_type`` of ``GET /ap/oa``: its own checks of the request, and what the redirect carries
    once the user consents. The client, the redirect URI, ``state`` and the consent are the shared front's
    (:mod:`pytest_lwa.grants.authorize_endpoint`)."""

    def check(self, client: Client, params: Mapping[str, str]) -> None:
        """Raise the :class:`~pytest_lwa.errors.LwaError` a request of this type gets (sent to the redirect URI)."""

    def respond(self, port: Port, client: Client, params: Mapping[str, str], user: User) -> dict[str, str]:
        """What the redirect carries after ``user`` consented (``state`` is added to it)."""
        raise NotImplementedError

    def redirect(self, target: str, answer: Mapping[str, str]) -> str:
        """The redirect to ``target`` carrying ``answer`` (an error's too): in its query."""
        return add_query(target, answer)


def user_tokens(port: Port, client_id: str, scope: str, user_id: str, refresh_token: str | None) -> dict[str, Any]:
    """The success body of a grant that acts for a user (without ``refresh_token`` when there is none, N3)."""
    access, expires_in = port.access_token(USER_TOKEN, client_id, scope, user_id)
    if refresh_token is None:
        return {"access_token": access, "token_type": "bearer", "expires_in": expires_in}
    return {"access_token": access, "refresh_token": refresh_token, "token_type": "bearer", "expires_in": expires_in}
