from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from helpers import token_request as send_token_request

from pytest_lwa import Client, LwaServer

pytest_plugins = ["pytester"]

_STARTED = time.time()


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
    """POST a client-credentials request of ``client`` (:func:`helpers.token_request`); keyword arguments
    override or (as None) drop form fields."""
    return functools.partial(send_token_request, lwa_server, client)
