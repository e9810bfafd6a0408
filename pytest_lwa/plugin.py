"""The pytest plugin: the ``lwa_server`` fixture and its settings.

Only pytest is imported here; the server is imported when a test first asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .server import LwaServer


@pytest.fixture(scope="session")
def lwa_server_listen_address() -> tuple[str, int]:
    """Host and port of the session's server (default: loopback, a free port). Override to change."""
    return ("127.0.0.1", 0)


@pytest.fixture(scope="session")
def lwa_session_server(lwa_server_listen_address: tuple[str, int]) -> Iterator[LwaServer]:
    """The one server of this test session (of this xdist worker); tests use ``lwa_server``."""
    from .server import LwaServer

    host, port = lwa_server_listen_address
    with LwaServer(host, port) as server:
        yield server


@pytest.fixture
def lwa_server(lwa_session_server: LwaServer) -> Iterator[LwaServer]:
    """A fake Login With Amazon server, empty and with default settings for this test."""
    lwa_session_server.reset()
    yield lwa_session_server
    lwa_session_server.reset()
