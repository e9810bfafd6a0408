"""The proxy mode: clients that hard-code https://api.amazon.com reach the mock with a proxy setting and a CA.

Any process, any language: HTTPS_PROXY plus the authority's PEM is all it takes (curl, Python requests by
environment alone); a host that is not Amazon's LWA is refused, or tunnelled untouched when asked.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import wait_for

from pytest_lwa import Client, LwaServer
from pytest_lwa.cli import main

pytest.importorskip("trustme", reason="the proxy terminates TLS with trustme's certificates (the tls extra)")

APPSTORE = "appstore::apps:readwrite"
FORBIDDEN = (
    b'{"error_description":"pytest-lwa\'s proxy serves Amazon\'s LWA hosts only, not example.com; start it with'
    b' --proxy-passthrough (LwaServer(proxy_passthrough=True)) to tunnel other hosts untouched",'
    b'"error":"forbidden_host"}'
)
CURL = shutil.which("curl")


def form(client: Client) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "scope": APPSTORE,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }


def child_env(server: LwaServer) -> dict[str, str]:
    """This process's environment, without its own proxy or CA settings, plus the proxy's."""
    ours = {name.upper() for name in server.proxy_env}
    return {**{k: v for k, v in os.environ.items() if k.upper() not in ours}, **server.proxy_env}


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_gets_a_token_from_api_amazon_com_with_the_environment_alone(lwa_proxy: LwaServer) -> None:
    client = lwa_proxy.add_client(scopes=[APPSTORE])
    body = "&".join(f"{k}={v}" for k, v in form(client).items())
    result = subprocess.run(
        [str(CURL), "-s", "-d", body, "https://api.amazon.com/auth/o2/token"],
        env=child_env(lwa_proxy),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["access_token"].startswith("Atc|")
    (record,) = lwa_proxy.request_log
    assert record.host == "api.amazon.com"
    assert record.describe().startswith("POST api.amazon.com/auth/o2/token ")


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_a_client_that_does_not_trust_the_authority_fails_cleanly(lwa_proxy: LwaServer) -> None:
    env = {k: v for k, v in child_env(lwa_proxy).items() if k not in ("CURL_CA_BUNDLE", "SSL_CERT_FILE")}
    result = subprocess.run(
        [str(CURL), "-s", "https://api.amazon.com/auth/o2/tokeninfo"], env=env, capture_output=True, timeout=30
    )
    assert result.returncode == 60  # curl: the peer's certificate cannot be verified
    assert lwa_proxy.request_log == []
    client = lwa_proxy.add_client(scopes=[APPSTORE])
    assert requests.post(lwa_proxy.token_url, data=form(client), timeout=5).status_code == 200  # still serving


PYTHON_CLIENT = """
import json, sys, requests
form = json.loads(sys.argv[1])
answer = requests.post("https://api.amazon.com/auth/o2/token", data=form, timeout=10)
print(answer.status_code, answer.json()["token_type"], answer.json()["access_token"][:4])
"""


def test_python_requests_in_another_process_with_the_environment_alone(lwa_proxy: LwaServer) -> None:
    client = lwa_proxy.add_client(scopes=[APPSTORE])
    result = subprocess.run(
        [sys.executable, "-c", PYTHON_CLIENT, json.dumps(form(client))],
        env=child_env(lwa_proxy),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split() == ["200", "bearer", "Atc|"], result.stderr


def test_in_process_through_the_proxy_and_in_absolute_form(lwa_proxy: LwaServer) -> None:
    client = lwa_proxy.add_client(scopes=[APPSTORE])
    tls = requests.post(
        "https://api.amazon.co.uk/auth/O2/token",
        data=form(client),
        proxies={"https": lwa_proxy.proxy_url},
        verify=lwa_proxy.ca_bundle,
        timeout=10,
    )
    assert tls.status_code == 200
    plain = requests.post(
        "http://api.amazon.com/auth/o2/token", data=form(client), proxies={"http": lwa_proxy.proxy_url}, timeout=10
    )
    assert plain.status_code == 200
    assert [r.host for r in lwa_proxy.request_log] == ["api.amazon.co.uk", "api.amazon.com"]


def test_another_host_is_refused_with_403(lwa_proxy: LwaServer) -> None:
    r = requests.get("http://example.com/", proxies={"http": lwa_proxy.proxy_url}, timeout=10)
    assert (r.status_code, r.content) == (403, FORBIDDEN)
    with socket.create_connection(("127.0.0.1", lwa_proxy.port), timeout=10) as sock:
        sock.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert answer.endswith(b"\r\n\r\n" + FORBIDDEN)
    assert lwa_proxy.request_log == []  # nothing reached the mock


@pytest.mark.parametrize(
    "host", ["aws.amazon.com", "evil-amazon.com", "api.amazon.com.evil.example", "xapi.amazon.com", "amazon.com"]
)
def test_only_the_listed_hosts_are_served_exactly(host: str, lwa_proxy: LwaServer) -> None:
    """Not every name that ends in (or starts with) an Amazon domain: the listed names, exactly."""
    body = FORBIDDEN.replace(b"example.com", host.encode())
    for target in (f"{host}:443", f"{host.upper()}:443"):
        head, answer = refused(lwa_proxy.port, target)
        assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
        assert answer == body
    r = requests.post(f"http://{host}/auth/o2/token", proxies={"http": lwa_proxy.proxy_url}, timeout=10)
    assert (r.status_code, r.content) == (403, body)
    assert lwa_proxy.request_log == []


@pytest.fixture
def outside_host() -> Iterator[int]:
    """A stand-in for a host on the internet: it sends back every byte it gets, reversed per chunk."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            while data := connection.recv(65536):
                connection.sendall(data[::-1])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()
    thread.join(timeout=5)


