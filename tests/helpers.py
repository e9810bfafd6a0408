"""What several test modules share: the exact error bodies, one way to send a token request, a wait for a server
process's ready file, and the examples' modules."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from pytest_lwa import Client, LwaServer

APPSTORE = "appstore::apps:readwrite"

INVALID_CLIENT = b'{"error_description":"Client authentication failed","error":"invalid_client"}'
INVALID_SCOPE = b'{"error_description":"The request has an invalid parameter : scope","error":"invalid_scope"}'
UNSUPPORTED_GRANT = (
    b'{"error_description":"The authorization grant type is not supported by the authorization server",'
    b'"error":"unsupported_grant_type"}'
)
UNSUPPORTED_CONTENT = (
    b'{"error_description":"The Content-Type is not supported by the authorization server","error":"invalid_request"}'
)
MALFORMED = b'{"error_description":"Malformed request","error":"invalid_request"}'
INVALID_TOKEN = b'{"error_description":"The request has an invalid parameter : access_token","error":"invalid_token"}'


def missing(name: str) -> bytes:
    return (
        b'{"error_description":"The request is missing a required parameter : '
        + name.encode()
        + b'","error":"invalid_request"}'
    )


def token_request(
    server: LwaServer | str,
    client: Client | None = None,
    grant_type: str | None = "client_credentials",
    /,
    *,
    session: requests.Session | None = None,
    headers: Mapping[str, str] | None = None,
    verify: str | bool = True,
    **fields: str | None,
) -> requests.Response:
    """POST a form to the token endpoint of ``server`` (a server, or a base URL): ``grant_type`` (``None``: none),
    ``scope=appstore::apps:readwrite`` for client credentials, the ``client``'s id and secret, then ``fields``,
    which override those; a field given as ``None`` is left out."""
    form: dict[str, str | None] = {"grant_type": grant_type}
    if grant_type == "client_credentials":
        form["scope"] = APPSTORE
    if client is not None:
        form["client_id"], form["client_secret"] = client.client_id, client.client_secret
    form.update(fields)
    url = server + "/auth/o2/token" if isinstance(server, str) else server.token_url
    data = {name: value for name, value in form.items() if value is not None}
    send = session.post if session is not None else requests.post
    return send(url, data=data, headers=dict(headers or {}), verify=verify, timeout=5)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends on ``sock`` until it closes the connection."""
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    return answer


def wait_for(path: Path, proc: subprocess.Popen[str] | None = None, limit: float = 15.0) -> dict[str, Any]:
    """The ready file's JSON, once the server has written it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists():
            return dict(json.loads(path.read_text()))
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"no ready file after {limit} s")


def example(name: str) -> ModuleType:
    """A module of the examples folder (a user's app there, say), imported by its path."""
    path = Path(__file__).parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while it runs
        spec.loader.exec_module(module)
    return module
