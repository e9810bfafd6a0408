"""A client that trickles bytes after its request has been read is let go in bounded time: it cannot hold a
connection slot (and its thread) by sending one byte now and then."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from pytest_lwa import LwaServer
from pytest_lwa.serving import LINGER_SECONDS


@pytest.fixture
def server() -> Iterator[LwaServer]:
    with LwaServer(keep_alive=True, request_timeout=1) as server:
        yield server


def trickle(sock: socket.socket, limit: float = 10.0) -> float:
    """Send a byte every 0.2 s until the server has closed the connection (a send fails: a half-close, which
    a closing server does first, still takes bytes); the seconds that took."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            sock.send(b"a")
        except OSError:
            break
        time.sleep(0.2)  # the client's own pace: the server's clock is not what is measured
    return time.monotonic() - started


def test_a_body_left_unread_must_arrive_within_the_request_timeout(server: LwaServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        # tokeninfo by GET reads no body: the server reads it on, to serve the next request on the connection
        sock.sendall(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n")
        # the request timeout, the answer, then the closing connection read on (bounded), and a margin
        assert trickle(sock) < 1 + LINGER_SECONDS + 1.5
    assert server.wait_idle(5)


def test_a_closing_connection_is_read_on_for_a_bounded_time(server: LwaServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost x\r\n\r\n")  # a 400, then the connection closes
        assert sock.recv(12) == b"HTTP/1.1 400"
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        assert trickle(sock) < LINGER_SECONDS + 1.5
    assert server.wait_idle(5)
