"""A stand-in for Amazon's "Login with Amazon SDK for JavaScript" (docs/contract.md N14), and the relay page
its popup returns to.

``GET /sdk/{na,eu,fe}/login1.js`` serves ``login1.js`` (beside this module), told where to send the browser:

- loaded from the mock's own URL, every region's sign-in and API requests go to that same URL;
- loaded through the proxy from ``https://assets.loginwithamazon.com/sdk/…/login1.js`` (Amazon's own URL),
  they go to Amazon's hosts for the region (``www.amazon.com`` and ``api.amazon.com``; ``eu.account.amazon.com``
  and ``api.amazon.co.uk``; ``apac.account.amazon.com`` and ``api.amazon.co.jp``: N18, the regional hosts),
  which the proxy sends to the mock in turn.

``GET /ap/oa/popup`` (:data:`~pytest_lwa.grants.popup.RELAY_PATH`) is where ``/ap/oa`` sends a popup's
answer: a page that hands the answer's parameters to the page that opened the popup, at the origin of the
page its ``uri`` parameter names and only there, then closes. What the SDK does with it is in docs/guide.md.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Final
from urllib.parse import urlsplit

from . import errors
from .amazon_hosts import PROXY_HOSTS
from .grants.popup import RELAY_PATH, page_origin
from .wire import HTML_HEADERS, JSON_HEADERS, Answer, LwaRequest, base_url

__all__ = ["REGIONS", "relay_page", "script"]

#: each region of the SDK's URL, and the sign-in and API hosts it uses through the proxy
REGIONS: Final = {
    "na": ("www.amazon.com", "api.amazon.com"),
    "eu": ("eu.account.amazon.com", "api.amazon.co.uk"),
    "fe": ("apac.account.amazon.com", "api.amazon.co.jp"),
}
#: what ``login1.js`` has in place of its configuration
_MARKER: Final = "/*LWA-CONFIG*/ null"
#: the answer parameters the relay page hands on
_ANSWER: Final = ("code", "scope", "state", "error", "error_description", "error_uri")
_SOURCE: Final = resources.files(__package__).joinpath("login1.js").read_text(encoding="utf-8")
assert _MARKER in _SOURCE


def _json(value: object) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element and a JavaScript string."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def script(request: LwaRequest, region: str) -> Answer:
    """``login1.js`` for ``region``, sending the browser to the mock's URL as the request reached it or,
    reached at Amazon's own host through the proxy, to Amazon's hosts for each region."""
    base = base_url(request)
    region = region.lower()  # the path in any case, as every path of the mock's
    if region not in REGIONS:
        raise errors.NOT_FOUND(reason=f"the SDK is served for the regions {', '.join(REGIONS)}, not {region!r}")
    proxied = urlsplit(base).hostname in PROXY_HOSTS
    hosts = {
        key: {
            "signin": f"https://{signin}" if proxied else base,
            "api": f"https://{api}" if proxied else base,
        }
        for key, (signin, api) in REGIONS.items()
    }
    config = {"region": region, "hosts": hosts, "relay": RELAY_PATH}
    body = _SOURCE.replace(_MARKER, _json(config)).encode()
    headers = [("Content-Type", "text/javascript;charset=UTF-8"), *JSON_HEADERS[1:]]
    return Answer(200, body, headers, None)


def relay_page(request: LwaRequest) -> Answer:
    """The page a popup's ``/ap/oa`` answer lands on: it posts the answer to the window that opened the popup,
    at the origin of the page its ``uri`` names, and closes itself."""
    query = request.args
    origin = page_origin(query.get("uri", ""))
    carried = {name: query[name] for name in _ANSWER if name in query}
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Amazon.com: Login with Amazon</title></head>
<body><h1 id="lwa-relay">Signing you in…</h1>
<script>
(function () {{
  var origin = {_json(origin)}, answer = {_json(carried)};
  if (origin && window.opener) {{
    window.opener.postMessage({{type: "lwa-authorize", answer: answer}}, origin);
    window.close();
  }} else {{
    document.getElementById("lwa-relay").textContent =
      "This window was not opened by the Login with Amazon SDK: close it and sign in again.";
  }}
}})();
</script></body></html>
"""
    answer = Answer(200, body.encode(), list(HTML_HEADERS), None)
    if not origin:
        answer.reason = f"the popup relay's uri parameter {query.get('uri')!r} names no web page"
    return answer
