"""Nothing a client sends can crash the server, make it answer HTML, or lose what it issued."""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_lwa import LwaServer
from pytest_lwa.cli import build_parser

APPSTORE = "appstore::apps:readwrite"


class Served:
    def __init__(self, server: LwaServer) -> None:
        self.server = server
        self.client = server.add_client(scopes=[APPSTORE])
        self.refresh = server.issue_refresh_token(self.client)
        self.token = self.grantless()

    def grantless(self) -> str:
        form = {
            "grant_type": "client_credentials",
            "scope": APPSTORE,
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
        }
        token: str = requests.post(self.server.token_url, data=form, timeout=5).json()["access_token"]
        return token

    def still_whole(self) -> None:
        """Everything issued before still works and the server still answers."""
        info = requests.get(self.server.tokeninfo_url, params={"access_token": self.token}, timeout=5)
        assert info.status_code == 200, info.text
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh,
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
        }
        assert requests.post(self.server.token_url, data=form, timeout=5).status_code == 200
        assert self.server.errors == []


@pytest.fixture(scope="module", params=[False, True], ids=["close", "keep-alive"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with LwaServer(log_size=100, keep_alive=request.param) as server:
        yield Served(server)


def exchange(port: int, data: bytes, *, vanish: bool = False) -> bytes:
    """Send ``data`` and read every answer until the server closes (it sees the end of the requests)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with contextlib.suppress(OSError):  # the server may answer and close before reading it all
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        if vanish:
            return b""
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def assert_json_answers(answers: bytes) -> None:
    """Each answer is JSON (a body the server could not frame is read as further requests, and answered)."""
    while answers:
        head, separator, rest = answers.partition(b"\r\n\r\n")
        assert separator, answers[:200]
        assert head.startswith(b"HTTP/1.1 "), head[:100]
        assert b"\r\nContent-Type: application/json" in head, head
        status = int(head[9:12])
        assert status != 500, answers
        length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head + b"\r\n")
        assert length, head
        bodiless = rest.startswith(b"HTTP/1.1 ") or not rest  # the answer to a HEAD request
        body, answers = (b"", rest) if bodiless else (rest[: int(length[1])], rest[int(length[1]) :])
        if body and status != 302:
            json.loads(body)


methods = st.sampled_from([b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS"]) | st.binary(min_size=1, max_size=8)
paths = st.sampled_from([b"/auth/o2/token", b"/AUTH/O2/TOKEN", b"/auth/o2/tokeninfo", b"/user/profile", b"/ap/oa"]) | (
    st.binary(max_size=40).map(lambda b: b"/" + b.replace(b" ", b"%20").replace(b"\r", b"").replace(b"\n", b""))
)
header_names = st.sampled_from([b"Content-Type", b"Authorization", b"Host", b"X-Amz-Access-Token", b"X-Custom"])
header_values = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")) | st.sampled_from(
    [b"application/x-www-form-urlencoded", b"application/json", b"Basic !!!", b"Bearer Atc|x", b"\xff\xfe"]
)


@dataclass(frozen=True)
class RawRequest:
    """A request described by small parts; ``data`` builds the bytes (some are 70 kB)."""

    request_line: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    huge_header: int
    body: bytes
    body_repeat: int
    framing: str

    @property
    def method(self) -> bytes:
        return self.request_line.split(b" ")[0]

    @property
    def vanish(self) -> bool:
        """The client promises more body than it sends, then goes away."""
        return self.framing == "longer"

    @property
    def data(self) -> bytes:
        body = self.body * self.body_repeat
        headers = list(self.headers)
        if self.huge_header:
            headers.append((b"X-Huge", b"h" * self.huge_header))
        if self.framing == "exact":
            headers.append((b"Content-Length", str(len(body)).encode()))
        elif self.framing == "longer":
            headers.append((b"Content-Length", str(len(body) + 50).encode()))
        elif self.framing == "bogus":
            headers.append((b"Content-Length", b"-3"))
        elif self.framing == "chunked":
            headers.append((b"Transfer-Encoding", b"chunked"))
            body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        elif self.framing == "bad-chunk":
            headers.append((b"Transfer-Encoding", b"chunked"))
            body = b"zz\r\n" + body
        return self.request_line + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + body


@st.composite
def raw_requests(draw: st.DrawFn) -> RawRequest:
    method, path = draw(methods), draw(paths)
    query = draw(st.sampled_from([b"", b"?access_token=%ff", b"?access_token=Atc%7Cx&access_token=y", b"?%"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/x"]))
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=6))
    headers += [(b"X-Repeat", b"a")] * draw(st.sampled_from([0, 0, 5, 150]))
    body, repeat = draw(
        st.tuples(st.binary(max_size=300), st.just(1))
        | st.tuples(st.sampled_from([b"grant_type=client_credentials&scope=%ff", b"{", b"a=1&a=2"]), st.just(1))
        | st.tuples(st.sampled_from([b"[", b"x"]), st.sampled_from([3000, 70_000]))
    )
    return RawRequest(
        request_line=b" ".join((method, path + query, version)),
        headers=tuple(headers),
        huge_header=draw(st.sampled_from([0, 0, 100, 70_000])),
        body=body,
        body_repeat=repeat,
        framing=draw(st.sampled_from(["exact", "exact", "longer", "bogus", "chunked", "bad-chunk", "none"])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=raw_requests())
def test_raw_socket_fuzzing(served: Served, request: RawRequest) -> None:
    answer = exchange(served.server.port, request.data, vanish=request.vanish)
    if answer:
        assert_json_answers(answer)
    served.still_whole()


def test_chunked_body_over_the_limit(served: Served) -> None:
    body = b"a" * 70_000
    data = (
        b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    )
    answer = exchange(served.server.port, data)
    assert answer.startswith(b"HTTP/1.1 413")
    assert answer.endswith(b'{"error_description":"The request body is too large","error":"invalid_request"}')
    served.still_whole()


def test_a_stalled_client_does_not_stop_others(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.server.port)) as stalled:
        stalled.sendall(b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        served.still_whole()
        served.grantless()


def test_many_threads_issue_refresh_and_revoke_at_once(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(scopes=[APPSTORE])
    credentials = {"client_id": client.client_id, "client_secret": client.client_secret}
    refresh_tokens = [lwa_server.issue_refresh_token(client) for _ in range(40)]
    doomed = set(random.Random(7).sample(refresh_tokens, 20))
    results: dict[str, list[int]] = {token: [] for token in refresh_tokens}
    access: list[str] = []
    lock = threading.Lock()

    def work(token: str) -> None:
        with requests.Session() as session:
            if token in doomed:
                lwa_server.revoke(token)
            for _ in range(5):
                form = {"grant_type": "refresh_token", "refresh_token": token, **credentials}
                r = session.post(lwa_server.token_url, data=form, timeout=10)
                with lock:
                    results[token].append(r.status_code)
                    if r.status_code == 200:
                        access.append(r.json()["access_token"])
                grant = {"grant_type": "client_credentials", "scope": APPSTORE, **credentials}
                r = session.post(lwa_server.token_url, data=grant, timeout=10)
                with lock:
                    access.append(r.json()["access_token"])

    threads = [threading.Thread(target=work, args=(token,)) for token in refresh_tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(results[t] == ([400] * 5 if t in doomed else [200] * 5) for t in refresh_tokens), results
    assert len(access) == len(set(access)) == 20 * 5 + 40 * 5
    for token in access:
        lwa_server.verify(token)
    assert len(lwa_server.request_log) == 400
    assert lwa_server.errors == []


def test_secrets_never_show(lwa_server: LwaServer, capsys: pytest.CaptureFixture[str]) -> None:
    client = lwa_server.add_client(scopes=[APPSTORE])
    rotated = lwa_server.rotate_secret(client)
    form = {"grant_type": "client_credentials", "scope": APPSTORE, "client_id": client.client_id}
    requests.post(lwa_server.token_url, data={**form, "client_secret": client.client_secret}, timeout=5)
    requests.post(lwa_server.token_url, data={"grant_type": "client_credentials", "scope": APPSTORE},
                  auth=(client.client_id, rotated.client_secret), timeout=5)  # fmt: skip
    shown = [repr(client), repr(rotated), repr(lwa_server), repr(lwa_server.clients)]
    shown += [repr(r) for r in lwa_server.request_log] + [str(r) for r in lwa_server.request_log]
    try:
        lwa_server.assert_token_requests(count=5)
    except AssertionError as failure:
        shown.append(str(failure))
    for secret in (client.client_secret, rotated.client_secret):
        assert all(secret not in text for text in shown)
    assert "***" in shown[-1]


def test_loopback_by_default() -> None:
    assert LwaServer().host == "127.0.0.1"
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"


def test_urlencoded_everything_is_parsed_exactly(lwa_server: LwaServer) -> None:
    """Percent-encoded reserved characters in credentials survive the trip."""
    client = lwa_server.add_client(client_id="id&with=odd+chars", client_secret="s%e/c?r#e&t=1", scopes=[APPSTORE])
    body = urlencode({"grant_type": "client_credentials", "scope": APPSTORE, "client_id": client.client_id,
                      "client_secret": client.client_secret})  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    r = requests.post(lwa_server.token_url, data=body, headers=headers, timeout=5)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("host", ["[abc", "a:b:c", "", "api.amazon.com:99999999"])
def test_any_host_header_is_answered_and_logged(served: Served, host: str, caplog: pytest.LogCaptureFixture) -> None:
    form = {"grant_type": "client_credentials", "scope": APPSTORE}
    with caplog.at_level("INFO", logger="pytest_lwa.access"):
        r = requests.post(served.server.token_url, data=form, headers={"Host": host}, timeout=5)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")  # no client_id: Amazon's answer
    assert served.server.errors == []
    # the access log line can be written (lines of an earlier test's requests may come in too)
    lines = [record.getMessage() for record in caplog.records if record.name == "pytest_lwa.access"]
    assert [line for line in lines if "/auth/o2/token grant_type=client_credentials" in line]


@pytest.mark.parametrize("proxy", [False, True], ids=["server", "proxy"])
def test_a_request_target_no_url_parser_takes_is_answered(proxy: bool) -> None:
    with (
        LwaServer(proxy=proxy) if proxy else LwaServer() as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(b"GET http://[abc/ HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b'\r\n\r\n{"error_description":"Malformed request","error":"invalid_request"}')
