"""Connections kept open between requests (``LwaServer(keep_alive=True)``, as ``pytest-lwa serve`` runs)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

import pytest_lwa.handler
from pytest_lwa import Client, LwaServer

APPSTORE = "appstore::apps:readwrite"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NOT_FOUND = b'{"error_description":"The requested URL was not found on the server","error":"not_found"}'


@pytest.fixture
def server() -> Iterator[LwaServer]:
    with LwaServer(keep_alive=True) as server:
        yield server


@pytest.fixture
def client(server: LwaServer) -> Client:
    return server.add_client(scopes=[APPSTORE])


def token_form(client: Client) -> str:
    return urlencode(
        {
            "grant_type": "client_credentials",
            "scope": APPSTORE,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        }
    )


def post(connection: http.client.HTTPConnection, path: str, body: str) -> tuple[int, bytes]:
    connection.request("POST", path, body, FORM)
    response = connection.getresponse()
    return response.status, response.read()


def receive_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_one_connection_serves_many_requests(server: LwaServer, client: Client) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    tokens, sockets = [], []
    for _ in range(3):
        connection.request("POST", "/auth/o2/token", token_form(client), FORM)
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert (response.status, response.will_close, response.getheader("Connection")) == (200, False, None)
        tokens.append(answer["access_token"])
        sockets.append(connection.sock)
    connection.close()
    assert sockets[0] is sockets[1] is sockets[2]
    assert len(set(tokens)) == 3
    assert all(server.verify(token).client_id == client.client_id for token in tokens)
    assert len(server.token_requests(status=200)) == 3


def test_a_body_the_answer_did_not_need_is_read_before_the_next_request(server: LwaServer, client: Client) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    assert post(connection, "/no/such/route", "x" * 5000) == (404, NOT_FOUND)
    first = connection.sock
    status, answer = post(connection, "/auth/o2/token", token_form(client))
    assert (status, connection.sock) == (200, first), answer
    assert [record.status for record in server.request_log] == [404, 200]
    connection.close()


def test_pipelined_requests_are_answered_in_order(server: LwaServer, client: Client) -> None:
    body = token_form(client).encode()
    token = b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    token += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    closing = b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(token + token + closing)
        answers = receive_all(sock)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answers)
    assert statuses == [b"200", b"200", b"404"]
    assert answers.endswith(NOT_FOUND)
    assert answers.count(b"Connection: close") == 1


@pytest.mark.parametrize(
    ("request_head", "status", "closes"),
    [
        (b"HTTP/1.1\r\nConnection: close", 405, True),
        (b"HTTP/1.0", 405, True),
        (b"HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5", 405, False),
        (b"HTTP/1.1\r\nTransfer-Encoding: chunked", 405, False),  # framed exactly, so read to its end
        (b"HTTP/1.1\r\nContent-Length: 1048577", 405, True),  # more than it is worth reading: answered at once
        (b"HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6", 400, True),  # where does it end?
        (b"HTTP/1.1\r\nContent-Length: +5", 400, True),
        (b"HTTP/1.1\r\nContent-Length: 5", 405, False),
    ],
)
def test_which_requests_close_the_connection(server: LwaServer, request_head: bytes, status: int, closes: bool) -> None:
    body = b"5\r\nhello\r\n0\r\n\r\n" if b"chunked" in request_head else b"hello"
    data = b"POST /auth/o2/tokeninfo " + request_head + b"\r\nHost: x\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(data)
        first = read_answer(sock, "POST")
        assert first.status == status
        if closes:
            assert first.getheader("Connection") == "close"
            assert sock.recv(1) == b""  # the server closed
        else:
            assert first.getheader("Connection") == ("keep-alive" if request_head.startswith(b"HTTP/1.0") else None)
            sock.sendall(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection answers again
            assert read_answer(sock, "GET").status == 400


def read_answer(sock: socket.socket, method: str) -> http.client.HTTPResponse:
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    response.read()
    return response


def test_an_idle_connection_is_closed(server: LwaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_lwa.serving, "KEEP_ALIVE_SECONDS", 0.1)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        assert receive_all(sock).endswith(NOT_FOUND)  # answered, then closed once idle


def test_stop_closes_kept_connections_and_finishes_open_answers(server: LwaServer, client: Client) -> None:
    idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    assert post(idle, "/auth/o2/token", token_form(client))[0] == 200
    arrived = threading.Event()
    server.delay_next(0.3, when=lambda request: not arrived.set())
    busy = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    busy.request("POST", "/auth/o2/token", token_form(client), FORM)
    assert arrived.wait(5)
    assert server.stop(drain=5)  # the delayed request is answered within the drain
    answer = busy.getresponse()
    assert (answer.status, answer.getheader("Connection")) == (200, "close")
    assert idle.sock is not None
    idle.sock.settimeout(1)  # well before the server would close it for being idle
    assert idle.sock.recv(1) == b""  # the kept connection was shut by the stop
    idle.close()
    busy.close()


def test_an_app_that_fails_gets_a_json_500(server: LwaServer) -> None:
    def failing(environ: object, start_response: object) -> list[bytes]:
        raise RuntimeError("the wrapped app failed")

    server.stop()
    server.wsgi_app = failing
    server.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/anything")
    response = connection.getresponse()
    assert (response.status, response.getheader("Content-Type")) == (500, "application/json;charset=UTF-8")
    assert response.read() == b"{}"  # Amazon's answer to a fault of its own (docs/contract.md R23)
    connection.close()


def test_off_by_default(lwa_server: LwaServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", lwa_server.port, timeout=5)
    connection.request("GET", "/nowhere")
    response = connection.getresponse()
    assert (response.status, response.getheader("Connection"), response.read()) == (404, "close", NOT_FOUND)
    connection.close()
