"""Who reaches the admin API, and what it takes: over real sockets, as a browser or a DNS-rebinding page would
send it (tests/test_cli.py runs the whole `serve` process; tests/test_admin.py the answers)."""

from __future__ import annotations

import json
import math
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from pytest_lwa import LwaServer
from pytest_lwa.admin import MAX_ADMIN_BODY, AdminApp

TOKEN = "s3cret"
UNAUTHORIZED = {"error": "unauthorized", "message": "send the admin token as 'Authorization: Bearer <token>'"}
Start = Callable[..., LwaServer]

LATIN_ONLY = "headers: the value of X-A must be a string of Latin-1 characters without control characters"
NO_SPACES = "must be a non-empty string without spaces or control characters"


@pytest.fixture
def start() -> Iterator[Start]:
    """Start a server that serves the admin API as `pytest-lwa serve` does (with ``token``, if given)."""
    servers: list[LwaServer] = []

    def start(token: str | None = None, request_timeout: float = 10.0) -> LwaServer:
        server = LwaServer(keep_alive=True, request_timeout=request_timeout)
        server.add_client("ci", "ci-secret-that-must-not-leak")
        server.wsgi_app = AdminApp(server.app, server, token=token, enabled=True, on_reset=server.reset)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def admin(server: LwaServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{server.url}/_lwa/{path}", timeout=5, **kwargs)


def state(server: LwaServer) -> tuple[object, ...]:
    """What an admin request could change."""
    return (
        [c.client_id for c in server.clients],
        [u.user_id for u in server.users],
        server.settings,
        [f.describe() for f in server.pending_faults],
        len(server.request_log),
    )


# --- DNS rebinding: the Host a request was addressed to ----------------------------------------


def foreign_host(host: str) -> dict[str, str]:
    message = (
        "without an admin token the admin API answers only requests addressed to localhost, 127.x.y.z, [::1] or the"
        f" bound address (Host: {host!r})"
    )
    return {"error": "foreign_host", "message": message}


@pytest.mark.parametrize(
    "host",
    ["attacker.example:8080", "attacker.example", "127.0.0.1.attacker.example", "localhost.attacker.example:80",
     "10.0.0.1:8080", "0.0.0.0", "[::2]:8080", "[::1]x", "::1", "localhost:80:80", "localhost:http", ""],
)  # fmt: skip
def test_a_foreign_host_is_refused_without_a_token(start: Start, host: str) -> None:
    server = start()
    before = state(server)
    for method, path, body in [("GET", "clients", None), ("POST", "clients", {"client_id": "planted"}),
                               ("POST", "reset", None), ("GET", "nope", None)]:  # fmt: skip
        r = admin(server, method, path, json=body, headers={"Host": host})
        assert (r.status_code, r.json()) == (403, foreign_host(host))
        assert "ci-secret" not in r.text
    assert state(server) == before


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.1:{port}", "127.1.2.3:80", "[::1]", "[::1]:8080"]
)
def test_loopback_names_are_served_without_a_token(start: Start, host: str) -> None:
    server = start()
    r = admin(server, "GET", "clients", headers={"Host": host.format(port=server.port)})
    assert r.status_code == 200
    assert r.json()["clients"][0]["client_secret"] == "ci-secret-that-must-not-leak"


def test_with_the_token_any_host_is_served(start: Start) -> None:
    server = start(TOKEN)
    r = admin(server, "GET", "clients", headers={"Host": "ci-runner.internal:8080", "Authorization": "Bearer s3cret"})
    assert r.status_code == 200
    r = admin(server, "GET", "clients", headers={"Host": "ci-runner.internal:8080"})
    assert (r.status_code, r.json()) == (401, UNAUTHORIZED)


