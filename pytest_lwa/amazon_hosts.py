"""Send requests for Amazon's LWA hosts to the mock, for clients that hard-code ``https://api.amazon.com``.

Covered: code that uses ``requests`` (any ``HTTPAdapter``, so ``requests.post`` and sessions) and
``httpx`` (``Client`` and ``AsyncClient`` with their default transports). Only requests for the LWA
hosts (``api.amazon.com``, ``.co.uk``, ``.co.jp``, ``.de``, and the Amazon Pay sandbox hosts
``api.sandbox.amazon.com``, ``.co.uk``, ``.de``: LWA-CONTRACT R13) and paths (``/auth/o2/…`` in any
case, ``/user/profile``) are redirected; every other request is left alone. Not covered: ``urllib``,
``http.client``, ``aiohttp``, and clients with a transport of their own.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = ["AMAZON_HOSTS", "PROXY_HOSTS", "patch_amazon_hosts", "redirected"]

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

#: the hosts ``LwaServer(proxy=True)`` serves through its proxy: the LWA API hosts, and the sign-in and
#: Seller and Vendor Central hosts the browser flows use
PROXY_HOSTS: Final = AMAZON_HOSTS | frozenset(
    {
        "www.amazon.com",
        "www.amazon.co.uk",
        "www.amazon.co.jp",
        "www.amazon.de",
        "sellercentral.amazon.com",
        "sellercentral-europe.amazon.com",
        "sellercentral.amazon.co.jp",
        "vendorcentral.amazon.com",
        "vendorcentral.amazon.co.uk",
        "vendorcentral.amazon.de",
        "vendorcentral.amazon.co.jp",
    }
)

SetAttr = Callable[[Any, str, Any], None]


def redirected(url: str, base_url: str) -> str | None:
    """Where a request for ``url`` goes instead (``base_url`` + path and query), or ``None`` to leave it."""
    parts = urlsplit(url)
    path = parts.path.lower()
    if parts.hostname not in AMAZON_HOSTS or not (path.startswith("/auth/o2/") or path == "/user/profile"):
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
    return patched
