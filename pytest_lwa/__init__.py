"""pytest-lwa: a faithful, offline Login With Amazon authorization server for tests.

The names below are imported on first use, so loading the pytest plugin costs a run that never asks
for its fixtures next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .authority import (
        CLIENT_CREDENTIALS_SCOPES,
        GRANT_TYPES,
        USER_SCOPES,
        Authority,
        Client,
        Settings,
        TokenRejected,
        User,
        pkce_challenge,
    )
    from .clock import ManualClock
    from .errors import LwaError
    from .faults import Fault
    from .grants.selling_partner import SellingPartner, SellingPartnerApp
    from .recording import RecordedRequest
    from .server import LwaServer
    from .stores import Consent
    from .tokens import TokenClaims

__all__ = [
    "CLIENT_CREDENTIALS_SCOPES",
    "GRANT_TYPES",
    "USER_SCOPES",
    "Authority",
    "Client",
    "Consent",
    "Fault",
    "LwaError",
    "LwaServer",
    "ManualClock",
    "RecordedRequest",
    "SellingPartner",
    "SellingPartnerApp",
    "Settings",
    "TokenClaims",
    "TokenRejected",
    "User",
    "pkce_challenge",
]

_HOMES = {
    "CLIENT_CREDENTIALS_SCOPES": "authority",
    "GRANT_TYPES": "authority",
    "User": "authority",
    "pkce_challenge": "authority",
    "USER_SCOPES": "authority",
    "Authority": "authority",
    "Client": "authority",
    "Settings": "authority",
    "ManualClock": "clock",
    "TokenRejected": "authority",
    "Fault": "faults",
    "SellingPartner": "grants.selling_partner",
    "SellingPartnerApp": "grants.selling_partner",
    "RecordedRequest": "recording",
    "TokenClaims": "tokens",
    "LwaError": "errors",
    "LwaServer": "server",
    "Consent": "stores",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pytest_lwa' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