def test_passthrough_tunnels_other_hosts_untouched(outside_host: int) -> None:
    with (
        LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=True) as proxy,  # the stand-in is local
        socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock,
    ):
        sock.sendall(f"CONNECT 127.0.0.1:{outside_host} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
        payload = bytes(range(256)) * 4
        sock.sendall(payload)
        echoed = b""
        while len(echoed) < len(payload):
            echoed += sock.recv(65536)
        assert echoed == payload[::-1]  # the stand-in's answer, byte for byte


def test_bytes_sent_with_the_connect_reach_the_tunnel(outside_host: int) -> None:
    with (
        LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=True) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock,
    ):
        early = b"sent before the answer"  # as a client that does not wait for the 200 sends its first bytes
        sock.sendall(f"CONNECT 127.0.0.1:{outside_host} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() + early)
        answer = b""
        while not answer.endswith(early[::-1]):
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 Connection Established\r\n")


#: what every socket of this process connected to while watched (an audit hook: no connect escapes it, and
#: one beyond loopback fails before anything is sent)
WATCHED: list[list[Any]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and WATCHED:
        WATCHED[-1].append(args[1])
        if isinstance(args[1], tuple) and not ipaddress.ip_address(args[1][0]).is_loopback:
            raise PermissionError(f"a test may connect to loopback only, not {args[1]}")  # before any packet


sys.addaudithook(_audit)


@contextlib.contextmanager
def connects() -> Iterator[list[Any]]:
    """The addresses connected to, by anyone in this process, within the block."""
    seen: list[Any] = []
    WATCHED.append(seen)
    try:
        yield seen
    finally:
        WATCHED.remove(seen)


def tunnel(port: int, target: str, headers: str = "") -> tuple[bytes, socket.socket]:
    """``CONNECT target`` to the proxy on ``port``: the answer's head, and the connection (open)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{headers}\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n") and (byte := sock.recv(1)):
        head += byte
    return head, sock


def refused(port: int, target: str, headers: str = "") -> tuple[bytes, bytes]:
    """The proxy's whole answer to ``CONNECT target`` (one it closes): its head and its body."""
    with connects() as seen:
        head, sock = tunnel(port, target, headers)
        with sock:
            body = b""
            while chunk := sock.recv(65536):
                body += chunk
    assert seen == [("127.0.0.1", port)], "the proxy connected somewhere"  # the test's own connection only
    return head, body


def forbidden_address(named: str, why: str) -> bytes:
    return (
        f'{{"error_description":"pytest-lwa\'s proxy does not tunnel to {named}, {why}; start it with'
        " --proxy-allow-private (LwaServer(proxy_allow_private=True)) to reach this host's and its network's"
        ' services","error":"forbidden_address"}'
    ).encode()


def mapped(text: str) -> str:
    """An IPv4-mapped IPv6 address as the proxy names it: Python's own form (``::ffff:7f00:1`` before 3.13,
    ``::ffff:127.0.0.1`` since), with the target as sent when that differs."""
    shown = str(ipaddress.ip_address(text))
    return shown if shown == text else f"{shown} ({text})"


@pytest.mark.parametrize(
    ("target", "named", "why"),
    [
        ("127.0.0.1:{echo}", "127.0.0.1", "a loopback address"),
        ("127.1.2.3:{echo}", "127.1.2.3", "a loopback address"),
        ("localhost:{echo}", "127.0.0.1 (localhost)", "a loopback address"),
        ("LOCALHOST:{echo}", "127.0.0.1 (localhost)", "a loopback address"),
        ("[::1]:{echo}", "::1", "a loopback address"),
        ("[::ffff:127.0.0.1]:{echo}", mapped("::ffff:127.0.0.1"), "a loopback address"),
        ("0.0.0.0:{echo}", "0.0.0.0", "an unspecified address"),
        ("[::]:443", "::", "an unspecified address"),
        ("10.0.0.1:443", "10.0.0.1", "a private address"),
        ("172.16.0.1:443", "172.16.0.1", "a private address"),
        ("192.168.1.1:443", "192.168.1.1", "a private address"),
        ("[fc00::1]:443", "fc00::1", "a private address"),
        ("[::ffff:10.0.0.1]:443", mapped("::ffff:10.0.0.1"), "a private address"),
        ("[2002:a00:1::]:443", "2002:a00:1::", "a private address"),  # 6to4 around 10.0.0.1
        ("169.254.169.254:80", "169.254.169.254", "a link-local address"),  # a cloud's instance metadata
        ("[fe80::1]:443", "fe80::1", "a link-local address"),
        ("[fec0::1]:443", "fec0::1", "a site-local address"),
        ("224.0.0.1:443", "224.0.0.1", "a multicast address"),
        ("[ff02::1]:443", "ff02::1", "a multicast address"),
        ("240.0.0.1:443", "240.0.0.1", "a reserved address"),
        ("255.255.255.255:443", "255.255.255.255", "a reserved address"),
        ("100.64.0.1:443", "100.64.0.1", "an address not routed on the internet"),  # carrier-grade NAT
    ],
)
def test_passthrough_refuses_this_host_and_its_network_before_connecting(
    target: str, named: str, why: str, outside_host: int, caplog: pytest.LogCaptureFixture
) -> None:
    target = target.format(echo=outside_host)
    with LwaServer(proxy=True, proxy_passthrough=True) as proxy, caplog.at_level("INFO", "pytest_lwa.access"):
        head, body = refused(proxy.port, target)
        assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
        assert body == forbidden_address(named, why)
        assert proxy.request_log == []
    assert [r.getMessage() for r in caplog.records] == [
        f"CONNECT {target} (proxy) -> 403 forbidden_address: {named} is {why}"
    ]
    socket.create_connection(("127.0.0.1", outside_host), timeout=10).close()  # the stand-in's one connection


#: how a refusal names a target that is not its address as written
SHOWN = {"localhost": "127.0.0.1 (localhost)", "[::ffff:127.0.0.1]": mapped("::ffff:127.0.0.1")}


@pytest.mark.parametrize("allow_private", [False, True])
def test_passthrough_never_tunnels_to_the_proxy_itself(allow_private: bool) -> None:
    with LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=allow_private) as proxy:
        for host in ("127.0.0.1", "localhost", "0.0.0.0", "[::ffff:127.0.0.1]"):
            head, body = refused(proxy.port, f"{host}:{proxy.port}")
            assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
            named = SHOWN.get(host, host)
            itself = f"itself ({named}, port {proxy.port})"
            description = f"pytest-lwa's proxy does not tunnel to {itself}"
            assert json.loads(body) == {"error_description": description, "error": "forbidden_address"}


@pytest.mark.parametrize("target", ["127.0.0.1:{echo}", "localhost:{echo}", "127.0.0.1:0{echo}"])
def test_passthrough_reaches_this_host_when_allowed(target: str, outside_host: int) -> None:
    with LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=True) as proxy:
        head, sock = tunnel(proxy.port, target.format(echo=outside_host))
        with sock:
            assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
            sock.sendall(b"ping")
            assert sock.recv(65536) == b"gnip"


