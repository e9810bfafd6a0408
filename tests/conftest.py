from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from helpers import token_request as send_token_request

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
