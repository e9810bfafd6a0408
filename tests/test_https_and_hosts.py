"""lwa_https_server and lwa_amazon_hosts, as client code meets them."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import requests
from helpers import read_until_closed

from pytest_lwa import LwaServer
from pytest_lwa.amazon_hosts import redirected

APPSTORE = "appstore::apps:readwrite"


def form(server: LwaServer) -> dict[str, str]:
    app = server.add_client(scopes=[APPSTORE])
    return {
        "grant_type": "client_credentials",
        "scope": APPSTORE,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }


def test_https_server(lwa_https_server: LwaServer) -> None:
    assert lwa_https_server.url.startswith("https://127.0.0.1:")
    assert lwa_https_server.ca_bundle is not None
    assert Path(lwa_https_server.ca_bundle).read_text().startswith("-----BEGIN CERTIFICATE-----")
    data = form(lwa_https_server)
    r = requests.post(lwa_https_server.token_url, data=data, verify=lwa_https_server.ca_bundle, timeout=5)
    assert r.json()["token_type"] == "bearer"
    with httpx.Client(verify=lwa_https_server.ssl_context) as client:
        assert client.post(lwa_https_server.token_url, data=data).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(lwa_https_server.token_url, data=data, timeout=5)


def test_https_server_is_reset_like_lwa_server(lwa_https_server: LwaServer) -> None:
    assert lwa_https_server.clients == []
    assert lwa_https_server.request_log == []


def test_a_stalled_tls_handshake_does_not_hold_up_others(lwa_https_server: LwaServer) -> None:
    with socket.create_connection(("127.0.0.1", lwa_https_server.port)) as stalled:
        stalled.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and nothing more
        r = requests.get(lwa_https_server.tokeninfo_url, verify=lwa_https_server.ca_bundle, timeout=5)
        assert r.status_code == 400


def test_plain_http_to_the_tls_port_is_answered_so(lwa_https_server: LwaServer) -> None:
    with socket.create_connection(("127.0.0.1", lwa_https_server.port), timeout=5) as sock:
        sock.sendall(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"\r\nConnection: close\r\n" in head
    assert (
        body == b'{"error_description":"The plain HTTP request was sent to the HTTPS port","error":"invalid_request"}'
    )
    assert lwa_https_server.request_log == []


def test_plain_http_after_an_empty_line_to_the_tls_port_is_answered_so_too(lwa_https_server: LwaServer) -> None:
    with socket.create_connection(("127.0.0.1", lwa_https_server.port), timeout=5) as sock:
        sock.sendall(b"\r\nGET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(24) == b"HTTP/1.1 400 Bad Request"


def test_garbage_instead_of_a_handshake_is_dropped_quietly(lwa_https_server: LwaServer) -> None:
    with socket.create_connection(("127.0.0.1", lwa_https_server.port)) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello")  # a handshake record that is no ClientHello
        answer = b""
        with contextlib.suppress(ConnectionResetError):  # a reset is a close too, less polite
            while chunk := sock.recv(100):
                answer += chunk
        assert answer in (b"", b"\x15\x03\x03\x00\x02\x02\n")  # nothing, or TLS's alert "unexpected message"
    context = ssl.create_default_context(cafile=lwa_https_server.ca_bundle)
    with (
        socket.create_connection(("127.0.0.1", lwa_https_server.port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert tls.recv(20).startswith(b"HTTP/1.1 400")
    assert lwa_https_server.errors == []


@pytest.mark.parametrize(
    "url",
    [
        "https://api.amazon.com/auth/o2/token",
        "https://api.amazon.co.uk/auth/O2/token",
        "https://api.amazon.co.jp/auth/o2/tokeninfo?access_token=x",
        # the Amazon Pay SDKs' hosts (docs/contract.md R13)
        "https://api.amazon.de/auth/o2/tokeninfo?access_token=x",
        "https://api.sandbox.amazon.com/auth/o2/tokeninfo?access_token=x",
        "https://api.sandbox.amazon.co.uk/auth/o2/token",
        "https://api.sandbox.amazon.de/auth/o2/token",
    ],
)
def test_requests_to_amazon_reach_the_mock(lwa_amazon_hosts: LwaServer, url: str) -> None:
    data = form(lwa_amazon_hosts)
    if "tokeninfo" in url:
        r = requests.get(url, timeout=5)
        assert r.json()["error"] == "invalid_token"
    else:
        assert requests.post(url, data=data, timeout=5).json()["token_type"] == "bearer"
        with requests.Session() as session:
            assert session.post(url, data=data, timeout=5).status_code == 200
    assert len(lwa_amazon_hosts.request_log) >= 1


def test_httpx_to_amazon_reaches_the_mock(lwa_amazon_hosts: LwaServer) -> None:
    data = form(lwa_amazon_hosts)
    with httpx.Client() as client:
        token = client.post("https://api.amazon.com/auth/o2/token", data=data).json()["access_token"]
        r = client.get("https://api.amazon.com/user/profile", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403  # a client-credentials token carries no profile scope
    assert r.json()["error"] == "insufficient_scope"
    # the request arrived with the host the client named
    assert lwa_amazon_hosts.request_log[0].headers["Host"] == "api.amazon.com"


def test_the_request_log_shows_the_amazon_host_the_client_named(lwa_amazon_hosts: LwaServer) -> None:
    data = form(lwa_amazon_hosts)
    assert requests.post("https://api.amazon.co.uk/auth/o2/token", data=data, timeout=5).status_code == 200
    with requests.Session() as session:
        assert session.post("https://api.amazon.co.jp/auth/o2/token", data=data, timeout=5).status_code == 200
    with httpx.Client() as client:
        assert client.post("https://api.amazon.de/auth/o2/token", data=data).status_code == 200
    hosts = [record.host for record in lwa_amazon_hosts.request_log]
    assert hosts == ["api.amazon.co.uk", "api.amazon.co.jp", "api.amazon.de"]


def test_aiohttp_to_amazon_reaches_the_mock(lwa_amazon_hosts: LwaServer) -> None:
    import aiohttp

    data = form(lwa_amazon_hosts)

    async def token_then_profile() -> tuple[int, dict[str, str], int]:
        async with aiohttp.ClientSession() as session:
            async with session.post("https://api.amazon.co.uk/auth/o2/token", data=data) as r:
                status, body = r.status, await r.json()
            profile = "https://api.amazon.com/user/profile"
            async with session.get(profile, headers={"Authorization": f"Bearer {body['access_token']}"}) as r:
                return status, body, r.status
        raise AssertionError("unreachable")

    status, body, profile_status = asyncio.run(token_then_profile())
    assert (status, body["token_type"], profile_status) == (200, "bearer", 403)
    assert [record.host for record in lwa_amazon_hosts.request_log] == ["api.amazon.co.uk", "api.amazon.com"]


def test_aiohttp_with_a_base_url_reaches_the_mock(lwa_amazon_hosts: LwaServer) -> None:
    import aiohttp

    async def tokeninfo() -> int:
        async with (
            aiohttp.ClientSession(base_url="https://api.amazon.com") as session,
            session.get("/auth/o2/tokeninfo", params={"access_token": "x"}) as r,
        ):
            return r.status

    assert asyncio.run(tokeninfo()) == 400
    (record,) = lwa_amazon_hosts.request_log
    assert (record.host, record.path, record.params) == ("api.amazon.com", "/auth/o2/tokeninfo", {"access_token": "x"})


def test_urllib_to_amazon_reaches_the_mock(lwa_amazon_hosts: LwaServer) -> None:
    body = urlencode(form(lwa_amazon_hosts)).encode()
    with urllib.request.urlopen("https://api.amazon.de/auth/o2/token", data=body, timeout=5) as r:
        assert json.load(r)["token_type"] == "bearer"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen("https://api.amazon.com/auth/o2/tokeninfo?access_token=x", timeout=5)
    with refused.value:
        assert (refused.value.code, json.load(refused.value)["error"]) == (400, "invalid_token")
    assert [record.host for record in lwa_amazon_hosts.request_log] == ["api.amazon.de", "api.amazon.com"]


def test_http_client_to_amazon_reaches_the_mock(lwa_amazon_hosts: LwaServer) -> None:
    body = urlencode(form(lwa_amazon_hosts))
    connection = http.client.HTTPSConnection("api.sandbox.amazon.com", timeout=5)
    try:
        for _ in range(2):  # one connection, two requests
            connection.request("POST", "/auth/o2/token", body, {"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            assert (response.status, json.loads(response.read())["token_type"]) == (200, "bearer")
    finally:
        connection.close()
    assert [record.host for record in lwa_amazon_hosts.request_log] == ["api.sandbox.amazon.com"] * 2


def test_a_host_in_capitals_or_with_the_roots_dot_is_intercepted_too(lwa_amazon_hosts: LwaServer) -> None:
    data = form(lwa_amazon_hosts)
    assert requests.post("https://api.amazon.com./auth/o2/token", data=data, timeout=5).status_code == 200
    assert requests.post("https://API.Amazon.COM/auth/o2/token", data=data, timeout=5).status_code == 200
    body = urlencode(data).encode()
    with urllib.request.urlopen("https://API.AMAZON.COM/auth/o2/token", data=body, timeout=5) as r:
        assert r.status == 200
    connection = http.client.HTTPSConnection("Api.Amazon.Co.Uk.", timeout=5)
    try:
        connection.request(
            "POST", "/auth/o2/token", urlencode(data), {"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    assert len(lwa_amazon_hosts.request_log) == 4


def test_other_traffic_is_left_alone(lwa_amazon_hosts: LwaServer) -> None:
    assert requests.get(lwa_amazon_hosts.tokeninfo_url, timeout=5).status_code == 400  # not an Amazon host
    for url in (
        "https://sellingpartnerapi-na.amazon.com/orders/v0/orders",
        "https://api.amazon.com/other/path",
        "https://www.amazon.com/ap/oa",
        "https://api.amazon.com.evil.example/auth/o2/token",
        "http://localhost/auth/o2/token",
    ):
        assert redirected(url, "http://127.0.0.1:1") is None
    assert redirected("https://api.amazon.com/auth/o2/token?a=1", "http://127.0.0.1:1") == (
        "http://127.0.0.1:1/auth/o2/token?a=1"
    )


def test_patches_end_with_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import requests.adapters

        ORIGINAL = (requests.adapters.HTTPAdapter.send, httpx.HTTPTransport.handle_request,
                    httpx.AsyncHTTPTransport.handle_async_request)

        def test_patched(lwa_amazon_hosts):
            assert requests.adapters.HTTPAdapter.send is not ORIGINAL[0]

        def test_restored():
            assert (requests.adapters.HTTPAdapter.send, httpx.HTTPTransport.handle_request,
                    httpx.AsyncHTTPTransport.handle_async_request) == ORIGINAL
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_examples_fail_when_the_server_answers_wrongly(pytester: pytest.Pytester) -> None:
    """The sp-api example passes against the faithful server and fails against a wrong one."""
    example = (Path(__file__).resolve().parent.parent / "examples" / "test_sp_api.py").read_text()
    pytester.makepyfile(test_sp_api_copy=example)  # a name of its own: the original is imported already
    pytester.runpytest().assert_outcomes(passed=4)
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(autouse=True)
        def wrong_lifetime(lwa_server):
            lwa_server.configure(expires_in=60)  # a server that does not answer 3600
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, passed=3)
    result.stdout.fnmatch_lines(["*test_grantless*", "*assert ('bearer', 60) == ('bearer', 3600)*"])


def test_https_server_does_not_take_the_http_servers_fixed_port(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def lwa_server_listen_address():
            return ("localhost", 18080)  # never bound here: only lwa_https_server runs
        """
    )
    pytester.makepyfile(
        """
        def test_https(lwa_https_server, lwa_https_server_listen_address):
            assert lwa_https_server_listen_address == ("localhost", 0)
            assert lwa_https_server.url.startswith("https://localhost:")
            assert lwa_https_server.port != 18080
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_the_ca_bundle_goes_with_the_with_block() -> None:
    pytest.importorskip("trustme", reason="HTTPS needs the tls extra (trustme)")
    with LwaServer(tls=True) as server:
        assert server.ca_bundle is not None
        bundle = Path(server.ca_bundle)
        assert bundle.is_file()
    assert not bundle.parent.exists()


@pytest.mark.parametrize("fixture", ["lwa_https_server", "lwa_proxy"])
def test_without_trustme_the_fixture_says_so_once(pytester: pytest.Pytester, fixture: str) -> None:
    pytester.makeconftest("import sys\nsys.modules['trustme'] = None  # as if it were not installed\n")
    pytester.makepyfile(f"def test_x({fixture}):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    message = f"{fixture}: serving HTTPS needs the trustme package: pip install 'pytest-lwa[tls]'"
    # once in the error's report (the short summary repeats it, in full when CI is set)
    report = [line for line in output.splitlines() if message in line and not line.startswith("ERROR ")]
    assert len(report) == 1, output
    assert "During handling of the above exception" not in output


def test_amazon_hosts_serves_https_with_one_certificate_for_every_amazon_host() -> None:
    from pytest_lwa.amazon_hosts import PROXY_HOSTS

    with LwaServer(amazon_hosts=True) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.ssl_context is not None
        for name in sorted(PROXY_HOSTS):  # what a client that resolves the name to this server checks
            with (
                socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
                server.ssl_context.wrap_socket(raw, server_hostname=name) as tls,
            ):
                tls.sendall(f"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
                assert tls.recv(12) == b"HTTP/1.1 400"
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            server.ssl_context.wrap_socket(raw, server_hostname="aws.amazon.com")


def test_an_https_mock_is_patched_in_for_the_libraries_that_can_reach_it() -> None:
    from pytest_lwa.amazon_hosts import patch_amazon_hosts

    with pytest.MonkeyPatch.context() as patch:
        patched = patch_amazon_hosts("https://127.0.0.1:1", patch.setattr)
    assert "http.client" not in patched  # it connects without TLS: only a plain-HTTP mock
    assert {"requests", "httpx", "aiohttp"} <= set(patched)
