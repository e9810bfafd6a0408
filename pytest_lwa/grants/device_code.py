"""``POST /auth/o2/create/codepair`` and ``grant_type=device_code``: the device flow (LWA-CONTRACT R8-R11).

A device asks for a code pair, shows the user code, and polls; the user approves or denies the code
elsewhere (:meth:`~pytest_lwa.authority.Authority.approve_device`). Polls may leave out ``client_id``: the
pair names its client, as Amazon's device SDK relies on.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from .. import errors
from ..model import (
    USER_SCOPES,
    NotRegistered,
    User,
    not_granted,
    random_letters,
    refused_scopes,
    scope_reason,
    unknown_client,
)
from . import Grant

if TYPE_CHECKING:
    from ..authority import Authority
    from ..model import Client

#: Device code pairs: lifetime and polling interval, in seconds of the server's clock.
DEVICE_CODE_LIFETIME: Final = 600
DEVICE_POLL_INTERVAL: Final = 30
VERIFICATION_URI: Final = "https://amazon.com/us/code"
_NO_PAIR: Final = "the device_code is unknown, used, expired (600 s of the server's clock) or from before a reset"


@dataclass
class Pair:
    client_id: str
    user_code: str
    scope: str
    expires_at: float
    last_poll: float | None = None
    state: Literal["pending", "approved", "denied"] = "pending"
    user_id: str | None = None


class Pairs:
    """The live code pairs of one authority, by device code and by user code."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_device: dict[str, Pair] = {}
        self.by_user_code: dict[str, str] = {}  # user_code -> device_code

    def new(self, client_id: str, scope: str, now: float) -> tuple[str, str]:
        device_code = secrets.token_urlsafe(27)
        with self.lock:
            for stale in [d for d, pair in self.by_device.items() if pair.expires_at <= now]:
                del self.by_user_code[self.by_device.pop(stale).user_code]
            user_code = random_letters(6)
            while user_code in self.by_user_code:
                user_code = random_letters(6)
            self.by_device[device_code] = Pair(client_id, user_code, scope, now + DEVICE_CODE_LIFETIME)
            self.by_user_code[user_code] = device_code
        return device_code, user_code

    def decide(self, user_code: str, state: Literal["approved", "denied"], user: User | None, now: float) -> None:
        with self.lock:
            pair = self.by_device.get(self.by_user_code.get(user_code, ""))
            if pair is None or pair.expires_at <= now:
                raise NotRegistered(f"no live code pair with user_code {user_code!r}")
            pair.state, pair.user_id = state, user.user_id if user is not None else None


def create_code_pair(authority: Authority, params: Mapping[str, str]) -> dict[str, Any]:
    """Answer ``POST /auth/o2/create/codepair``."""
    if params.get("response_type") != "device_code":
        raise errors.UNSUPPORTED_RESPONSE_TYPE(
            reason=f"response_type is {params.get('response_type')!r}; the codepair endpoint takes 'device_code'"
        )
    for name in ("client_id", "scope"):
        if not params.get(name):
            raise errors.missing_parameter(name)
    client = authority.find_client(params["client_id"])
    if client is None:
        raise errors.INVALID_CLIENT_ID_VALUE(reason=unknown_client(authority.clients, params["client_id"]))  # R10
    if "device_code" not in client.grants:
        raise errors.UNAUTHORIZED_CLIENT(reason=not_granted(client, "device_code"))
    refused = refused_scopes(params["scope"], USER_SCOPES, client.scopes)
    if refused:
        raise errors.scope_not_permitted(refused[0], scope_reason(refused, client, user_scopes=True))  # R11
    device_code, user_code = authority.pairs.new(client.client_id, params["scope"], authority.clock.now())
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

    def secret_required(self, authority: Authority, params: Mapping[str, str], client_id: str) -> bool:
        return False

    def implied_client(self, authority: Authority, params: Mapping[str, str]) -> str:
        """The client a device code pair was made for; ``invalid_code_pair`` for a pair it does not know."""
        pair = authority.pairs.by_device.get(params.get("device_code", ""))
        if pair is None:
            raise errors.INVALID_CODE_PAIR(reason=_NO_PAIR)
        return pair.client_id

    def answer(self, authority: Authority, client: Client, params: Mapping[str, str]) -> dict[str, Any]:
        now = authority.clock.now()
        with authority.pairs.lock:
            pair = authority.pairs.by_device.get(params["device_code"])
            if pair is None or pair.expires_at <= now:
                raise errors.INVALID_CODE_PAIR(reason=_NO_PAIR)
            if pair.client_id != client.client_id:
                raise errors.INVALID_CODE_PAIR(reason=f"the code pair was made for client {pair.client_id!r}")
            if pair.user_code != params["user_code"]:
                raise errors.INVALID_CODE_PAIR(reason=f"user_code {params['user_code']!r} is not the pair's")
            last_poll, pair.last_poll = pair.last_poll, now
            too_soon = last_poll is not None and now - last_poll < DEVICE_POLL_INTERVAL
            if too_soon and authority.settings.enforce_poll_interval:
                assert last_poll is not None
                raise errors.SLOW_DOWN(
                    reason=f"polled {now - last_poll:g} s after the last poll, under the {DEVICE_POLL_INTERVAL} s"
                    " interval (enforce_poll_interval is on)"
                )
            if pair.state == "pending":
                raise errors.AUTHORIZATION_PENDING(
                    reason=f"the user has not approved user_code {pair.user_code} yet: approve_device() approves it"
                )
            del authority.pairs.by_device[params["device_code"]]
            del authority.pairs.by_user_code[pair.user_code]
        if pair.user_id is None:  # denied (an approval always names its user)
            raise errors.ACCESS_DENIED(reason=f"the user denied user_code {pair.user_code}: deny_device()")
        refresh = authority.mint_refresh(client.client_id, pair.scope, pair.user_id, public=True)
        return authority.user_tokens(client.client_id, pair.scope, pair.user_id, refresh)
