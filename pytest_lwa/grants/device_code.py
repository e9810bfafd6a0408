"""``POST /auth/o2/create/codepair`` and ``grant_type=device_code``: the device flow (docs/contract.md R8-R11).

A device asks for a code pair, shows the user code, and polls; the user approves or denies the code
elsewhere (:meth:`~pytest_lwa.authority.Authority.approve_device`). Polls may leave out ``client_id``: the
pair names its client, as Amazon's device SDK relies on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from .. import errors
from ..model import USER_SCOPES, not_granted, refused_scopes, scope_reason, unknown_client
from .base import Grant, user_tokens

if TYPE_CHECKING:
    from ..model import Client
    from ..port import Port

#: Device code pairs: lifetime and polling interval, in seconds of the server's clock.
DEVICE_CODE_LIFETIME: Final = 600
DEVICE_POLL_INTERVAL: Final = 30
VERIFICATION_URI: Final = "https://amazon.com/us/code"
_NO_PAIR: Final = "the device_code is unknown, used, expired (600 s of the server's clock) or from before a reset"


def create_code_pair(port: Port, params: Mapping[str, str]) -> dict[str, Any]:
    """Answer ``POST /auth/o2/create/codepair``."""
    if params.get("response_type") != "device_code":
        raise errors.UNSUPPORTED_RESPONSE_TYPE(
            reason=f"response_type is {params.get('response_type')!r}; the codepair endpoint takes 'device_code'"
        )
    for name in ("client_id", "scope"):
        if not params.get(name):
            raise errors.missing_parameter(name)
    client = port.find_client(params["client_id"])
    if client is None:
        raise errors.INVALID_CLIENT_ID_VALUE(reason=unknown_client(port.clients, params["client_id"]))  # R10
    if "device_code" not in client.grants:
        raise errors.UNAUTHORIZED_CLIENT(reason=not_granted(client, "device_code"))
    refused = refused_scopes(params["scope"], USER_SCOPES, client.scopes)
    if refused:
        raise errors.scope_not_permitted(refused[0], scope_reason(refused, client, user_scopes=True))  # R11
    now = port.clock.now()
    device_code, user_code = port.pairs.new(client.client_id, params["scope"], now, now + DEVICE_CODE_LIFETIME)
    return {
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": VERIFICATION_URI,
        "expires_in": DEVICE_CODE_LIFETIME,
        "interval": DEVICE_POLL_INTERVAL,
    }


class DeviceCode(Grant):
    required = ("device_code", "user_code")
    names_client = True

    def secret_required(self, port: Port, params: Mapping[str, str], client_id: str) -> bool:
        return False

    def implied_client(self, port: Port, params: Mapping[str, str]) -> str:
        """The client a device code pair was made for; ``invalid_code_pair`` for a pair it does not know."""
        client_id = port.pairs.client_of(params.get("device_code", ""))
        if client_id is None:
            raise errors.INVALID_CODE_PAIR(reason=_NO_PAIR)
        return client_id

    def answer(self, port: Port, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        now = port.clock.now()
        interval = DEVICE_POLL_INTERVAL if port.settings.enforce_poll_interval else None
        poll = port.pairs.poll(params["device_code"], client.client_id, params["user_code"], now, interval)
        pair = poll.pair
        if pair is None:
            raise errors.INVALID_CODE_PAIR(reason=_NO_PAIR)
        if pair.client_id != client.client_id:
            raise errors.INVALID_CODE_PAIR(reason=f"the code pair was made for client {pair.client_id!r}")
        if pair.user_code != params["user_code"]:
            raise errors.INVALID_CODE_PAIR(reason=f"user_code {params['user_code']!r} is not the pair's")
        if poll.too_soon:
            assert poll.previous is not None
            raise errors.SLOW_DOWN(
                reason=f"polled {now - poll.previous:g} s after the last poll, under the {DEVICE_POLL_INTERVAL} s"
                " interval (enforce_poll_interval is on)"
            )
        if not poll.ended:
            raise errors.AUTHORIZATION_PENDING(
                reason=f"the user has not approved user_code {pair.user_code} yet: approve_device() approves it"
            )
        if pair.user_id is None:  # denied (an approval always names its user)
            raise errors.ACCESS_DENIED(reason=f"the user denied user_code {pair.user_code}: deny_device()")
        refresh = port.mint_refresh(client.client_id, pair.scope, pair.user_id, public=True)
        return user_tokens(port, client.client_id, pair.scope, pair.user_id, refresh)