# --- web pages: Origin and Sec-Fetch-Site ----------------------------------------------------------


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize(
    "origin",
    ["http://attacker.example", "null", "http://localhost:3000", "https://127.0.0.1:{port}",
     "http://127.0.0.1:{port}.attacker.example", "http://127.0.0.1", "file://", "http://127.0.0.1:{port}/", ""],
)  # fmt: skip
def test_a_web_page_of_another_origin_is_refused(start: Start, token: str | None, origin: str) -> None:
    server = start(token)
    origin = origin.format(port=server.port)
    headers = {"Origin": origin, "Authorization": f"Bearer {token}"}
    before = state(server)
    for method, path, body in [("GET", "clients", None), ("POST", "clients", {"client_id": "planted"}),
                               ("POST", "reset", None), ("POST", "faults", {"error": "server_error"})]:  # fmt: skip
        r = admin(server, method, path, json=body, headers=headers)
        message = f"the admin API does not answer web pages of other origins (Origin: {origin!r})"
        assert (r.status_code, r.json()) == (403, {"error": "foreign_origin", "message": message})
        assert "ci-secret" not in r.text
    assert state(server) == before


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site", "whatever"])
def test_a_cross_site_fetch_is_refused(start: Start, site: str) -> None:
    server = start()
    r = admin(server, "POST", "clients", json={"client_id": "planted"}, headers={"Sec-Fetch-Site": site})
    message = f"the admin API does not answer web pages of other sites (Sec-Fetch-Site: {site!r})"
    assert (r.status_code, r.json()) == (403, {"error": "foreign_origin", "message": message})
    assert [c.client_id for c in server.clients] == ["ci"]


def test_the_servers_own_pages_and_the_address_bar_are_served(start: Start) -> None:
    server = start()
    own = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    assert admin(server, "POST", "clients", json={"client_id": "own"}, headers=own).status_code == 201
    named = {"Host": f"localhost:{server.port}", "Origin": f"http://LOCALHOST:{server.port}"}
    assert admin(server, "GET", "clients", headers=named).status_code == 200
    assert admin(server, "GET", "clients", headers={"Sec-Fetch-Site": "none"}).status_code == 200


# --- bodies: JSON only, and bounded ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [("text/plain", "'text/plain'"), ("text/plain;charset=UTF-8", "'text/plain;charset=UTF-8'"),
     ("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded'"),
     ("multipart/form-data; boundary=x", "'multipart/form-data; boundary=x'"), (None, None)],
)  # fmt: skip
def test_a_body_that_is_not_json_is_415(start: Start, content_type: str | None, shown: str | None) -> None:
    """The cross-site "simple" POST a browser sends without asking first (text/plain, a form)."""
    server = start()
    before = state(server)
    for path, body in [("clients", {"client_id": "planted"}), ("faults", {"error": "server_error"}),
                       ("reset", {}), ("settings", {"expires_in": 5})]:  # fmt: skip
        headers = {} if content_type is None else {"Content-Type": content_type}
        r = admin(server, "POST", path, data=json.dumps(body).encode(), headers=headers)
        given = f"(not {shown})" if shown is not None else "(none was sent)"
        message = f"admin request bodies are JSON: send 'Content-Type: application/json' {given}"
        assert (r.status_code, r.json()) == (415, {"error": "unsupported_media_type", "message": message})
    assert state(server) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_page_s_empty_form_post_changes_nothing_either(start: Start, content_type: str) -> None:
    """A form with no fields posts an empty body: refused by its Content-Type like a full one."""
    server = start()
    before = state(server)
    for path in ("clients", "reset", "consent", "users"):
        r = admin(server, "POST", path, data=b"", headers={"Content-Type": content_type})
        assert (r.status_code, r.json()["error"]) == (415, "unsupported_media_type")
    assert state(server) == before


def test_json_with_parameters_and_posts_without_a_body_are_taken(start: Start) -> None:
    server = start()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    r = admin(server, "POST", "clients", data=b'{"client_id": "typed"}', headers=headers)
    assert r.status_code == 201
    assert admin(server, "POST", "reset").json() == {"status": "ok"}  # no body, no Content-Type


TOO_LARGE = {"error": "too_large", "message": f"admin request bodies are limited to {MAX_ADMIN_BODY} bytes"}


def answer(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of the one answer on ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:])
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), json.loads(body)


def test_a_chunked_body_over_the_bound_is_413_before_the_rest_is_sent(start: Start) -> None:
    """The server reads a chunked body up to the bound and answers: it never waits for (or holds) the rest."""
    server = start(request_timeout=30)  # longer than this test waits: only an answer ends the wait
    head = b"POST /_lwa/clients HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(MAX_ADMIN_BODY // len(chunk) + 1):  # one chunk past the bound, of the 300 MiB announced
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        assert answer(sock) == (413, TOO_LARGE)
    assert [c.client_id for c in server.clients] == ["ci"]


