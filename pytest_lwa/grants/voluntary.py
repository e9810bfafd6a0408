"""``scope_data`` and voluntary scopes (docs/contract.md N16): what the customer grants of what was asked.

``scope_data`` is a JSON object keyed by scope. A scope marked ``{"essential": false}`` is voluntary: the
consent page lets the customer untick it. Data Portability's ``portability::`` scopes are voluntary whatever
``scope_data`` says, and at least one of those asked for must stay ticked. Anything else in ``scope_data``
(AVS's ``alexa:all`` product attributes, say) is kept with the grant (:class:`~pytest_lwa.stores.Grant`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, Final

from .. import errors

#: the scope prefix of Data Portability, whose scopes are voluntary only
PORTABILITY: Final = "portability::"


def scope_data(params: Mapping[str, str]) -> dict[str, Any]:
    """The request's ``scope_data`` (``{}`` without one); ``invalid_request`` unless it is a JSON object."""
    given = params.get("scope_data", "")
    if not given:
        return {}
    try:
        data = json.loads(given)
    except ValueError:
        raise errors.MALFORMED_REQUEST(reason=f"scope_data {given!r} is not JSON") from None
    if not isinstance(data, dict):
        raise errors.MALFORMED_REQUEST(reason=f"scope_data must be a JSON object keyed by scope, got {given!r}")
    return data


def voluntary(scopes: Collection[str], data: Mapping[str, Any]) -> tuple[str, ...]:
    """Those of ``scopes`` the customer may untick: marked ``"essential": false``, and every Data Portability one."""

    def marked(scope: str) -> bool:
        entry = data.get(scope)
        return isinstance(entry, dict) and entry.get("essential") is False

    return tuple(scope for scope in scopes if scope.startswith(PORTABILITY) or marked(scope))


def granted(scopes: Collection[str], optional: Collection[str], kept: Collection[str] | None) -> tuple[str, ...]:
    """What the customer grants of ``scopes``: every essential one and the voluntary ones in ``kept`` (all if
    ``None``). ``access_denied`` (a reason for the page) if Data Portability scopes were asked and none is kept."""
    chosen = tuple(scope for scope in scopes if kept is None or scope not in optional or scope in kept)
    if any(s.startswith(PORTABILITY) for s in scopes) and not any(s.startswith(PORTABILITY) for s in chosen):
        raise errors.ACCESS_DENIED(reason="at least one Data Portability (portability::) scope must stay ticked")
    return chosen
