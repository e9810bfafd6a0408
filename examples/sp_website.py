"""A small Flask website of a Selling Partner API application, as its developers would write it.

It plays the application's part of Amazon's website authorization workflow: an Authorize button that sends
the seller to Seller Central with a fresh ``state``, the log-in URI that signs the seller in and sends them
back to Amazon's callback, and the redirect URI whose handler checks ``state`` and exchanges
``spapi_oauth_code`` for a refresh token. It also has a "Login with Amazon" button (``/ap/oa``, code with
PKCE). Nothing in it knows about the mock: it is given Seller Central's and LWA's addresses, as a real
deployment is given Amazon's.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, abort, redirect, request, session, url_for
from markupsafe import escape
from werkzeug.serving import make_server


@dataclass
class Amazon:
    """Where Amazon is, and the application's registration there."""

    seller_central: str  # e.g. https://sellercentral.amazon.com
    lwa: str  # e.g. https://api.amazon.com (the token endpoint) and https://www.amazon.com (/ap/oa)
    application_id: str
    client_id: str
    client_secret: str
    beta: bool = False  # a draft application is authorized with version=beta
    #: refresh tokens by selling partner id, and Login with Amazon users: what the app stores
    sellers: dict[str, str] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)


def _page(title: str, body: str) -> str:
    return f"<!DOCTYPE html><html lang='en'><title>{title}</title><main>{body}</main></html>"


def create_app(amazon: Amazon) -> Flask:
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(16)

    def version() -> dict[str, str]:
        return {"version": "beta"} if amazon.beta else {}

    @app.get("/")
    def home() -> str:
        return _page(
            "Example seller tool",
            "<h1>Example seller tool</h1>"
            f"<p><a id='authorize' href='{url_for('authorize')}'>Authorize with Amazon</a></p>"
            f"<p><a id='lwa' href='{url_for('login_with_amazon')}'>Login with Amazon</a></p>",
        )

    @app.get("/authorize")
    def authorize() -> Any:
        session["state"] = secrets.token_urlsafe(16)
        query = urlencode({"application_id": amazon.application_id, "state": session["state"], **version()})
        return redirect(f"{amazon.seller_central}/apps/authorize/consent?{query}")

    @app.get("/amazon/login")  # the log-in URI registered with the application
    def login() -> str:
        for name in ("amazon_callback_uri", "amazon_state", "selling_partner_id"):
            session[name] = request.args.get(name) or abort(400)
        return _page(
            "Sign in",
            "<h1>Sign in to Example seller tool</h1>"
            f"<p>Amazon account {escape(session['selling_partner_id'])}</p>"
            "<form method='post'><button id='sign-in' type='submit'>Sign in</button></form>",
        )

    @app.post("/amazon/login")
    def signed_in() -> Any:
        session["state"] = secrets.token_urlsafe(16)
        query = {
            "amazon_state": session["amazon_state"],
            "state": session["state"],
            "redirect_uri": url_for("callback", _external=True),
            **version(),
        }
        return redirect(f"{session['amazon_callback_uri']}?{urlencode(query)}")

    @app.get("/amazon/callback")  # the redirect URI
    def callback() -> Any:
        if not secrets.compare_digest(request.args.get("state", ""), session.pop("state", "")):
            abort(400, "state does not match")
        answer = requests.post(
            f"{amazon.lwa}/auth/o2/token",
            data={
                "grant_type": "authorization_code",
                "code": request.args["spapi_oauth_code"],
                "client_id": amazon.client_id,
                "client_secret": amazon.client_secret,
            },
            timeout=10,
        )
        if answer.status_code != 200:
            abort(502, f"Amazon refused the code: {answer.text}")
        seller = request.args["selling_partner_id"]
        amazon.sellers[seller] = answer.json()["refresh_token"]
        return _page("Connected", f"<h1 id='done'>Connected {escape(seller)}</h1>")

    @app.get("/lwa/login")
    def login_with_amazon() -> Any:
        session["verifier"] = secrets.token_urlsafe(48)
        session["state"] = secrets.token_urlsafe(16)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(session["verifier"].encode()).digest()).rstrip(b"=")
        query = {
            "client_id": amazon.client_id,
            "scope": "profile",
            "response_type": "code",
            "redirect_uri": url_for("lwa_callback", _external=True),
            "state": session["state"],
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
        return redirect(f"{amazon.lwa}/ap/oa?{urlencode(query)}")

    @app.get("/lwa/callback")
    def lwa_callback() -> Any:
        if not secrets.compare_digest(request.args.get("state", ""), session.pop("state", "")):
            abort(400, "state does not match")
        if "error" in request.args:
            return _page("Not signed in", f"<h1 id='done'>Not signed in: {escape(request.args['error'])}</h1>")
        form = {
            "grant_type": "authorization_code",
            "code": request.args["code"],
            "redirect_uri": url_for("lwa_callback", _external=True),
            "client_id": amazon.client_id,
            "code_verifier": session.pop("verifier"),
        }
        tokens = requests.post(f"{amazon.lwa}/auth/o2/token", data=form, timeout=10).json()
        profile = requests.get(
            f"{amazon.lwa}/user/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
        ).json()
        amazon.customers[profile["user_id"]] = profile
        return _page("Signed in", f"<h1 id='done'>Hello {escape(profile['name'])}</h1>")

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