def test_passthrough_says_what_it_reached(outside_host: int, caplog: pytest.LogCaptureFixture) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    nobody = closed.getsockname()[1]
    closed.close()  # a loopback port nothing listens on
    with (
        LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=True) as proxy,
        caplog.at_level("INFO", "pytest_lwa.access"),
    ):
        head, sock = tunnel(proxy.port, f"127.0.0.1:{nobody}")
        with sock:
            body = b""
            while chunk := sock.recv(65536):
                body += chunk
        assert head.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
        assert json.loads(body)["error"] == "bad_gateway"
        head, sock = tunnel(proxy.port, f"localhost:{outside_host}")
        sock.close()
        assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith(f"CONNECT 127.0.0.1:{nobody} (proxy) -> 502: ")
    assert lines[1:] == [f"CONNECT localhost:{outside_host} (proxy) -> passed through to 127.0.0.1"]


def test_passthrough_connects_to_the_address_it_checked(outside_host: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """One look-up: a name that resolves elsewhere the second time (DNS rebinding) is not looked up again."""
    lookups: list[str] = []
    resolve = socket.getaddrinfo

    def once(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "localhost":
            lookups.append(host)
            if len(lookups) > 1:
                raise socket.gaierror(socket.EAI_NONAME, "looked up a second time")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", once)
    with LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=True) as proxy, connects() as seen:
        head, sock = tunnel(proxy.port, f"localhost:{outside_host}")
        with sock:
            assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
            sock.sendall(b"ab")
            assert sock.recv(65536) == b"ba"
        assert lookups == ["localhost"]
        assert seen == [("127.0.0.1", proxy.port), ("127.0.0.1", outside_host)]


PROXY_AUTH = (
    b'{"error_description":"pytest-lwa\'s proxy tunnels other hosts only with Proxy-Authorization: Bearer <the admin'
    b' token>","error":"proxy_authentication_required"}'
)


@pytest.mark.parametrize(
    "headers",
    [
        "",
        "Proxy-Authorization: Basic s3cret\r\n",
        "Proxy-Authorization: Token s3cret\r\n",
        "Proxy-Authorization: s3cret\r\n",
        "Proxy-Authorization: Bearer s3cre\r\n",
        "Proxy-Authorization: Bearer s3cret2\r\n",
        "Proxy-Authorization: Bearer \r\n",
        "Authorization: Bearer s3cret\r\n",
        "Proxy-Authorization: Bearer s3cret\r\nProxy-Authorization: Bearer s3cret\r\n",
    ],
)
def test_with_a_token_passthrough_needs_it_as_proxy_authorization(headers: str, outside_host: int) -> None:
    with LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=True, proxy_token="s3cret") as proxy:
        head, body = refused(proxy.port, f"127.0.0.1:{outside_host}", headers)
        assert head.startswith(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
        assert b'\r\nProxy-Authenticate: Bearer realm="pytest-lwa"\r\n' in head
        assert body == PROXY_AUTH
        head, sock = tunnel(proxy.port, "api.amazon.com:443")  # the mock's own hosts need no token
        sock.close()
        assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
        head, sock = tunnel(proxy.port, f"127.0.0.1:{outside_host}", "Proxy-Authorization: bearer  s3cret \r\n")
        with sock:
            assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
            sock.sendall(b"ok")
            assert sock.recv(65536) == b"ko"


def test_serve_passes_its_admin_token_to_the_proxy(tmp_path: Path, outside_host: int) -> None:
    from pytest_lwa.cli import build_parser, serve

    ready = tmp_path / "ready.json"
    args = build_parser().parse_args(
        ["serve", "--port", "0", "--proxy", "--proxy-passthrough", "--proxy-allow-private", "--admin-token", "s3cret",
         "--ready-file", str(ready), "--log-level", "error"]
    )  # fmt: skip
    stop = threading.Event()
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(serve(args, stop)))
    thread.start()
    try:
        port = wait_for(ready)["port"]
        head, body = refused(port, f"127.0.0.1:{outside_host}")
        assert (head.split(b"\r\n")[0], body) == (b"HTTP/1.1 407 Proxy Authentication Required", PROXY_AUTH)
        head, sock = tunnel(port, f"127.0.0.1:{outside_host}", "Proxy-Authorization: Bearer s3cret\r\n")
        with sock:
            assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert status == [0]


