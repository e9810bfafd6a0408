"""The JavaScript SDK's popup (docs/contract.md N14): where ``amazon.Login.authorize({popup: true}, …)`` has
``/ap/oa`` send its answer.

The SDK opens ``/ap/oa`` in a popup window with a ``redirect_uri`` on the sign-in host itself: the relay page
:data:`RELAY_PATH`, whose one query parameter, ``uri``, is the URL of the page that opened the popup (Amazon's
SDK sends an Amazon-hosted relay page the same way). A security profile allows that page by its origin, one
of its Allowed Origins, not by its Allowed Return URLs, so this is what ``/ap/oa`` checks: an origin that is
not one of the client's ``allowed_origins`` gets Amazon's error page for a site "not whitelisted". The relay
page hands the answer to the opening page, at that origin only (:mod:`pytest_lwa.sdk`).

A code sent to the relay is bound to no redirect URI: the page's server redeems it with or without one (the
reference does not say which redirect URI such a code carries; this is the mock's choice).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qs, urlsplit

__all__ = ["RELAY_PATH", "opener_origin", "page_origin"]

#: the relay page's path, on the host that serves ``/ap/oa``
RELAY_PATH: Final = "/ap/oa/popup"


def opener_origin(redirect_uri: str, relay: str | None) -> str | None:
    """When ``redirect_uri`` is ``relay`` (this host's relay page URL) with exactly one ``uri`` parameter, as the
    SDK sends it, the origin of the page that parameter names (``""`` if it names no web page); else ``None``."""
    if relay is None:
        return None
    try:
        parts = urlsplit(redirect_uri)
    except ValueError:  # a bracketed host that is no IPv6 address: no URL at all, so not the relay's
        return None
    if f"{parts.scheme}://{parts.netloc}{parts.path}".lower() != relay.lower() or parts.fragment:
        return None
    query = parse_qs(parts.query, keep_blank_values=True)
    if list(query) != ["uri"] or len(query["uri"]) != 1:
        return None
    return page_origin(query["uri"][0])


def page_origin(uri: str) -> str:
    """The origin of the web page at ``uri``, lower-cased (``""`` if ``uri`` is not an http(s) URL)."""
    try:
        parts = urlsplit(uri)
    except ValueError:  # a bracketed host that is no IPv6 address
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()
