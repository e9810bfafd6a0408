"""LwaServer used without pytest's fixtures, and its validation of what tests pass it."""

from __future__ import annotations

import re
import socket

import pytest
import requests
from helpers import read_until_closed

from pytest_lwa import CLIENT_CREDENTIALS_SCOPES, LwaServer, Settings


def test_context_manager_starts_and_stops() -> None:
    with LwaServer() as server:
        assert server.is_running
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.token_url == server.url + "/auth/o2/token"
        assert server.port != 0
        client = server.add_client()
        r = requests.post(
            server.token_url,
            data={"grant_type": "client_credentials", "scope": "appstore::apps:readwrite"},
            auth=(client.client_id, client.client_secret),
            timeout=5,
        )
        assert r.status_code == 200
        port = server.port
    assert not server.is_running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)


def test_can_restart_after_stop() -> None:
    server = LwaServer()
    server.start()
    server.stop()
    server.stop()  # stopping twice is harmless
    server.start()
    try:
        assert requests.get(server.url + "/", timeout=5).status_code == 404
    finally:
        server.stop()


def test_url_before_start_names_the_fix() -> None:
    with pytest.raises(RuntimeError, match=r"call start\(\)"):
        _ = LwaServer().url


def test_start_twice_is_an_error() -> None:
    with LwaServer() as server, pytest.raises(RuntimeError, match="already running"):
        server.start()


def test_port_in_use_raises_oserror() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LwaServer(port=taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            server.start()
        assert not server.is_running


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = LwaServer("::1")
        server.start()
    except OSError:
        pytest.skip("IPv6 loopback is not configured")
    try:
        assert server.url == f"http://[::1]:{server.port}"
        assert requests.get(server.tokeninfo_url, timeout=5).status_code == 400
    finally:
        server.stop()


def test_generated_credentials_have_amazon_formats() -> None:
    server = LwaServer()
    client = server.add_client()
    assert client.client_id.startswith("amzn1.application-oa2-client.")
    assert len(client.client_id.rsplit(".", 1)[1]) == 32
    assert client.client_secret.startswith("amzn1.oa2-cs.v1.")
    assert len(client.client_secret.rsplit(".", 1)[1]) == 64
    assert client.scopes == CLIENT_CREDENTIALS_SCOPES
    assert client.client_secret not in repr(client)
    assert server.clients == [client]


def test_constructor_settings_survive_reset() -> None:
    server = LwaServer(expires_in=10, body_style="modern", json_body=False)
    server.configure(expires_in=20)
    server.reset()
    assert server.settings == Settings(expires_in=10, json_body=False, body_style="modern")


def test_reset_forgets_clients_and_moves_to_a_new_clock() -> None:
    server = LwaServer()
    server.add_client()
    clock = server.clock
    clock.advance(10_000)
    server.reset()
    assert server.clients == []
    assert server.clock is not clock
    assert server.clock.now() < clock.now()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"scopes": "appstore::apps:readwrite"}, TypeError, r"a list of strings, e.g. \['appstore::apps:readwrite'\]"),
        ({"scopes": ["a b"]}, ValueError, "without spaces"),
        ({"scopes": [""]}, ValueError, "without spaces"),
        ({"client_id": "has space"}, ValueError, "client_id must be"),
        ({"client_secret": ""}, ValueError, "client_secret must be"),
    ],
)
def test_add_client_rejects_bad_arguments(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    server = LwaServer()
    with pytest.raises(error, match=message):
        server.add_client(**kwargs)  # type: ignore[arg-type]
    assert server.clients == []


def test_duplicate_client_id_is_refused() -> None:
    server = LwaServer()
    server.add_client(client_id="one")
    with pytest.raises(ValueError, match=r"already registered; call remove_client\(\) first"):
        server.add_client(client_id="one")


def test_remove_unknown_client() -> None:
    with pytest.raises(KeyError, match="no client with client_id 'ghost'"):
        LwaServer().remove_client("ghost")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"expires_in": 0}, "expires_in must be a whole number"),
        ({"expires_in": 1.5}, "expires_in must be a whole number"),
        ({"expires_in": True}, "expires_in must be a whole number"),
        ({"json_body": "yes"}, "json_body must be True or False"),
        ({"body_style": "fancy"}, "body_style must be one of classic, modern"),
    ],
)
def test_configure_rejects_bad_values(changes: dict[str, object], message: str) -> None:
    server = LwaServer()
    with pytest.raises(ValueError, match=message):
        server.configure(**changes)
    assert server.settings == Settings()


