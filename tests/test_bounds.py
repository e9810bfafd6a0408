"""Every stage of a request has a time limit, and the server bounds what clients can hold at once."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import os
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from pytest_lwa import LwaServer, serving
from pytest_lwa.cli import build_parser

APPSTORE = "appstore::apps:readwrite"
TIMEOUT_BODY = b'{"error_description":"The request was not received in time","error":"invalid_request"}'
UNAVAILABLE_BODY = (
    b'{"error_description":"The authorization server is temporarily unavailable","error":"temporarily_unavailable"}'
)
#: connections held stalled at once in the test of many
STALLED = 1000
HEAD_ONLY = b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"


def answer_of(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read a whole answer (the server closes the connection after it)."""
    sock.settimeout(10)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 15) -> None:
    """Poll real time for something other threads do (no mock clock reaches socket timeouts)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.02)


def get_token(server: LwaServer) -> requests.Response:
    client = server.clients[0] if server.clients else server.add_client(scopes=[APPSTORE])
    form = {
        "grant_type": "client_credentials",
        "scope": APPSTORE,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    # Connection: close, so that the connection does not count among those served for the keep-alive wait
    return requests.post(server.token_url, data=form, headers={"Connection": "close"}, timeout=10)


@pytest.fixture(params=[False, True], ids=["close", "keep-alive"])
def keep_alive(request: pytest.FixtureRequest) -> bool:
    flag: bool = request.param
    return flag


@pytest.mark.parametrize(
    "sent",
    [b"P", b"POST /auth/o2/tok", b"POST /auth/o2/token HTTP/1.1\r\n", HEAD_ONLY],
    ids=["first-byte", "request-line", "line-only", "headers"],
)
def test_a_request_stalled_before_its_body_gets_408(keep_alive: bool, sent: bytes) -> None:
    with (
        LwaServer(keep_alive=keep_alive, request_timeout=0.3) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        sock.sendall(sent)
        status, headers, body = answer_of(sock)
    assert (status, body) == (408, TIMEOUT_BODY)
    assert headers["Connection"] == "close"
    assert headers["Content-Type"] == "application/json;charset=UTF-8"


def test_a_request_stalled_in_its_body_gets_408(keep_alive: bool) -> None:
    with (
        LwaServer(keep_alive=keep_alive, request_timeout=0.3) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        sock.sendall(HEAD_ONLY + b"Content-Length: 100\r\n\r\ngrant_type=client_cre")
        status, headers, body = answer_of(sock)
        assert (status, body) == (408, TIMEOUT_BODY)
        assert headers["Connection"] == "close"
        assert server.request_log[-1].status == 408


def test_a_client_trickling_bytes_still_runs_out_of_time() -> None:
    """The limit is for the whole request, not for each read: a byte every 50 ms never idles long."""
    with LwaServer(request_timeout=0.5) as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(0.05)
        for byte in HEAD_ONLY * 10:
            sock.sendall(bytes([byte]))
            with contextlib.suppress(TimeoutError):
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the server has answered
        status, _, body = answer_of(sock)
    assert (status, body) == (408, TIMEOUT_BODY)


def test_a_slow_but_timely_request_is_answered() -> None:
    with LwaServer(request_timeout=5) as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        client = server.add_client(scopes=[APPSTORE])
        form = f"grant_type=client_credentials&scope={APPSTORE}&client_id={client.client_id}"
        form += f"&client_secret={client.client_secret}"
        sock.sendall(HEAD_ONLY + f"Content-Length: {len(form)}\r\n".encode())
        sock.sendall(b"\r\n" + form[:20].encode())
        sock.sendall(form[20:].encode())
        status, _, body = answer_of(sock)
    assert status == 200, body
    assert json.loads(body)["access_token"].startswith("Atc|")


def test_a_stalled_tls_handshake_is_closed_within_the_limit() -> None:
    pytest.importorskip("trustme", reason="HTTPS needs the tls extra (trustme)")
    with (
        LwaServer(tls=True, request_timeout=0.3) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        sock.settimeout(10)
        assert sock.recv(100) == b""  # closed by the server, not by the 10 s of this test
        assert get_token_tls(server).status_code == 200


def test_hundreds_of_stalled_tls_handshakes_hold_no_one_up() -> None:
    pytest.importorskip("trustme", reason="HTTPS needs the tls extra (trustme)")
    with LwaServer(tls=True) as server, contextlib.ExitStack() as stack:
        for _ in range(300):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", server.port)))
            sock.sendall(b"\x16\x03\x01\x00")  # the start of a ClientHello, and no more
        wait_until(lambda: server.busy >= 300, "accepting the stalled handshakes")
        assert get_token_tls(server).status_code == 200
        assert server.busy >= 300


def get_token_tls(server: LwaServer) -> requests.Response:
    client = server.add_client(scopes=[APPSTORE])
    form = {"grant_type": "client_credentials", "scope": APPSTORE}
    return requests.post(
        server.token_url, data=form, auth=(client.client_id, client.client_secret), verify=server.ca_bundle, timeout=10
    )


def test_a_thousand_stalled_clients_hold_no_one_up_at_the_default_limits(keep_alive: bool) -> None:
    """Stalled connections wait in the server's loop, not in threads: a good client is answered beside a
    thousand of them, the threads stay at the workers' count, and each stalled one gets its 408."""
    idle_threads = threading.active_count()
    with (
        LwaServer(keep_alive=keep_alive, request_timeout=3) as server,
        contextlib.ExitStack() as stack,
    ):
        stalled = [stack.enter_context(socket.create_connection(("127.0.0.1", server.port))) for _ in range(STALLED)]
        for sock in stalled:
            sock.sendall(b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Ty")
        wait_until(lambda: server.busy >= STALLED, f"accepting the {STALLED} stalled connections")
        for _ in range(3):
            answered = get_token(server)
            assert answered.status_code == 200
        assert server.busy >= STALLED, "the stalled connections were released before the good ones were answered"
        assert threading.active_count() <= idle_threads + 1 + serving.WORKERS  # the loop and the workers
        for sock in stalled:
            status, _, body = answer_of(sock)
            assert (status, body) == (408, TIMEOUT_BODY)
        wait_until(lambda: server.busy == 0, "closing every stalled connection")


def test_over_the_connection_limit_answers_503_then_recovers(caplog: pytest.LogCaptureFixture) -> None:
    with LwaServer(max_connections=2, request_timeout=30) as server:
        held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
        try:
            for sock in held:
                sock.sendall(b"P")  # mid-request: not idle, so not closed to make room
            wait_until(lambda: server.busy == 2, "accepting the two held connections")
            with caplog.at_level(logging.WARNING, logger="pytest_lwa"):
                refused = get_token(server)
            assert refused.status_code == 503
            assert refused.content == UNAVAILABLE_BODY
            assert refused.headers["Retry-After"] == "1"
            assert refused.headers["Content-Type"] == "application/json;charset=UTF-8"
            assert "2 connections are open, the most allowed, none of them idle; refused 127.0.0.1 with 503" in (
                caplog.text
            )
        finally:
            for sock in held:
                sock.close()
        wait_until(lambda: server.busy == 0, "releasing the held connections")
        assert get_token(server).status_code == 200


def test_at_the_limit_the_longest_idle_connection_makes_room() -> None:
    """Connections waiting for a request are closed oldest first before anyone is refused."""
    with (
        LwaServer(keep_alive=True, max_connections=3, request_timeout=30) as server,
        socket.create_connection(("127.0.0.1", server.port)) as oldest,
        socket.create_connection(("127.0.0.1", server.port)) as younger,
        socket.create_connection(("127.0.0.1", server.port)) as busy,
    ):
        wait_until(lambda: server.busy == 3, "accepting three connections")
        busy.sendall(b"P")
        answered = get_token(server)  # the fourth
        assert answered.status_code == 200
        oldest.settimeout(10)
        assert oldest.recv(1) == b""  # closed to make room
        younger.sendall(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, _, _ = answer_of(younger)
        assert status == 400  # served: a tokeninfo request without a token


def test_requests_wait_for_a_worker_and_are_never_refused() -> None:
    with LwaServer(workers=1) as server:
        server.delay_next(0.5)  # holds the only worker
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: get_token(server), range(4)))
    assert [answer.status_code for answer in answers] == [200] * 4


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"request_timeout": 0}, "request_timeout must be a positive number of seconds, got 0"),
        ({"request_timeout": True}, "request_timeout must be a positive number of seconds, got True"),
        ({"max_connections": 0}, "max_connections must be a whole number >= 1, got 0"),
        ({"max_connections": 2.5}, "max_connections must be a whole number >= 1, got 2.5"),
        ({"workers": 0}, "workers must be a whole number >= 1, got 0"),
    ],
)
def test_limits_are_checked(keywords: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LwaServer(**keywords)  # type: ignore[arg-type]


def test_serve_takes_the_limits(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["serve", "--request-timeout", "2.5", "--max-connections", "12"])
    assert (args.request_timeout, args.max_connections) == (2.5, 12)
    defaults = build_parser().parse_args(["serve"])
    assert (defaults.request_timeout, defaults.max_connections, defaults.workers) == (10.0, None, 8)
    assert build_parser().parse_args(["serve", "--workers", "3"]).workers == 3
    bad_values = (
        ["--request-timeout", "0"],
        ["--request-timeout", "soon"],
        ["--max-connections", "0"],
        ["--workers", "0"],
    )
    for bad in bad_values:
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", *bad])
    assert "must be a positive number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize(("soft", "expected"), [(1024, 1024 - 64), (20_000, 10_000), (resource.RLIM_INFINITY, 10_000)])
def test_the_default_connection_limit_stays_below_the_open_file_limit(
    monkeypatch: pytest.MonkeyPatch, soft: int, expected: int
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _: (soft, resource.RLIM_INFINITY))
    assert serving.default_max_connections() == expected
    with LwaServer() as server:
        assert server._server is not None
        assert server._server.max_connections == expected


@contextlib.contextmanager
def out_of_files(client: socket.socket) -> Iterator[None]:
    """No file descriptor free in this process (``client``, made before, can still connect: that takes none)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[int] = []
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (client.fileno() + 32, hard))
        with contextlib.suppress(OSError):
            while True:
                held.append(os.dup(client.fileno()))
        yield
    finally:
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_out_of_file_descriptors_the_server_accepts_again_once_some_are_free(caplog: pytest.LogCaptureFixture) -> None:
    with LwaServer() as server, caplog.at_level(logging.WARNING, "pytest_lwa"):
        client = socket.socket()
        with out_of_files(client):
            client.settimeout(10)
            client.connect(("127.0.0.1", server.port))  # the kernel completes it; the server cannot accept
            wait_until(lambda: "cannot accept a connection" in caplog.text, "a failed accept")
        with client:
            # accepted within OUT_OF_FILES_PAUSE, not whenever some other connection's timer goes off
            client.sendall(b"GET /auth/o2/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status, _, _ = answer_of(client)
        assert status == 405


def test_a_server_paused_out_of_file_descriptors_stops_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    server = LwaServer()
    server.start()
    with socket.socket() as client, caplog.at_level(logging.WARNING, "pytest_lwa"), out_of_files(client):
        client.connect(("127.0.0.1", server.port))
        wait_until(lambda: "cannot accept a connection" in caplog.text, "a failed accept")
        assert server.stop()  # (the loop's thread ends without an exception: -W error would report one)
