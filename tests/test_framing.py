"""One answer per request, or a 400 and close: a request whose line or headers cannot be framed exactly is
never answered as something else, and nothing after it is read as a request (request smuggling)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import MALFORMED, missing, wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_lwa import LwaServer

FORM = b"Content-Type: application/x-www-form-urlencoded"


def exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send ``data``, then read every answer until the server closes (it sees the end of the requests)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before reading it all
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def answers(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """The answers in ``data``, one after the other: status, head, body (framed by Content-Length)."""
    found = []
    while data:
        head, separator, rest = data.partition(b"\r\n\r\n")
        assert separator, data[:200]
        assert head.startswith(b"HTTP/1.1 "), data[:200]
        length = re.search(rb"\r\nContent-Length: (\d+)(?:\r\n|$)", head)
        assert length, head
        size = int(length[1])
        found.append((int(head[9:12]), head, rest[:size]))
        data = rest[size:]
    return found


def refused(data: bytes, status: int = 400) -> None:
    """``data`` is one answer: a JSON 400 (or ``status``) that closes its connection."""
    ((code, head, body),) = answers(data)
    assert code == status, head
    assert b"\r\nConnection: close\r\n" in head + b"\r\n"
    assert b"\r\nContent-Type: application/json;charset=UTF-8\r\n" in head + b"\r\n"
    assert body == MALFORMED


# --- smuggling into the admin API of a real `pytest-lwa serve` ------------------------------------


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ready = tmp_path_factory.mktemp("serve") / "ready.json"
    command = [sys.executable, "-m", "pytest_lwa", "serve", "--port", "0", "--ready-file", str(ready),
               "--log-level", "error", "--client", "ci-app:ci-secret:appstore::apps:readwrite"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield wait_for(Path(ready), proc)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def clients(serve: dict[str, Any]) -> list[str]:
    listed = requests.get(serve["url"] + "/_lwa/clients", timeout=5).json()["clients"]
    return [client["client_id"] for client in listed]


def smuggled(client_id: str) -> bytes:
    """A whole admin request that registers a client, as a body would carry it."""
    body = json.dumps({"client_id": client_id}).encode()
    return (
        b"POST /_lwa/clients HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


#: header lines Python's parser does not take, and after which it loses every other header
BAD_LINES = {
    "no-colon": b"Foo",
    "space-before-colon": b"X-Forwarded : yes",
    "bare-cr-in-value": b"X-Note: a\rb",
    "byte-outside-token-in-name": b"X-N\x01te: a",
    "nul-in-value": b"X-Note: a\x00b",
    "empty-name": b": a",
    "non-ascii-name": b"X-N\xe9te: a",
}


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("bad", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_a_bad_header_line_is_400_and_its_body_never_runs(serve: dict[str, Any], bad: bytes, framing: str) -> None:
    client_id = f"smuggled-{framing}-{hash(bad) & 0xFFFF}"
    body = smuggled(client_id)
    if framing == "chunked":
        framed = b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    else:
        framed = b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    request = b"POST /auth/o2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n" + FORM + b"\r\n" + bad + b"\r\n" + framed
    refused(exchange(serve["port"], request))
    assert client_id not in clients(serve)


def test_a_bad_content_length_line_is_400_and_its_body_never_runs(serve: dict[str, Any]) -> None:
    body = smuggled("smuggled-by-length")
    request = b"POST /auth/o2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length : %d\r\n\r\n%s" % (len(body), body)
    refused(exchange(serve["port"], request))
    assert "smuggled-by-length" not in clients(serve)


def test_a_folded_header_is_400_and_its_body_never_runs(serve: dict[str, Any]) -> None:
    """A fold joined into the line before would hide the Content-Length after it from this server, and not
    from a front end that refuses folds: one more disagreement on where the request ends."""
    body = smuggled("smuggled-by-fold")
    request = (
        b"POST /auth/o2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: one\r\n Content-Length: %d\r\n" % len(body)
        + FORM
        + b"\r\n\r\n"
        + body
    )
    refused(exchange(serve["port"], request))
    assert "smuggled-by-fold" not in clients(serve)


def test_http_1_0_with_transfer_encoding_is_400_and_closes(serve: dict[str, Any]) -> None:
    """RFC 9112 6.1: a Transfer-Encoding in an HTTP/1.0 request is faulty framing."""
    body = smuggled("smuggled-by-1.0")
    request = b"POST /auth/o2/token HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n0\r\n\r\n"
    refused(exchange(serve["port"], request + body))
    assert "smuggled-by-1.0" not in clients(serve)


# --- the same rules, in-process ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LwaServer]:
    with LwaServer(keep_alive=True, request_timeout=60) as server:  # a wait for more would fail the test
        yield server


GOOD = b"GET /auth/o2/tokeninfo?access_token=one HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", id="two-hosts"),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\n\r\n", id="no-host"),
        pytest.param(b"GeT /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\n\r\n", id="mixed-case-method"),
        pytest.param(b"G{T /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\n\r\n", id="non-token-method"),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n\r\n", id="nul"),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n", id="bare-cr"),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n", id="empty-name"),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nX(y): a\r\n\r\n", id="non-token-name"),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n", id="control-in-value"),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nX-Note: a\x1bb\r\n\r\n", id="escape-in-value"),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n\tb\r\n\r\n", id="obs-fold"),
        # these would wait the whole request timeout for a body or a line end that never comes
        pytest.param(
            b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
            id="two-content-lengths",
        ),
        pytest.param(
            b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            id="length-and-chunked",
        ),
        pytest.param(b"GET /auth/o2/tokeninfo HTTP/1.1\rHost: x\r\r", id="cr-line-ends"),
    ],
)
def test_malformed_requests_are_400_at_once(server: LwaServer, request_bytes: bytes) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:  # no SHUT_WR: no hint
        sock.sendall(request_bytes)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    refused(answer)
    assert server.request_log == []


def test_empty_lines_before_a_request_line_are_skipped(server: LwaServer) -> None:
    server.reset()
    ((status, _, body),) = answers(exchange(server.port, b"\r\n\r\n" + GOOD))
    assert (status, json.loads(body)["error"]) == (400, "invalid_token")
    assert [r.path for r in server.request_log] == ["/auth/o2/tokeninfo"]


def test_a_malformed_request_in_a_pipeline_ends_it(server: LwaServer) -> None:
    server.reset()
    bad = b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nFoo\r\n\r\n"
    data = exchange(server.port, GOOD + bad + GOOD.replace(b"one", b"three"))
    (first, _second) = answers(data)
    assert first[0] == 400
    assert b"Connection: close" not in first[1]
    refused(data[data.index(b"HTTP/1.1 ", 1) :])
    assert [r.params for r in server.request_log] == [{"access_token": "one"}]


def test_a_chunked_body_is_read_to_its_end_and_the_connection_serves_the_next(server: LwaServer) -> None:
    server.reset()
    form = b"grant_type=client_credentials&scope=x"
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (form[:10], form[10:])) + b"0\r\n\r\n"
    first = b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\n" + FORM + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
    (one, two) = answers(exchange(server.port, first + GOOD))
    assert (one[0], one[2]) == (400, missing("client_id"))
    assert two[0] == 400
    assert [r.params.get("grant_type") for r in server.request_log] == ["client_credentials", None]


def test_a_broken_chunk_is_the_apps_400_and_closes(server: LwaServer) -> None:
    server.reset()
    first = b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\n" + FORM + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
    ((status, head, body),) = answers(exchange(server.port, first + GOOD))
    assert (status, body) == (400, MALFORMED)
    assert b"Connection: close" in head


def test_a_chunk_no_server_could_read_is_400_at_once(server: LwaServer) -> None:
    server.reset()
    head = b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\n" + FORM + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:  # no SHUT_WR: no hint
        sock.sendall(head + b"%x\r\n" % 2**80)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    refused(answer)  # the token endpoint's answer: the body it read is broken
    (record,) = server.request_log
    assert record.reason == "the body ended before its Content-Length, or its chunked encoding is broken"


def test_an_unsupported_http_version_is_505(server: LwaServer) -> None:
    refused(exchange(server.port, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505)


def test_a_head_over_64_kib_is_431(server: LwaServer) -> None:
    refused(exchange(server.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"), 431)


def test_http_1_0_without_host_is_served(server: LwaServer) -> None:
    ((status, head, _),) = answers(exchange(server.port, b"GET /auth/o2/tokeninfo HTTP/1.0\r\n\r\n"))
    assert status == 400
    assert b"Connection: close" in head


def test_expect_100_continue_is_answered_before_the_body(server: LwaServer) -> None:
    head = (
        b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\n" + FORM + b"\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"a=b&c")
        assert sock.recv(12) == b"HTTP/1.1 400"


# --- a grammar of bad bytes ------------------------------------------------------------------------

TOKEN = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
BAD_BYTES = b'\x00\x01\x7f\x80\xff \t\r()<>@,;:\\"/[]?={}'  # (no LF: a line is one line)
name_bytes = st.sampled_from(list(TOKEN)) | st.sampled_from(list(BAD_BYTES))
names = st.lists(name_bytes, max_size=12).map(bytes)
values = st.lists(st.sampled_from(list(b"ab\t \x00\x01\x7f\x80\xff\r:")), max_size=12).map(bytes)
separators = st.sampled_from([b": ", b":", b" : ", b" :", b"", b"\t:"])
header_lines = st.tuples(names, separators, values).map(b"".join).filter(bool)  # (an empty one ends the head)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(header_lines, min_size=1, max_size=4),
    before=st.booleans(),
    framing=st.sampled_from(["content-length", "chunked"]),
)
def test_any_header_block_gets_one_answer_and_runs_one_request(
    server: LwaServer, lines: list[bytes], before: bool, framing: str
) -> None:
    server.reset()
    inner = b"GET /auth/o2/tokeninfo?access_token=smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    if framing == "chunked":
        framed = b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
    else:
        framed = b"Content-Length: %d\r\n\r\n%s" % (len(inner), inner)
    block = b"".join(line + b"\r\n" for line in lines)
    head = b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\n" + FORM + b"\r\n"
    data = head + block + framed if before else head + framed.replace(b"\r\n\r\n", b"\r\n" + block + b"\r\n", 1)
    found = answers(exchange(server.port, data))
    assert len(found) == 1, found
    assert [r.path for r in server.request_log if r.path != "/auth/o2/token"] == []
