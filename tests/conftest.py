from __future__ import annotations

import functools
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import token_request as send_token_request
from hypothesis import HealthCheck, settings

from pytest_lwa import Client, LwaServer

pytest_plugins = ["pytester"]

# The run's own temporary directory: what the package makes there (TLS folders, ready files…) during the run, in
# this process, its xdist workers and the servers it starts, and nothing another process makes. pytest's own
# temporary folders stay where they were.
if "LWA_SUITE_TEMP" not in os.environ:
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
    os.environ["LWA_SUITE_TEMP"] = tempfile.mkdtemp(prefix="lwa-suite-")
    os.environ["TMPDIR"] = os.environ["LWA_SUITE_TEMP"]
    tempfile.tempdir = None  # read TMPDIR again
_RUN_TEMP = Path(os.environ["LWA_SUITE_TEMP"])

# Data generation is timed against the wall clock: on a machine whose cores are shared, hypothesis's too-slow
# health check fails a correct test. What the suite checks is behaviour, so that check is off for it.
settings.register_profile("suite", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

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

    Checked once, when the whole run ends (by the xdist controller, after every worker has stopped), in the run's
    own temporary directory, which then goes.
    """
    if hasattr(session.config, "workerinput"):
        return
    left = sorted(path.name for path in _RUN_TEMP.glob("pytest-lwa*"))
    shutil.rmtree(_RUN_TEMP, ignore_errors=True)
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


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium for the browser test modules, one per module (``tests/chromium.py``, imported only
    here, when a test asks for it: it needs selenium)."""
    from chromium import chromium

    with chromium(Path(tmp_path_factory.mktemp("chromium"))) as driver:
        yield driver
