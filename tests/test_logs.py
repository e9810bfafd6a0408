"""What the server writes to its logs: one line per event, never a forged one, never a token or a secret,
and no flood of lines when connections flood in."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator

import pytest
import requests
from test_bounds import UNAVAILABLE_BODY, answer_of, wait_until

from pytest_lwa import LwaServer, serving
from pytest_lwa.admin import record_json


@pytest.fixture
def full(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LwaServer, list[float]]]:
    """A server that serves one connection at most, that connection held, and the clock of its refusals."""
    now = [1000.0]
    monkeypatch.setattr(serving.Server, "clock", staticmethod(lambda: now[0]))
    with (
        LwaServer(max_connections=1, request_timeout=30) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as held,
    ):
        held.sendall(b"P")
        wait_until(lambda: server.busy == 1, "serving the held connection")
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
    refusal = "1 connections are open, the most allowed, none of them idle; refused 127.0.0.1 with 503"
    first = f"pytest-lwa: {refusal}"
    with caplog.at_level(logging.WARNING, logger="pytest_lwa"):
        refuse(server, 20)
        assert [r.getMessage() for r in caplog.records] == [first]  # the first at once, the next 19 counted
        now[0] += 0.999
        refuse(server, 1)
        assert len(caplog.records) == 1
        now[0] += 0.001  # a second after the first line: the loop writes the count, without a refusal
        wait_until(lambda: len(caplog.records) == 2, "the line counting the refusals")
        now[0] += 5
        refuse(server, 1)  # the first since the last line: logged at once
        wait_until(lambda: len(caplog.records) == 3, "the line of the next refusal")
        now[0] += 5
        refuse(server, 1)  # logged at once, no line of its own before
    assert [r.getMessage() for r in caplog.records] == [
        first,
        f"pytest-lwa: 20 more since the last line; the latest: {refusal}",
        first,
        first,
    ]
    assert [r.levelname for r in caplog.records] == ["WARNING"] * 4


def exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` on a new connection; the whole answer (the server closes the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[tuple[str, str]]]]:
    """The lines the server's loggers wrote so far, at every level: (logger, message)."""
    with caplog.at_level(logging.DEBUG, logger="pytest_lwa"):
        yield lambda: [(r.name, r.getMessage()) for r in caplog.records if r.name.startswith("pytest_lwa")]


def test_control_characters_are_escaped_in_every_line(
    lwa_server: LwaServer, logged: Callable[[], list[tuple[str, str]]]
) -> None:
    """CR and LF (percent-encoded: the request line holds them whole) in a path, a parameter's name and value,
    an escape sequence, C1's NEL and Unicode's line separator: shown escaped, never a new line."""
    path = b"/nowhere%0d%0a2026-01-01T00:00:00%20forged%1b[31m%c2%85%e2%80%a8%7f"
    query = b"/auth/o2/tokeninfo?a%0d%0aGET%20/forged=b%0d%0a&state=%0a"
    for target in (path, query):
        assert exchange(lwa_server.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 ")
    known = ", ".join(rule.rule for rule in lwa_server.app.routes.iter_rules())
    assert logged() == [
        ("pytest_lwa.access", r"GET /nowhere\x0d\x0a2026-01-01T00:00:00 forged\x1b[31m\x85\u2028\x7f -> 404"
         r" not_found: /nowhere\x0d\x0a2026-01-01T00:00:00 forged\x1b[31m\x85\u2028\x7f is none of the mock's paths"
         f" ({known})"),
        ("pytest_lwa", '127.0.0.1 "GET ' + path.decode() + ' HTTP/1.1" 404 -'),
        ("pytest_lwa.access", r"GET /auth/o2/tokeninfo a\x0d\x0aGET /forged=b\x0d\x0a state=\x0a -> 400"
         " invalid_request: no access_token query parameter and no x-amz-access-token header"),
        ("pytest_lwa", '127.0.0.1 "GET ' + query.decode() + ' HTTP/1.1" 400 -'),
    ]  # fmt: skip
    assert all(line.isprintable() for _, line in logged())


def test_any_message_of_the_servers_loggers_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="pytest_lwa"):
        logging.getLogger("pytest_lwa").warning("a %s b", "\r\nforged\x00\t\u202e")
        logging.getLogger("pytest_lwa.access").info("%s %d", "x\x9by", 1)
        logging.getLogger("pytest_lwa").info("no arguments\n")
    assert [r.getMessage() for r in caplog.records] == [
        r"a \x0d\x0aforged\x00\x09\u202e b",
        r"x\x9by 1",
        r"no arguments\x0a",
    ]


