"""What the server writes to its logs: one line per event, never a forged one, never a token or a secret,
and no flood of lines when connections flood in."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from test_bounds import UNAVAILABLE_BODY, answer_of, wait_until

from pytest_lwa import LwaServer


@pytest.fixture
def full() -> Iterator[tuple[LwaServer, list[float]]]:
    """A server that serves one connection at most, that connection held, and the clock of its refusals."""
    now = [1000.0]
    with LwaServer(max_connections=1, request_timeout=30) as server:
        assert server._server is not None
        server._server.clock = lambda: now[0]
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as held:
            held.sendall(b"P")
            workers = server._server.workers
            wait_until(lambda: workers.busy == 1, "serving the held connection")
            yield server, now


def refuse(server: LwaServer, times: int) -> None:
    for _ in range(times):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, body = answer_of(sock)
            assert (status, body) == (503, UNAVAILABLE_BODY)


def test_refused_connections_are_counted_in_a_line_a_second(
    full: tuple[LwaServer, list[float]], caplog: pytest.LogCaptureFixture
) -> None:
    server, now = full
    first = "pytest-lwa: 1 connections are being served, the most allowed; refused 127.0.0.1 with 503"
    with caplog.at_level(logging.WARNING, logger="pytest_lwa"):
        refuse(server, 20)
        assert [r.getMessage() for r in caplog.records] == [first]  # the first at once, the next 19 counted
        now[0] += 0.999
        refuse(server, 1)
        assert len(caplog.records) == 1
        now[0] += 0.001  # a second after the first line: the accept loop writes the count, without a refusal
        wait_until(lambda: len(caplog.records) == 2, "the line counting the refusals")
        now[0] += 5
        refuse(server, 1)  # the first since the last line: logged at once
        wait_until(lambda: len(caplog.records) == 3, "the line of the next refusal")
        now[0] += 5
        refuse(server, 1)  # logged at once, no line of its own before
    assert [r.getMessage() for r in caplog.records] == [
        first,
        "pytest-lwa: 1 connections are being served, the most allowed; refused 20 with 503 since the last line,"
        " the latest from 127.0.0.1",
        first,
        first,
    ]
    assert [r.levelname for r in caplog.records] == ["WARNING"] * 4
