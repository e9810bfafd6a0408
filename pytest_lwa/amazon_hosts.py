"""Send requests for Amazon's LWA hosts to the mock, for clients that hard-code ``https://api.amazon.com``.

Covered: ``requests`` (any ``HTTPAdapter``, so ``requests.post`` and sessions), ``httpx`` (``Client`` and
``AsyncClient`` with their default transports), ``aiohttp`` (``ClientSession``), ``http.client``
(``HTTPConnection`` and ``HTTPSConnection``) and so ``urllib.request``, which uses it. Only requests for the
LWA hosts (``api.amazon.com``, ``.co.uk``, ``.co.jp``, ``.de``, and the Amazon Pay sandbox hosts
``api.sandbox.amazon.com``, ``.co.uk``, ``.de``: docs/contract.md R13) are redirected, with the paths
``/auth/o2/…`` (in any case) and ``/user/profile`` for the libraries that name the path with the host, and
the client-secret rotation API (``/applications/2023-11-30/clientSecret``) on the SP-API hosts;
``http.client`` connects before the path is known, so every connection of its to an LWA host goes to the
mock. Every other request is left alone. Each arrives with the ``Host`` the client named, so the request log
shows the Amazon host, as through the proxy. Not covered: clients with a transport of their own.
"""

from __future__ import annotations

import http.client
import importlib.util
import socket
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = ["AMAZON_HOSTS", "PROXY_HOSTS", "SP_API_HOSTS", "is_lwa_host", "patch_amazon_hosts", "redirected"]

AMAZON_HOSTS: Final = frozenset(
    {
        "api.amazon.com",
        "api.amazon.co.uk",
        "api.amazon.co.jp",
        "api.amazon.de",
        "api.sandbox.amazon.com",
        "api.sandbox.amazon.co.uk",
        "api.sandbox.amazon.de",
    }
)

#: the Selling Partner API hosts: the mock serves their Application Management API (the client-secret
#: rotation) through ``lwa_amazon_hosts`` and the proxy
SP_API_HOSTS: Final = frozenset(
    {"sellingpartnerapi-na.amazon.com", "sellingpartnerapi-eu.amazon.com", "sellingpartnerapi-fe.amazon.com"}
)
#: the hosts ``LwaServer(proxy=True)`` serves through its proxy: the LWA API hosts, and the sign-in, SDK and
#: Seller and Vendor Central hosts the browser flows use, and the SP-API hosts
PROXY_HOSTS: Final = (
    AMAZON_HOSTS
    | SP_API_HOSTS
    | frozenset(
        {
            "www.amazon.com",
            "www.amazon.co.uk",
            "www.amazon.co.jp",
            "www.amazon.de",
            # the regional sign-in hosts of Amazon Ads (Europe, Far East; North America's is www.amazon.com)
            "eu.account.amazon.com",
            "apac.account.amazon.com",
            # where Amazon serves its JavaScript SDK (login1.js): the mock serves its stand-in there
            "assets.loginwithamazon.com",
            "sellercentral.amazon.com",
            "sellercentral-europe.amazon.com",
            "sellercentral.amazon.co.jp",
            "vendorcentral.amazon.com",
            "vendorcentral.amazon.co.uk",
            "vendorcentral.amazon.de",
            "vendorcentral.amazon.co.jp",
        }
    )
)

#: the SP-API paths the mock serves (every other request for an SP-API host is left alone)
SP_API_PATHS: Final = frozenset({"/applications/2023-11-30/clientsecret"})

SetAttr = Callable[[Any, str, Any], None]


def is_lwa_host(name: str | None) -> bool:
    """Whether ``name`` is one of :data:`AMAZON_HOSTS`, in any case, with or without the root's trailing dot."""
    if not name:
        return False
    name = name.lower()
    return (name[:-1] if name.endswith(".") else name) in AMAZON_HOSTS