def test_configure_rejects_unknown_names() -> None:
    with pytest.raises(TypeError, match=r"unknown setting.*expires; settings are: expires_in, json_body, body_style"):
        LwaServer().configure(expires=10)


def test_unparsable_request_line_gets_json(lwa_server: LwaServer) -> None:
    with socket.create_connection(("127.0.0.1", lwa_server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/9.9\r\n\r\n")
        answer = read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 505")
    assert b"Content-Type: application/json" in head
    assert body == b'{"error_description":"Malformed request","error":"invalid_request"}'


def test_public_names_resolve() -> None:
    import pytest_lwa

    for name in pytest_lwa.__all__:
        assert getattr(pytest_lwa, name) is not None
    assert set(pytest_lwa.__all__) <= set(dir(pytest_lwa))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = pytest_lwa.nope  # type: ignore[attr-defined]


def test_every_setting_is_a_constructor_keyword_that_a_reset_restores() -> None:
    import dataclasses
    import typing

    from pytest_lwa.model import SETTINGS, SettingValues

    hints = typing.get_type_hints(SettingValues)
    assert list(hints) == [setting.name for setting in SETTINGS]  # the typed keywords are the settings, in order
    assert hints == typing.get_type_hints(Settings)
    changed = {"expires_in": 60, "json_body": False, "body_style": "modern", "rotate_refresh_tokens": True,
               "enforce_poll_interval": True, "sp_secret_lifetime": 0, "secret_expiry_notices": "60,10",
               "rotation_rate_limit": False, "interactive_consent": True}  # fmt: skip
    server = LwaServer(**changed)  # type: ignore[arg-type]
    assert dataclasses.asdict(server.settings) == changed
    server.configure(expires_in=5, interactive_consent=False)
    server.reset()
    assert dataclasses.asdict(server.settings) == changed
    with pytest.raises(ValueError, match="body_style must be one of classic, modern, got 'fancy'"):
        LwaServer(body_style="fancy")  # type: ignore[typeddict-item]
    with pytest.raises(TypeError, match=r"^unknown setting\(s\) expires; settings are: expires_in, json_body, "):
        LwaServer(expires=10)  # type: ignore[call-arg]


def test_the_server_owns_its_checks(lwa_server: LwaServer) -> None:
    lwa_server.check()  # nothing queued, nothing failed
    fault = lwa_server.fail_next("server_error")
    with pytest.raises(AssertionError, match=r"^queued fault never used: ") as unused:
        lwa_server.check()
    assert fault.describe() in str(unused.value)
    lwa_server.clear_faults()
    assert lwa_server.pending_faults == []
    lwa_server.check()
    requests.get(lwa_server.tokeninfo_url, timeout=5)
    assert len(lwa_server.request_log) == 1
    lwa_server.clear_log()
    assert lwa_server.request_log == []


def test_check_names_a_failure_inside_the_server_and_chains_it(
    lwa_server: LwaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(lwa_server.authority, "verify", broken)
    assert requests.get(lwa_server.tokeninfo_url, params={"access_token": "x"}, timeout=5).status_code == 500
    (error,) = lwa_server.errors
    with pytest.raises(
        AssertionError, match=r"the server failed inside its thread: RuntimeError\('broken on purpose'\)"
    ) as failed:
        lwa_server.check()
    assert failed.value.__cause__ is error
    lwa_server.reset()
    assert lwa_server.errors == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.respond_next(200, "x", headers={"Content-Length": "0"}), "Content-Length frames the answer"),
        (lambda s: s.respond_next(200, "x", headers={"transfer-encoding": "chunked"}), "transfer-encoding frames"),
        (lambda s: s.respond_next(200, "x", headers={"Connection": "close"}), "Connection frames the answer"),
        (lambda s: s.respond_next(204, "a body"), "a 204 answer has no body"),
        (lambda s: s.respond_next(200, headers={"X-A": "a€b"}), "Latin-1 characters without control"),
        (lambda s: s.respond_next(200, headers={"X-A": "a\x85b"}), "Latin-1 characters without control"),
        (lambda s: s.add_client("amzn1.application-oa2-client.\x1b[31m"), "without spaces or control characters"),
    ],
)
def test_what_would_break_an_answer_or_a_terminal_is_refused(call: object, message: str) -> None:
    server = LwaServer()
    with pytest.raises(ValueError, match=re.escape(message)):
        call(server)  # type: ignore[operator]
    assert server.pending_faults == []
    assert server.clients == []