@pytest.mark.parametrize("target", ["127.0.0.1", "127.0.0.1:http", "127.0.0.1:0", "127.0.0.1:65536", ":443"])
def test_a_connect_target_that_is_not_host_and_port_is_400(target: str) -> None:
    with LwaServer(proxy=True, proxy_passthrough=True) as proxy:
        head, body = refused(proxy.port, target)
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert json.loads(body) == {
        "error_description": f"pytest-lwa's proxy takes CONNECT host:port, not {target}",
        "error": "invalid_request",
    }


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"host": "0.0.0.0", "proxy_passthrough": True},
         "proxy_passthrough=True bound beyond loopback ('0.0.0.0') needs proxy_token=: without it anyone who reaches"
         " the port could tunnel through this host"),
        ({"host": "::", "proxy_passthrough": True}, "proxy_passthrough=True bound beyond loopback ('::') needs"),
        ({"host": "my-host", "proxy_passthrough": True}, "proxy_passthrough=True bound beyond loopback ('my-host')"),
        ({"proxy_allow_private": True}, "proxy_allow_private=True needs proxy_passthrough=True"),
        ({"proxy_passthrough": True, "proxy_token": ""}, "proxy_token must be a non-empty string, got ''"),
        ({"proxy_passthrough": True, "proxy_token": " "}, "proxy_token must be a non-empty string, got ' '"),
        # what Proxy-Authorization: Bearer cannot carry, as the admin token (--admin-token) refuses it
        ({"proxy_passthrough": True, "proxy_token": "a b"},
         "proxy_token must be printable ASCII characters without spaces, got 'a b'"),
        ({"proxy_passthrough": True, "proxy_token": "t\u00f6ken"},
         "proxy_token must be printable ASCII characters without spaces, got 't\u00f6ken'"),
    ],
)  # fmt: skip
def test_passthrough_beyond_loopback_needs_a_token(keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        LwaServer(proxy=True, **keywords)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):  # loopback: no token needed
        with LwaServer(host, proxy=True, proxy_passthrough=True):
            pass
    with LwaServer("0.0.0.0", proxy=True, proxy_passthrough=True, proxy_token="t"):
        pass