def test_a_content_length_over_the_bound_is_413_before_the_body_is_sent(start: Start) -> None:
    server = start(request_timeout=30)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /_lwa/clients HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (300 * 1024 * 1024)
        )
        assert answer(sock) == (413, TOO_LARGE)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_of_exactly_the_bound_is_taken(start: Start, chunked: bool) -> None:
    server = start()
    body = b'{"client_id": "big"}'
    body += b" " * (MAX_ADMIN_BODY - len(body))
    data: Any = iter([body[: len(body) // 2], body[len(body) // 2 :]]) if chunked else body
    r = admin(server, "POST", "clients", data=data, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    over = body + b" "
    data = iter([over[: len(over) // 2], over[len(over) // 2 :]]) if chunked else over
    r = admin(server, "POST", "clients", data=data, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (413, TOO_LARGE)


# --- the health check, open to all, says nothing more ---------------------------------------------


@pytest.mark.parametrize("token", [None, TOKEN])
def test_the_health_check_leaks_nothing(start: Start, token: str | None) -> None:
    server = start(token)
    for headers in ({}, {"Host": "attacker.example"}, {"Origin": "http://attacker.example"}):
        r = admin(server, "GET", "health", headers=headers)
        assert r.json() == {"status": "ok", "url": server.url}
        assert not [name for name in r.headers if name.lower().startswith(("access-control-", "set-cookie"))]
    # no answer of the admin API lets a web page of another origin read it
    r = admin(server, "GET", "clients", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert not [name for name in r.headers if name.lower().startswith("access-control-")]


# --- the admin token: only as a bearer token, never empty -------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    ["Basic s3cret", "Token s3cret", "Bearer wrong", "Bearer s3cret-and-more", "Bearer", "Bearer ", "s3cret",
     "Basic czNjcmV0", "Bearers3cret", "Bearer S3CRET", None],
)  # fmt: skip
def test_the_token_is_taken_only_as_a_bearer_token(start: Start, authorization: str | None) -> None:
    server = start(TOKEN)
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [("GET", "clients"), ("POST", "reset"), ("GET", "nope")]:
        r = admin(server, method, path, headers=headers)
        assert (r.status_code, r.json()) == (401, UNAUTHORIZED)
    assert admin(server, "GET", "clients", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert admin(server, "GET", "clients", headers={"Authorization": "bearer s3cret"}).status_code == 200


@pytest.mark.parametrize(
    ("token", "message"),
    [("", "the admin token is empty: give a non-empty token (is the variable that should hold it set?)"),
     ("  ", "the admin token is empty: give a non-empty token (is the variable that should hold it set?)"),
     ("two words", "the admin token must be printable ASCII characters without spaces"),
     ("s3cret\n", "the admin token must be printable ASCII characters without spaces"),
     ("s3crét", "the admin token must be printable ASCII characters without spaces")],
)  # fmt: skip
def test_an_empty_token_is_refused(token: str, message: str) -> None:
    server = LwaServer()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        AdminApp(server.app, server, token=token, enabled=True, on_reset=server.reset)


# --- values: every field in range, or a 400 naming it and the state unchanged -----------------------

CLOCK_RANGE = "epoch seconds from 0 (1970-01-01T00:00:00Z) to 32503680000 (3000-01-01T00:00:00Z)"
DELAY_RANGE = "delay must be a non-negative number of seconds, at most 600"
HUGE = "1" + "0" * 400
APP = '"login_uri": "https://a.example/l", "redirect_uris": []'
NTH = "nth must be a whole number >= 1 and <= 1000000 (1 is the next matching request)"
ERROR_STATUS = "status must be a whole number >= 400 and <= 599 (an error's status)"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("clock/set", '{"now": 1e400}', f"now: set() takes {CLOCK_RANGE}, got inf"),
        ("clock/set", '{"now": -1}', f"now: set() takes {CLOCK_RANGE}, got -1"),
        ("clock/set", '{"now": 32503680001}', f"now: set() takes {CLOCK_RANGE}, got 32503680001"),
        ("clock/set", f'{{"now": {HUGE}}}', f"now: set() takes {CLOCK_RANGE}, got 100000000000000000...000"),
        ("clock/set", '{"now": "2030"}', "now: set() takes a datetime or epoch seconds, not str"),
        ("clock/set", '{"now": true}', "now: set() takes a datetime or epoch seconds, not bool"),
        ("clock/set", '{"now": null}', "now: set() takes a datetime or epoch seconds, not NoneType"),
        ("clock/set", '{"now": NaN}', "the body is not valid JSON"),
        ("clock/set", '{"now": Infinity}', "the body is not valid JSON"),
        ("clock/advance", '{"seconds": 1e400}', "seconds: advance() takes at most"),
        ("clock/advance", f'{{"seconds": {HUGE}}}', "seconds: advance() takes at most"),
        ("clock/advance", '{"seconds": "5"}', "seconds: advance() takes a number of seconds or a timedelta, not str"),
        ("clock/advance", '{"seconds": -1e400}', "seconds: advance() takes a non-negative number of seconds, got -inf"),
        ("faults", '{"kind": "delay", "seconds": 1e9}', f"{DELAY_RANGE}, got 1000000000.0"),
        ("faults", '{"kind": "delay", "seconds": 601}', f"{DELAY_RANGE}, got 601"),
        ("faults", '{"kind": "delay", "seconds": -1}', f"{DELAY_RANGE}, got -1"),
        ("faults", '{"kind": "delay", "seconds": "5"}', f"{DELAY_RANGE}, got '5'"),
        ("faults", '{"kind": "delay", "seconds": true}', f"{DELAY_RANGE}, got True"),
        ("faults", '{"times": 0}', "times must be a whole number >= 1 and <= 1000000, got 0"),
        ("faults", '{"times": 1000001}', "times must be a whole number >= 1 and <= 1000000, got 1000001"),
        ("faults", '{"times": 1.5}', "times must be a whole number >= 1 and <= 1000000, got 1.5"),
        ("faults", '{"times": true}', "times must be a whole number >= 1 and <= 1000000, got True"),
        ("faults", '{"nth": -1}', f"{NTH}, got -1"),
        ("faults", '{"nth": "2"}', f"{NTH}, got '2'"),
        ("faults", '{"path": "auth/o2/token"}', "path must start with '/' (or be None for every path), got 'auth/o2"),
        ("faults", '{"path": 5}', "path must start with '/' (or be None for every path), got 5"),
        ("faults", '{"grant_type": 5}', "grant_type must be a string, got 5"),
        ("faults", '{"client_id": ["ci"]}', "client_id must be a string, got ['ci']"),
        ("faults", '{"error": 5}', "error must be an LWA error code (a string such as 'server_error'), got 5"),
        ("faults", '{"status": 200}', f"{ERROR_STATUS}, got 200"),
        ("faults", '{"status": "500"}', f"{ERROR_STATUS}, got '500'"),
        ("faults", '{"description": 5}', "description must be a string, got int"),
        ("faults", '{"headers": {"X-A": "1\\r\\nSet-Cookie: a=b"}}',
         f"{LATIN_ONLY}, got '1\\r\\nSet-Cookie: a=b'"),
        ("faults", '{"headers": {"Bad Name": "x"}}',
         "headers: 'Bad Name' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"),
        ("faults", '{"headers": {"X-A": 5}}', LATIN_ONLY),
        ("faults", '{"headers": "X-A: 1"}', "headers must be a mapping of header names to values, got str"),
        ("faults", '{"kind": "raw", "status": 99}', "status must be a whole number >= 200 and <= 599, got 99"),
        ("faults", '{"kind": "raw", "status": 600}', "status must be a whole number >= 200 and <= 599, got 600"),
        ("faults", '{"kind": "raw", "status": 1e400}', "status must be a whole number >= 200 and <= 599, got inf"),
        ("faults", '{"kind": "raw", "status": 502, "body": 5}', "body must be text or bytes, got int"),
        ("faults", '{"kind": "raw", "status": 502, "body": ["x"]}', "body must be text or bytes, got list"),
        ("faults", '{"kind": "throttle", "retry_after": -1}',
         "retry_after must be a whole number >= 0 and <= 2147483647 (seconds), got -1"),
        ("faults", '{"kind": "throttle", "retry_after": 2147483648}',
         "retry_after must be a whole number >= 0 and <= 2147483647 (seconds), got 2147483648"),
        ("faults", '{"kind": "throttle", "retry_after": "soon"}',
         "retry_after must be a whole number >= 0 and <= 2147483647 (seconds), got 'soon'"),
        ("faults", '{"kind": ["error"]}', "unknown fault kind ['error']; kinds are: error, throttle, raw, delay, drop"),
        ("settings", '{"expires_in": 2147483648}',
         "expires_in must be a whole number of seconds from 1 to 2147483647, got 2147483648"),
        ("settings", f'{{"expires_in": {HUGE}}}', "expires_in must be a whole number of seconds from 1 to"),
        ("settings", '{"expires_in": 0}', "expires_in must be a whole number of seconds >= 1, got 0"),
        ("settings", '{"expires_in": "60"}', "expires_in must be a whole number of seconds >= 1, got '60'"),
        ("settings", '{"expires_in": 1e400}', "expires_in must be a whole number of seconds >= 1, got inf"),
        ("settings", '{"json_body": "yes"}', "json_body must be True or False, got 'yes'"),
        ("settings", '{"body_style": 5}', "body_style must be one of classic, modern, got 5"),
        ("clients", '{"client_id": 5}', f"client_id {NO_SPACES}, got 5"),
        ("clients", '{"scopes": {"profile": true}}', "scopes must be a list of strings, not dict"),
        ("clients", '{"redirect_uris": 5}', "redirect_uris must be a list of strings, not int"),
        ("clients", '{"name": ""}', "name must be a non-empty string of printable characters, got ''"),
        ("clients", '{"description": 5}', "description must be a string, got 5"),
        ("clients", '{"privacy_notice_url": "/privacy"}',
         "privacy_notice_url must be an absolute http or https URL, got '/privacy'"),
        ("clients", '{"logo_url": "javascript:alert(1)"}',
         "logo_url must be an absolute http or https URL, got 'javascript:alert(1)'"),
        ("clients", '{"allowed_origins": ["https://a.example/path"]}',
         "each of allowed_origins must be an origin, scheme://host[:port] with no path, got 'https://a.example/path'"),
        ("clients", '{"allowed_origins": "https://a.example"}', "allowed_origins must be a list of strings, e.g."),
        ("users", '{"name": 5}', "name must be a string, got 5"),
        ("users", '{"email": ["a@example.com"]}', "email must be a string, got ['a@example.com']"),
        ("users", '{"postal_code": 98109}', "postal_code must be a string, got 98109"),
        ("consent", '{"granted": "no"}', "granted must be true or false, got 'no'"),
        ("consent", '{"user_id": ["amzn1.account.X"]}', "user_id must be a string, got ['amzn1.account.X']"),
        ("consent", '{"grant_scopes": "profile"}', "grant_scopes must be a list of strings, e.g. ['profile']"),
        ("consent", '{"grant_scopes": [5]}', "each of grant_scopes must be a non-empty string without spaces, got 5"),
        ("refresh-tokens", '{"client_id": ["ci"]}', "client_id must be a string, got ['ci']"),
        ("refresh-tokens", '{"client_id": "ci", "scopes": {"a": 1}}', "scopes must be a list of strings, not dict"),
        ("refresh-tokens", '{"client_id": "ci", "token": 5}', "a chosen refresh token must start with 'Atzr|'"),
        ("authorization-codes", '{"client_id": "ci", "redirect_uri": 5}', "redirect_uri must be a string, got 5"),
        ("authorization-codes", '{"client_id": "ci", "code_challenge": true}', "code_challenge must be a string"),
        ("devices/approve", '{"user_code": 5}', "user_code must be a string, got 5"),
        ("devices/deny", '{"user_code": ["X"]}', "user_code must be a string, got ['X']"),
        ("revoke", '{"token": 5}', "token must be a string, got 5"),
        ("sp-applications", f'{{{APP}, "published": "no"}}', "published must be true or false, got 'no'"),
        ("sp-applications", f'{{{APP}, "name": 5}}', "name must be a string, got 5"),
        ("sp-applications", f'{{{APP}, "application_id": ["x"]}}',
         "application_id must be a non-empty string without spaces or control characters, got ['x']"),
        ("selling-partners", '{"name": 5}', "name must be a string, got 5"),
        ("seller-consent", '{"selling_partner_id": 5}', "selling_partner_id must be a string, got 5"),
        ("spapi-codes", '{"application_id": 5}', "application_id must be a string, got 5"),
    ],
)  # fmt: skip
def test_every_value_is_range_checked(start: Start, path: str, body: str, message: str) -> None:
    server = start()
    before, now = state(server), server.clock.now()
    r = admin(server, "POST", path, data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_request"
    assert r.json()["message"].startswith(message)
    assert state(server) == before
    assert server.clock.now() - now < 60  # not moved (it ticks with real time)
    token = requests.post(server.token_url, data={"grant_type": "client_credentials"}, timeout=5)
    assert token.status_code == 400  # the server still answers: no 500 from a value it took


def test_the_clock_at_its_ends_still_serves(start: Start) -> None:
    """Before the bounds, a clock set past the year 9999 made every answer a 500 (its Date header)."""
    server = start()
    for now in (0, 32503680000):
        assert admin(server, "POST", "clock/set", json={"now": now}).status_code == 200
        r = requests.post(server.token_url, data={"grant_type": "client_credentials"}, timeout=5)
        assert r.status_code == 400
    assert math.isclose(server.clock.now(), 32503680000, abs_tol=60)
    r = admin(server, "POST", "clock/advance", json={"seconds": 3600})
    assert r.status_code == 400
    assert r.json()["message"].startswith("seconds: advance() takes at most ")


# --- the Python API refuses the same values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.clock.set(1e400), ValueError, f"set() takes {CLOCK_RANGE}, got inf"),
        (lambda s: s.clock.set(float("nan")), ValueError, f"set() takes {CLOCK_RANGE}, got nan"),
        (lambda s: s.clock.set(10**400), ValueError, f"set() takes {CLOCK_RANGE}, got 1000000000000"),
        (lambda s: s.clock.advance(float("inf")), ValueError, "advance() takes at most"),
        (lambda s: s.delay_next(1e9), ValueError, f"{DELAY_RANGE}, got 1000000000.0"),
        (lambda s: s.delay_next(float("nan")), ValueError, f"{DELAY_RANGE}, got nan"),
        (lambda s: s.fail_next(times=10**9), ValueError, "times must be a whole number >= 1 and <= 1000000"),
        (lambda s: s.drop_next(nth=0), ValueError, "nth must be a whole number >= 1 and <= 1000000"),
        (lambda s: s.respond_next(1000), ValueError, "status must be a whole number >= 200 and <= 599, got 1000"),
        (lambda s: s.respond_next(502, body=5), TypeError, "body must be text or bytes, got int"),
        (lambda s: s.respond_next(502, headers={"X": "a\nb"}), ValueError, "headers: the value of X must be"),
        (lambda s: s.fail_next(headers={"X:": "a"}), ValueError, "headers: 'X:' is not an HTTP header name"),
        (lambda s: s.fail_next(status=302), ValueError, "status must be a whole number >= 400 and <= 599"),
        (lambda s: s.throttle_next(retry_after=-5), ValueError, "retry_after must be a whole number >= 0"),
        (lambda s: s.delay_next(1, path="token"), ValueError, "path must start with '/'"),
        (lambda s: s.configure(expires_in=2**31), ValueError, "expires_in must be a whole number of seconds from 1 to"),
        (lambda s: s.add_user(name=5), TypeError, "name must be a string, got 5"),
        (lambda s: s.revoke(5), TypeError, "token must be a string, got 5"),
    ],
)  # fmt: skip
def test_the_python_api_refuses_the_same_values(call: Any, error: type[Exception], message: str) -> None:
    server = LwaServer()
    with pytest.raises(error) as refused:
        call(server)
    assert str(refused.value).startswith(message)
    assert server.pending_faults == []
    assert server.settings.expires_in == 3600
