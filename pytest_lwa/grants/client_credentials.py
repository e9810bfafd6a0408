"""``grant_type=client_credentials``: a "grantless" token for the client itself, limited to its scopes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import errors
from ..model import refused_scopes, scope_reason
from ..tokens import CLIENT_TOKEN
from .base import Grant

if TYPE_CHECKING:
    from ..model import Client
    from ..port import Port


class ClientCredentials(Grant):
    required = ("scope",)

    def answer(self, port: Port, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        scope = params["scope"]
        refused = refused_scopes(scope, client.scopes)
        if refused:
            raise errors.INVALID_SCOPE(reason=scope_reason(refused, client))
        token, expires_in = port.access_token(CLIENT_TOKEN, client.client_id, scope)
        return {"access_token": token, "scope": scope, "token_type": "bearer", "expires_in": expires_in}