def test_a_stalled_tls_handshake_in_a_tunnel_is_closed_within_the_limit() -> None:
    with (
        LwaServer(proxy=True, request_timeout=0.3) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock,
    ):
        sock.sendall(b"CONNECT api.amazon.com:443 HTTP/1.1\r\nHost: api.amazon.com:443\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):  # the 200, then the close: no handshake came within 0.3 s
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 Connection Established")


def test_proxy_env() -> None:
    with LwaServer(proxy=True) as proxy:
        env = proxy.proxy_env
        assert env["HTTPS_PROXY"] == env["https_proxy"] == proxy.url
        assert env["NO_PROXY"] == env["GLOBAL_AGENT_NO_PROXY"] == "127.0.0.1,localhost,::1"
        assert (env["GLOBAL_AGENT_HTTP_PROXY"], env["NODE_USE_ENV_PROXY"]) == (proxy.url, "1")
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
            assert env[name] == proxy.ca_bundle
            assert Path(env[name]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    with LwaServer() as plain, pytest.raises(RuntimeError, match=r"construct it with LwaServer\(proxy=True\)"):
        plain.proxy_env  # noqa: B018
    with pytest.raises(ValueError, match="proxy_passthrough=True needs proxy=True"):
        LwaServer(proxy_passthrough=True)


def test_serve_with_a_given_authority_and_ca_file(tmp_path: Path) -> None:
    import trustme

    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    authority.private_key_pem.write_to_path(str(tmp_path / "ca.key"))
    ready = tmp_path / "ready.json"
    command = [sys.executable, "-m", "pytest_lwa", "serve", "--port", "0", "--proxy", "--ready-file", str(ready),
               "--ca-cert", str(tmp_path / "ca.pem"), "--ca-key", str(tmp_path / "ca.key"),
               "--ca-file", str(tmp_path / "trust.pem"), "--log-level", "error"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = wait_for(ready, proc)
        assert (info["proxy_url"], info["ca_bundle"]) == (info["url"], str(tmp_path / "trust.pem"))
        assert (tmp_path / "trust.pem").read_bytes() == authority.cert_pem.bytes()
        client = info["clients"][0]
        answer = requests.post(
            "https://api.amazon.com/auth/o2/token",
            data={
                "grant_type": "client_credentials",
                "scope": APPSTORE,
                **{k: client[k] for k in ("client_id", "client_secret")},
            },
            proxies={"https": info["proxy_url"]},
            verify=str(tmp_path / "ca.pem"),  # the CI image's own authority, trusted before the server started
            timeout=10,
        )
        assert answer.status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--proxy-passthrough"], "--proxy-passthrough goes with --proxy"),
        (["--proxy", "--proxy-allow-private"], "--proxy-allow-private goes with --proxy-passthrough"),
        (["--host", "0.0.0.0", "--proxy", "--proxy-passthrough"],
         "--proxy-passthrough on 0.0.0.0, beyond loopback, needs --admin-token: without it anyone who reaches the"
         " port could tunnel through this host"),
        (["--proxy", "--ca-cert", "x.pem"], "--ca-cert and --ca-key go together"),
        (["--ca-file", "x.pem"], "--ca-cert, --ca-key and --ca-file go with --tls, --proxy or --amazon-hosts"),
        (["--proxy", "--ca-cert", "/nonexistent.pem", "--ca-key", "/nonexistent.key"],
         "cannot read /nonexistent.pem: No such file or directory"),
    ],
)  # fmt: skip
def test_bad_proxy_options_are_one_line(arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", *arguments]) == 2
    assert capsys.readouterr().err == f"pytest-lwa: error: {message}\n"


NODE_CLIENT = """
const axios = require("axios");
const [clientId, clientSecret] = process.argv.slice(2);
const form = new URLSearchParams({grant_type: "client_credentials", scope: "appstore::apps:readwrite",
                                  client_id: clientId, client_secret: clientSecret});
axios.post("https://api.amazon.com/auth/o2/token", form)
  .then(r => console.log(r.status, r.data.access_token.slice(0, 4)))
  .catch(e => { console.log("failed", e.code || e.message); process.exit(1); });
"""


@pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None, reason="Node.js and npm are not installed"
)
def test_a_node_axios_client_with_the_environment_alone(lwa_proxy: LwaServer, tmp_path: Path) -> None:
    install = subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "axios@1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    (tmp_path / "client.js").write_text(NODE_CLIENT)
    client = lwa_proxy.add_client(scopes=[APPSTORE])
    env = child_env(lwa_proxy)
    node = [str(shutil.which("node")), "client.js", client.client_id, client.client_secret]
    ran = subprocess.run(node, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert ran.stdout.split() == ["200", "Atc|"], ran.stderr
    untrusting = {k: v for k, v in env.items() if k != "NODE_EXTRA_CA_CERTS"}
    ran = subprocess.run(node, cwd=tmp_path, env=untrusting, capture_output=True, text=True, timeout=60, check=False)
    assert (ran.returncode, ran.stdout.split()) == (1, ["failed", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"])


JAVA_CLIENT = """
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

public class TokenClient {
    public static void main(String[] args) throws Exception {
        String form = "grant_type=client_credentials&scope="
            + URLEncoder.encode("appstore::apps:readwrite", StandardCharsets.UTF_8)
            + "&client_id=" + URLEncoder.encode(args[0], StandardCharsets.UTF_8)
            + "&client_secret=" + URLEncoder.encode(args[1], StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(URI.create("https://api.amazon.com/auth/o2/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build();
        try {
            HttpResponse<String> response =
                HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
            System.out.println(response.statusCode() + " " + response.body().substring(17, 21));
        } catch (javax.net.ssl.SSLHandshakeException e) {
            System.out.println("untrusted");
            System.exit(1);
        }
    }
}
"""


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("java", "javac", "keytool")), reason="no JDK (java, javac, keytool)"
)
def test_a_java_httpclient_with_proxy_properties_and_a_trust_store(lwa_proxy: LwaServer, tmp_path: Path) -> None:
    (tmp_path / "TokenClient.java").write_text(JAVA_CLIENT)
    subprocess.run(["javac", "TokenClient.java"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    store = tmp_path / "trust.p12"
    subprocess.run(
        ["keytool", "-importcert", "-noprompt", "-alias", "lwa", "-file", str(lwa_proxy.ca_bundle), "-keystore",
         str(store), "-storetype", "PKCS12", "-storepass", "changeit"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    client = lwa_proxy.add_client(scopes=[APPSTORE])
    java = ["java", "-Dhttps.proxyHost=127.0.0.1", f"-Dhttps.proxyPort={lwa_proxy.port}", "-cp", str(tmp_path)]
    trusting = [f"-Djavax.net.ssl.trustStore={store}", "-Djavax.net.ssl.trustStorePassword=changeit"]
    ran = subprocess.run([*java, *trusting, "TokenClient", client.client_id, client.client_secret],
                         capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert ran.stdout.split() == ["200", "Atc|"], ran.stderr
    ran = subprocess.run([*java, "TokenClient", client.client_id, client.client_secret],
                         capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (ran.returncode, ran.stdout.strip()) == (1, "untrusted")


def test_a_tunnel_keeps_its_connection_alive_when_the_server_does() -> None:
    import http.client

    with LwaServer(proxy=True, keep_alive=True) as proxy:
        client = proxy.add_client(scopes=[APPSTORE])
        assert proxy.ssl_context is not None
        connection = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=proxy.ssl_context, timeout=10)
        connection.set_tunnel("api.amazon.com", 443)
        try:
            body = "&".join(f"{k}={v}" for k, v in form(client).items())
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            sockets = []
            for _ in range(3):
                connection.request("POST", "/auth/o2/token", body, headers)
                answer = connection.getresponse()
                assert (answer.status, answer.will_close) == (200, False)
                answer.read()
                sockets.append(connection.sock)
            assert sockets[0] is sockets[1] is sockets[2]  # one tunnel, three requests
            assert [r.host for r in proxy.request_log] == ["api.amazon.com"] * 3
        finally:
            connection.close()


def test_a_passthrough_tunnel_is_no_request_being_answered(outside_host: int) -> None:
    with LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=True) as proxy:
        head, sock = tunnel(proxy.port, f"127.0.0.1:{outside_host}")
        with sock:
            assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
            # the CONNECT is answered: the tunnel's thread relays bytes, no request waits for its answer
            assert proxy.wait_idle(5)
            assert proxy.stop(drain=5)


def test_a_passthrough_tunnel_ends_when_the_server_stops(outside_host: int) -> None:
    proxy = LwaServer(proxy=True, proxy_passthrough=True, proxy_allow_private=True)
    proxy.start()
    head, sock = tunnel(proxy.port, f"127.0.0.1:{outside_host}")
    with sock:
        assert head.startswith(b"HTTP/1.1 200 Connection Established\r\n")
        sock.sendall(b"abc")
        assert sock.recv(3) == b"cba"
        assert proxy.busy == 1  # the tunnel counts among the open connections
        proxy.stop()
        assert sock.recv(1) == b""  # closed by the stop, not by the tunnel's 60 s idle limit
