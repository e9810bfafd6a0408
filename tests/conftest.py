from __future__ import annotations

import ipaddress
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from pytest_lwa import Client, LwaServer

pytest_plugins = ["pytester"]

_STARTED = time.time()
_getaddrinfo = socket.getaddrinfo


def _loopback_names_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    """``socket.getaddrinfo`` for addresses and loopback names only: a test whose client would look up a
    real host (``api.amazon.com`` because an interception broke) fails at once, asking no resolver."""
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name != "localhost" and not name.endswith(".localhost"):
        try:
            ipaddress.ip_address(name.partition("%")[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, f"the test suite resolves no name but localhost: {name}") from None
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_names_only


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite leaves nothing of pytest-lwa's in the temporary directory (TLS folders, ready files…).

    Checked once, when the whole run ends (by the xdist controller, after every worker has stopped).
    """
    if hasattr(session.config, "workerinput"):
        return
    left = sorted(
        str(path) for path in Path(tempfile.gettempdir()).glob("pytest-lwa*") if path.stat().st_mtime >= _STARTED - 1
    )
    if left:
        print(f"\nthe test run left {len(left)} pytest-lwa entries in the temporary directory: {', '.join(left)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


APPSTORE = "appstore::apps:readwrite"
REPORTING = "adx_reporting::appstore:marketer"


@pytest.fixture
def client(lwa_server: LwaServer) -> Client:
    """A client registered for the two Appstore scopes of the seed document."""
    return lwa_server.add_client(scopes=[APPSTORE, REPORTING])


@pytest.fixture
def token_request(lwa_server: LwaServer, client: Client) -> Callable[..., requests.Response]:
    """POST a client-credentials request; keyword arguments override or (as None) drop form fields."""

    def post(**fields: Any) -> requests.Response:
        form = {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "scope": APPSTORE,
        }
        form.update(fields)
        return requests.post(lwa_server.token_url, data={k: v for k, v in form.items() if v is not None}, timeout=5)

    return post