def test_secrets_are_redacted_by_their_decoded_name_at_every_level(
    lwa_server: LwaServer, logged: Callable[[], list[tuple[str, str]]]
) -> None:
    token = "Atza|abcdefghijklmnop"
    query = f"/auth/o2/tokeninfo?access%5Ftoken={token}&client%5Fsecret=s3cr3t&%63ode=c0de1234567890"
    body = b"grant_type=client_credentials&client_id=x&client%5Fsecret=s3cr3t&Client_Secret=s3cr3t&code%5Fverifier=v3r"
    exchange(lwa_server.port, f"GET {query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    exchange(
        lwa_server.port,
        b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body,
    )
    assert logged() == [
        ("pytest_lwa.access", "GET /auth/o2/tokeninfo access_token=Atza|abcdefg… client_secret=*** code=c0de12345678…"
         " -> 400 invalid_token: the token is invalid: not an access token this server issued (or issued before a"
         " reset)"),
        ("pytest_lwa", '127.0.0.1 "GET /auth/o2/tokeninfo?access%5Ftoken=***&client%5Fsecret=***&%63ode=*** HTTP/1.1"'
         " 400 -"),
        ("pytest_lwa.access", "POST /auth/o2/token grant_type=client_credentials client_id=x client_secret=***"
         " Client_Secret=*** code_verifier=*** auth=body -> 400 invalid_request: grant_type client_credentials needs"
         " scope; none was sent"),
        ("pytest_lwa", '127.0.0.1 "POST /auth/o2/token HTTP/1.1" 400 -'),
    ]  # fmt: skip


def test_the_admin_request_log_shows_tokens_as_the_log_lines_do(
    lwa_server: LwaServer, logged: Callable[[], list[tuple[str, str]]]
) -> None:
    """``GET /_lwa/requests`` (``record_json``) shows tokens and codes by their first 12 characters, in the
    parameters and in the answer; ``lwa_server.request_log``, in the test's own process, keeps them whole."""
    client = lwa_server.add_client()
    refresh = lwa_server.issue_refresh_token(client, token="Atzr|0123456789abcdefghij")
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client.client_id,
            "client_secret": client.client_secret}  # fmt: skip
    answer = requests.post(lwa_server.token_url, data=form, timeout=5).json()
    (record,) = lwa_server.request_log
    shown = json.loads(json.dumps(record_json(record)))  # as the admin API sends it
    assert shown["params"] == {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|0123456…",
        "client_id": client.client_id,
        "client_secret": "***",
    }
    assert shown["answer"] == {
        "access_token": answer["access_token"][:12] + "…",
        "refresh_token": "Atzr|0123456…",
        "token_type": "bearer",
        "expires_in": 3600,
    }
    text = json.dumps(record_json(record))
    assert refresh not in text
    assert answer["access_token"][12:] not in text
    assert client.client_secret not in text
    assert record.params["refresh_token"] == refresh  # the Python side: whole, as tests assert on them
    assert record.answer == answer
    (line,) = [line for name, line in logged() if name == "pytest_lwa.access"]
    assert line == (
        f"POST /auth/o2/token grant_type=refresh_token refresh_token=Atzr|0123456… client_id={client.client_id}"
        " client_secret=*** auth=body -> 200"
    )


def test_a_token_or_secret_in_the_path_stays_out_of_every_line(
    lwa_server: LwaServer, logged: Callable[[], list[tuple[str, str]]]
) -> None:
    client = lwa_server.add_client()
    token = "Atza|IwEBIwhole-token-that-must-not-be-logged"
    for path in (f"/{token}", f"/auth/o2/token/{client.client_secret}", f"/user/profile;access_token={token}"):
        requests.get(lwa_server.url + path, timeout=5)
    text = "\n".join(line for _, line in logged()) + json.dumps([record_json(r) for r in lwa_server.request_log])
    assert token not in text
    assert token[:12] + "…" in text  # shown as every token is: by its first 12 characters
    assert client.client_secret not in text
    assert lwa_server.request_log[0].path == f"/{token}"  # the Python side keeps what was sent
