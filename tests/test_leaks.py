"""Rejected and broken requests leave nothing behind: memory stays flat however many a server answers."""

from __future__ import annotations

import gc
import http.client
import json
import tracemalloc
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from pytest_lwa import LwaError, LwaServer
from pytest_lwa.errors import catalogue
from pytest_lwa.faults import CATALOGUE

APPSTORE = "appstore::apps:readwrite"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def server() -> Iterator[LwaServer]:
    with LwaServer(keep_alive=True, log_size=10) as server:
        yield server


def rejected_requests(server: LwaServer) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """One request for every way the mock can reject one (method, path, body, headers)."""
    client = server.add_client(scopes=[APPSTORE])
    good = {"client_id": client.client_id, "client_secret": client.client_secret}

    def token(fields: dict[str, str], headers: dict[str, str] = FORM) -> tuple[str, str, bytes, dict[str, str]]:
        return "POST", "/auth/o2/token", urlencode(fields).encode(), headers

    return [
        token({**good, "grant_type": "client_credentials", "scope": APPSTORE, "client_secret": "wrong"}),
        token({"grant_type": "client_credentials", "scope": APPSTORE, "client_id": "unknown", "client_secret": "x"}),
        token({**good, "grant_type": "client_credentials", "scope": "appstore:apps:readwrite"}),
        token({**good, "grant_type": "client_credentials"}),
        token(good),
        token({**good, "grant_type": "password"}),
        token({**good, "grant_type": "refresh_token", "refresh_token": "Atzr|unknown"}),
        token({**good, "grant_type": "authorization_code", "code": "unknown"}),
        token({"grant_type": "device_code", "device_code": "unknown", "user_code": "ABCDEF"}),
        token({**good, "grant_type": "client_credentials", "scope": APPSTORE}, {"Content-Type": "text/plain"}),
        ("POST", "/auth/o2/token", b"grant_type=a&grant_type=b", FORM),
        ("POST", "/auth/o2/token", b"{not json", {"Content-Type": "application/json"}),
        ("POST", "/auth/o2/token", b"x" * 70_000, FORM),
        ("POST", "/auth/o2/create/codepair", b"response_type=device_code&client_id=nobody&scope=profile", FORM),
        ("GET", "/auth/o2/tokeninfo?access_token=Atza%7Cunknown", b"", {}),
        ("GET", "/user/profile", b"", {"Authorization": "Bearer Atza|unknown"}),
        ("GET", "/ap/oa?client_id=nobody&response_type=code&scope=profile", b"", {}),
        ("GET", "/auth/o2/token", b"", {}),
        ("GET", "/nowhere", b"", {}),
    ]


def send_all(server: LwaServer, requests: list[tuple[str, str, bytes, dict[str, str]]], rounds: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(rounds):
            for code in CATALOGUE:  # every error a fault can answer with
                server.fail_next(code)
                connection.request("POST", "/auth/o2/token", b"", FORM)
                answer = connection.getresponse()
                answer.read()
                assert answer.status == CATALOGUE[code].status
            for method, path, body, headers in requests:
                connection.request(method, path, body, headers)
                answer = connection.getresponse()
                assert answer.status >= 400
                assert "error" in json.loads(answer.read())
                if answer.getheader("Connection") == "close":
                    connection.close()
    finally:
        connection.close()


def test_rejected_requests_leave_no_memory_behind(server: LwaServer) -> None:
    """Each raise of a catalogue error is a new exception: one raised again would keep the frames of
    every request that raised it before (their secrets too), and memory would grow with every rejection."""
    requests = rejected_requests(server)
    send_all(server, requests, rounds=3)  # warm up: caches, worker threads, the request log at its bound
    assert server.wait_idle(10)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        send_all(server, requests, rounds=40)  # 40 x 33 = 1,320 rejected requests
        # a connection closed after its answer is read on until the client closes it too: on a busy machine
        # those reads (64 KiB buffers each) can still be under way; what is measured is what stays after
        assert server.wait_idle(10)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"{grown / 1024:.0f} KiB still held after 1,320 rejected requests"
    assert server.errors == []


def test_catalogue_errors_are_raised_new_every_time() -> None:
    kinds = [type(error) for error in catalogue() if type(error) is not LwaError]
    assert len(kinds) > 20
    for kind in kinds:
        with pytest.raises(kind) as first:
            raise kind
        with pytest.raises(kind) as second:
            raise kind
        assert first.value is not second.value
        assert first.value == second.value == kind()