def redirected(url: str, base_url: str) -> str | None:
    """Where a request for ``url`` goes instead (``base_url`` + path and query), or ``None`` to leave it."""
    parts = urlsplit(url)
    path = parts.path.lower()
    sp_api = (parts.hostname or "").lower().rstrip(".") in SP_API_HOSTS and path in SP_API_PATHS
    lwa = is_lwa_host(parts.hostname) and (path.startswith("/auth/o2/") or path == "/user/profile")
    if not (sp_api or lwa):
        return None
    return base_url + parts.path + (f"?{parts.query}" if parts.query else "")


def patch_amazon_hosts(base_url: str, setattr: SetAttr) -> list[str]:
    """Patch the installed HTTP libraries with ``setattr`` (e.g. ``monkeypatch.setattr``, which undoes it).

    Returns the names of the libraries patched.
    """
    patched = []
    if importlib.util.find_spec("requests") is not None:
        import requests.adapters

        send = requests.adapters.HTTPAdapter.send

        def send_to_mock(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            target = redirected(request.url, base_url)
            if target is not None:
                request = request.copy()
                request.headers["Host"] = urlsplit(request.url).netloc
                request.url = target
            return send(self, request, *args, **kwargs)

        setattr(requests.adapters.HTTPAdapter, "send", send_to_mock)
        patched.append("requests")
    if importlib.util.find_spec("httpx") is not None:
        import httpx

        handle = httpx.HTTPTransport.handle_request
        handle_async = httpx.AsyncHTTPTransport.handle_async_request

        def retarget(request: httpx.Request) -> None:
            target = redirected(str(request.url), base_url)
            if target is not None:
                request.url = httpx.URL(target)

        def handle_with_mock(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            retarget(request)
            return handle(self, request)

        async def handle_async_with_mock(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
            retarget(request)
            return await handle_async(self, request)

        setattr(httpx.HTTPTransport, "handle_request", handle_with_mock)
        setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle_async_with_mock)
        patched.append("httpx")
    if importlib.util.find_spec("aiohttp") is not None:
        _patch_aiohttp(base_url, setattr)
        patched.append("aiohttp")
    mock = urlsplit(base_url)
    if mock.scheme == "http" and mock.hostname and mock.port:  # (it connects without TLS: a plain-HTTP mock)
        _patch_http_client((mock.hostname, mock.port), setattr)
        patched += ["http.client", "urllib"]
    return patched


def _patch_aiohttp(base_url: str, setattr: SetAttr) -> None:
    import aiohttp
    import multidict

    request = aiohttp.ClientSession._request

    async def request_to_mock(self: aiohttp.ClientSession, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        url = str(self._build_url(str_or_url))
        target = redirected(url, base_url)
        if target is not None:
            headers = multidict.CIMultiDict(kwargs.get("headers") or {})
            headers["Host"] = urlsplit(url).netloc
            kwargs["headers"], str_or_url = headers, target
        return await request(self, method, str_or_url, **kwargs)

    setattr(aiohttp.ClientSession, "_request", request_to_mock)


def _patch_http_client(address: tuple[str, int], setattr: SetAttr) -> None:

    def connect_to_mock(connection: http.client.HTTPConnection) -> bool:
        """Connect ``connection`` to the mock instead, when it is for an LWA host (no TLS: the mock has none)."""
        if not is_lwa_host(connection.host):
            return False
        source = getattr(connection, "source_address", None)
        connection.sock = socket.create_connection(address, connection.timeout, source)
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True

    connect, connect_tls = http.client.HTTPConnection.connect, http.client.HTTPSConnection.connect

    def plain(self: http.client.HTTPConnection) -> None:
        if not connect_to_mock(self):
            connect(self)

    def tls(self: http.client.HTTPSConnection) -> None:
        if not connect_to_mock(self):
            connect_tls(self)

    setattr(http.client.HTTPConnection, "connect", plain)
    setattr(http.client.HTTPSConnection, "connect", tls)
