"""A small website with a "Login with Amazon" button, built on Amazon's JavaScript SDK as Amazon's pages show.

- ``/`` is the button page: the ``amazon-root`` element, ``window.onAmazonLoginReady`` calling
  ``setClientId``, the SDK loaded asynchronously from its URL, and a button whose click calls
  ``amazon.Login.authorize(options, '<site>/handle_login')`` for ``profile`` and a voluntary ``postal_code``
  (``scope_data``) with ``response_type = 'code'`` (the server-side option; ``?popup=false`` redirects the
  whole window instead of opening a popup, ``?response_type=token`` asks for the implicit grant, which Amazon
  ended in 2021). A random ``state`` goes with it, in a cookie the server checks.
- ``/handle_login`` is the site's server: it checks ``state``, exchanges the code with the client secret, reads
  the profile and greets the customer, showing the ``scope`` granted.
- ``/spa`` is a single-page app: ``authorize({pkce: true})``, then ``retrieveToken`` and ``retrieveProfile``,
  all in the browser.

Nothing in it knows about the mock: it is given the SDK's URL and the LWA API's, as a deployment is given
Amazon's (``https://assets.loginwithamazon.com/sdk/na/login1.js``, ``https://api.amazon.com``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, request
from markupsafe import escape
from werkzeug.serving import make_server


@dataclass
class Site:
    """The site's registration with Amazon, and where Amazon is."""

    client_id: str
    client_secret: str
    sdk_url: str  # e.g. https://assets.loginwithamazon.com/sdk/na/login1.js
    api: str  # e.g. https://api.amazon.com
    http: requests.Session = field(default_factory=requests.Session)  # the server's client for the API
    #: the profiles of the customers who signed in, by user id: what the site stores
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)


def _page(title: str, body: str) -> str:
    head = f"<head><meta charset='utf-8'><title>{title}</title></head>"
    return f"<!DOCTYPE html><html lang='en'>{head}<body>{body}</body></html>"


def _sdk(site: Site) -> str:
    """Amazon's snippet: the amazon-root element, onAmazonLoginReady and the SDK loaded asynchronously."""
    return f"""<div id="amazon-root"></div>
<script type="text/javascript">
  window.onAmazonLoginReady = function() {{
    amazon.Login.setClientId({json.dumps(site.client_id)});
  }};
  (function(d) {{
    var a = d.createElement('script'); a.type = 'text/javascript';
    a.async = true; a.id = 'amazon-login-sdk';
    a.src = {json.dumps(site.sdk_url)};
    d.getElementById('amazon-root').appendChild(a);
  }})(document);
</script>"""


def create_app(site: Site) -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def button() -> str:
        popup = request.args.get("popup") != "false"
        response_type = request.args.get("response_type", "code")
        return _page(
            "Example shop",
            _sdk(site)
            + f"""<h1>Example shop</h1>
<a href="#" id="LoginWithAmazon">Login with Amazon</a>
<script type="text/javascript">
  document.getElementById('LoginWithAmazon').onclick = function() {{
    var state = Math.random().toString(36).slice(2);
    document.cookie = 'shop_state=' + state + '; path=/; SameSite=Lax';
    options = {{}};
    options.scope = 'profile postal_code';
    options.scope_data = {{'postal_code': {{'essential': false}}}};
    options.response_type = {json.dumps(response_type)};
    options.popup = {json.dumps(popup)};
    options.state = state;
    amazon.Login.authorize(options, location.origin + '/handle_login');
    return false;
  }};
</script>""",
        )

    @app.get("/handle_login")
    def handle_login() -> tuple[str, int] | str:
        if "error" in request.args:
            return _page("Not signed in", f"<h1>Not signed in: {escape(request.args['error'])}</h1>"), 400
        if not request.args.get("state") or request.args.get("state") != request.cookies.get("shop_state"):
            return _page("Not signed in", "<h1>Not signed in: the state does not match</h1>"), 400
        answer = site.http.post(
            site.api + "/auth/o2/token",
            data={
                "grant_type": "authorization_code",
                "code": request.args.get("code", ""),
                "redirect_uri": request.base_url,
                "client_id": site.client_id,
                "client_secret": site.client_secret,
            },
            timeout=10,
        )
        if answer.status_code != 200:
            return _page("Not signed in", f"<h1>Not signed in: {escape(answer.json()['error'])}</h1>"), 400
        token = answer.json()["access_token"]
        profile = site.http.get(site.api + "/user/profile", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        customer = profile.json()
        site.customers[customer["user_id"]] = customer
        return _page(
            "Signed in",
            f"<h1>Hello {escape(customer['name'])}</h1><p id='scope'>{escape(request.args.get('scope', ''))}</p>",
        )

    @app.get("/spa")
    def single_page_app() -> str:
        return _page(
            "Example app",
            _sdk(site)
            + """<h1>Example app</h1>
<button id="LoginWithAmazon" type="button">Login with Amazon</button>
<p id="status" role="status"></p>
<script type="text/javascript">
  function show(text) { document.getElementById('status').textContent = text; }
  document.getElementById('LoginWithAmazon').onclick = function() {
    amazon.Login.authorize({scope: 'profile', pkce: true}, function(response) {
      if (response.error) { show('Not signed in: ' + response.error); return; }
      amazon.Login.retrieveToken(response.code, function(token) {
        if (token.error) { show('No token: ' + token.error); return; }
        amazon.Login.retrieveProfile(token.access_token, function(answer) {
          show(answer.success ? 'Hello ' + answer.profile.Name : 'No profile: ' + answer.error);
        });
      });
    });
  };
</script>""",
        )

    return app


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Run ``app`` on a free local port for the length of a ``with`` block; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
