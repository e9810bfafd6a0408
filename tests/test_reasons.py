"""Every rejection is explained: the request log says why, in plain words, with what was expected.

The HTTP answer stays exactly Amazon's; the reason shows in ``RecordedRequest.reason``, its ``describe()``
(so the access log and ``assert_token_requests``), ``/_lwa/requests``, and a failing test's report.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from helpers import token_request

from pytest_lwa import Client, LwaServer, pkce_challenge

APPSTORE = "appstore::apps:readwrite"
REDIRECT = "https://app.example.com/cb"
VERIFIER = "v" * 43
CI = "amzn1.application-oa2-client.ci"
CI_SECRET = "amzn1.oa2-cs.v1.ci-secret"
NOBODY = "amzn1.application-oa2-client.nobody"
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass
class Rejection:
    """A request to send (built from the server and its client ``ci``) and the reason it must get."""

    send: Callable[[LwaServer, Client], requests.Response]
    status: int
    reason: str
    grants: tuple[str, ...] = ("client_credentials", "refresh_token", "authorization_code", "device_code")
    settings: dict[str, Any] = field(default_factory=dict)


def token(**form: str) -> Callable[[LwaServer, Client], requests.Response]:
    """A token request: ``form`` fields, where ``"{id}"``/``"{secret}"`` stand for the client's."""

    def send(server: LwaServer, client: Client) -> requests.Response:
        fields = {k: v.format(id=client.client_id, secret=client.client_secret) for k, v in form.items()}
        return token_request(server, None, None, **fields)

    return send


def raw(
    method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Callable[[LwaServer, Client], requests.Response]:
    def send(server: LwaServer, client: Client) -> requests.Response:
        return requests.request(method, server.url + path, data=body, headers=headers or {}, timeout=5,
                                allow_redirects=False)  # fmt: skip

    return send


def with_setup(
    setup: Callable[[LwaServer, Client], dict[str, str]], **form: str
) -> Callable[[LwaServer, Client], requests.Response]:
    """A token request whose ``{name}`` placeholders ``setup`` fills (after preparing the server)."""

    def send(server: LwaServer, client: Client) -> requests.Response:
        values = {"id": client.client_id, "secret": client.client_secret, **setup(server, client)}
        return requests.post(server.token_url, data={k: v.format(**values) for k, v in form.items()}, timeout=5)

    return send


def authorize(**query: str) -> Callable[[LwaServer, Client], requests.Response]:
    def send(server: LwaServer, client: Client) -> requests.Response:
        params = {"client_id": client.client_id, "response_type": "code", "scope": "profile", **query}
        return requests.get(server.url + "/ap/oa", params=params, allow_redirects=False, timeout=5)

    return send


def codepair(**form: str) -> Callable[[LwaServer, Client], requests.Response]:
    def send(server: LwaServer, client: Client) -> requests.Response:
        fields = {"response_type": "device_code", "client_id": client.client_id, "scope": "profile", **form}
        return requests.post(server.url + "/auth/o2/create/codepair", data=fields, timeout=5)

    return send


def device(state: str) -> Callable[[LwaServer, Client], dict[str, str]]:
    def setup(server: LwaServer, client: Client) -> dict[str, str]:
        pair = requests.post(
            server.url + "/auth/o2/create/codepair",
            data={"response_type": "device_code", "client_id": client.client_id, "scope": "profile"},
            timeout=5,
        ).json()
        if state == "denied":
            server.deny_device(pair["user_code"])
        if state == "polled":
            requests.post(server.token_url, data={"grant_type": "device_code", "device_code": pair["device_code"],
                                                  "user_code": pair["user_code"]}, timeout=5)  # fmt: skip
        return {"device_code": pair["device_code"], "user_code": pair["user_code"]}

    return setup


def code(**options: Any) -> Callable[[LwaServer, Client], dict[str, str]]:
    def setup(server: LwaServer, client: Client) -> dict[str, str]:
        owner = server.add_client("amzn1.application-oa2-client.other") if options.pop("other", False) else client
        return {"code": server.issue_authorization_code(owner, redirect_uri=REDIRECT, **options)}

    return setup


def refresh(kind: str) -> Callable[[LwaServer, Client], dict[str, str]]:
    def setup(server: LwaServer, client: Client) -> dict[str, str]:
        if kind == "other":
            return {"token": server.issue_refresh_token(server.add_client("amzn1.application-oa2-client.other"))}
        if kind == "access":
            form = {"grant_type": "client_credentials", "scope": APPSTORE}
            answer = requests.post(server.token_url, data=form, auth=(client.client_id, client.client_secret))
            return {"token": answer.json()["access_token"]}
        issued = server.issue_refresh_token(client)
        server.revoke(issued)
        return {"token": issued}

    return setup


def retired(server: LwaServer, client: Client) -> dict[str, str]:
    server.rotate_secret(client)
    server.retire_secret(client)
    return {}


def basic(header: str) -> Callable[[LwaServer, Client], requests.Response]:
    def send(server: LwaServer, client: Client) -> requests.Response:
        value = header.format(ci=base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode())
        form = {"grant_type": "client_credentials", "scope": APPSTORE, "client_id": "amzn1.application-oa2-client.x"}
        return requests.post(server.token_url, data=form, headers={"Authorization": value}, timeout=5)

    return send


CC = {"grant_type": "client_credentials", "scope": APPSTORE, "client_id": "{id}", "client_secret": "{secret}"}
#: a refresh with the token a setup chose
REFRESH_WITH = {
    "grant_type": "refresh_token",
    "refresh_token": "{token}",
    "client_id": "{id}",
    "client_secret": "{secret}",
}
NOT_REGISTERED = (
    f"client_id {NOBODY!r} is not registered (registered: {CI!r}); register it with add_client(), the lwa marker's"
    " clients=, or serve --client"
)
ALL_GRANTS = "'client_credentials', 'refresh_token', 'authorization_code', 'device_code'"
SCOPES = f"{APPSTORE!r}"

REJECTIONS: dict[str, Rejection] = {
    # client authentication
    "unknown client": Rejection(token(**{**CC, "client_id": NOBODY}), 401, NOT_REGISTERED),
    "wrong secret": Rejection(
        token(**{**CC, "client_secret": "amzn1.oa2-cs.v1.wrong"}),
        401,
        f"the client_secret sent is not client {CI!r}'s secret (nor a previous one rotate_secret() kept); use the"
        " client_secret add_client() returned",
    ),
    "no secret": Rejection(
        token(grant_type="client_credentials", scope=APPSTORE, client_id="{id}"),
        401,
        f"no client_secret was sent, and client {CI!r} must send one here (only a device poll, a PKCE code and a"
        " device's refresh token may leave it out)",
    ),
    "retired secret": Rejection(
        with_setup(retired, **CC), 401, f"the client_secret sent is one retire_secret() retired for client {CI!r}"
    ),
    "malformed Basic header": Rejection(
        basic("Basic !!!"), 401, "the Authorization: Basic header is not base64 of client_id:client_secret"
    ),
    "Basic and body disagree": Rejection(
        basic("Basic {ci}"), 401, "the HTTP Basic header and the body's client_id disagree; send the same client or one"
    ),
    "client not allowed the grant": Rejection(
        token(**CC),
        400,
        f"client {CI!r} may not use client_credentials (its grants: 'refresh_token'); add_client(grants=[...])"
        " allows it",
        grants=("refresh_token",),
    ),
    # grant type, parameters, body
    "no grant_type": Rejection(
        token(client_id="{id}", client_secret="{secret}"),
        400,
        "no grant_type was sent; it must be one of client_credentials, refresh_token, authorization_code,"
        " device_code (case matters)",
    ),
    "unknown grant_type": Rejection(
        token(**{**CC, "grant_type": "Client_Credentials"}),
        400,
        "grant_type 'Client_Credentials' is not one of client_credentials, refresh_token, authorization_code,"
        " device_code (case matters)",
    ),
    "no scope": Rejection(
        token(grant_type="client_credentials", client_id="{id}", client_secret="{secret}"),
        400,
        "grant_type client_credentials needs scope; none was sent",
    ),
    "no client_id": Rejection(
        token(grant_type="client_credentials", scope=APPSTORE),
        400,
        "grant_type client_credentials needs client_id (or an HTTP Basic header); none was sent",
    ),
    "scope with a typo": Rejection(
        token(**{**CC, "scope": "appstore:apps:readwrite"}),
        400,
        f"scope 'appstore:apps:readwrite' (did you mean {APPSTORE!r}?) is not registered for client {CI!r} (its"
        f" scopes: {SCOPES}); add_client(scopes=[...]) registers scopes",
    ),
    "blank scope": Rejection(token(**{**CC, "scope": "  "}), 400, "the scope is blank"),
    "unsupported content type": Rejection(
        raw("POST", "/auth/o2/token", b"grant_type=client_credentials", {"Content-Type": "text/plain"}),
        400,
        "Content-Type 'text/plain' is not application/x-www-form-urlencoded or application/json",
    ),
    "JSON refused": Rejection(
        raw("POST", "/auth/o2/token", b"{}", {"Content-Type": "application/json"}),
        400,
        "Content-Type 'application/json' is not application/x-www-form-urlencoded (json_body is off)",
        settings={"json_body": False},
    ),
    "a parameter twice": Rejection(
        raw("POST", "/auth/o2/token", b"grant_type=a&scope=x&grant_type=b", {"Content-Type": FORM_TYPE}),
        400,
        "grant_type given more than once",
    ),
    "not UTF-8": Rejection(
        raw("POST", "/auth/o2/token", b"grant_type=%ff", {"Content-Type": FORM_TYPE}),
        400,
        "the form is not UTF-8 (raw or percent-encoded), or has over 100 fields",
    ),
    "JSON that does not parse": Rejection(
        raw("POST", "/auth/o2/token", b"{nope", {"Content-Type": "application/json"}),
        400,
        "the JSON body cannot be parsed",
    ),
    "JSON that is no object": Rejection(
        raw("POST", "/auth/o2/token", b"[]", {"Content-Type": "application/json"}),
        400,
        "the JSON body is not an object",
    ),
    "JSON number": Rejection(
        raw("POST", "/auth/o2/token", b'{"grant_type": 1}', {"Content-Type": "application/json"}),
        400,
        "JSON value(s) of grant_type not a string (nor null)",
    ),
    "body too large": Rejection(
        raw("POST", "/auth/o2/token", b"a" * 70_000, {"Content-Type": FORM_TYPE}), 413, "the body is over 64 KiB"
    ),
    # refresh tokens
    "unknown refresh token": Rejection(
        token(grant_type="refresh_token", refresh_token="Atzr|IwEBIbogus", client_id="{id}", client_secret="{secret}"),
        400,
        "this server never issued that refresh token (or issued it before the last reset); get one from"
        " issue_refresh_token() or a grant",
    ),
    "revoked refresh token": Rejection(
        with_setup(refresh("revoked"), **REFRESH_WITH),
        400,
        "the refresh token was revoked (revoke(), or rotated away by a refresh with rotate_refresh_tokens)",
    ),
    "another client's refresh token": Rejection(
        with_setup(refresh("other"), **REFRESH_WITH),
        400,
        f"the refresh token was issued to client 'amzn1.application-oa2-client.other', not {CI!r}",
    ),
    "an access token as refresh token": Rejection(
        with_setup(refresh("access"), **REFRESH_WITH),
        400,
        "that is an access token (Atc|…), not a refresh token (Atzr|…)",
    ),
    # authorization codes
    "unknown code": Rejection(
        token(grant_type="authorization_code", code="nope", client_id="{id}", client_secret="{secret}"),
        400,
        "the code is unknown, used or expired (codes work once, for 300 s of the server's clock)",
    ),
    "another client's code": Rejection(
        with_setup(
            code(other=True),
            grant_type="authorization_code",
            code="{code}",
            redirect_uri=REDIRECT,
            client_id="{id}",
            client_secret="{secret}",
        ),
        400,
        "the code was issued to client 'amzn1.application-oa2-client.other'",
    ),
    "another redirect_uri": Rejection(
        with_setup(
            code(),
            grant_type="authorization_code",
            code="{code}",
            redirect_uri="https://elsewhere/cb",
            client_id="{id}",
            client_secret="{secret}",
        ),
        400,
        f"redirect_uri 'https://elsewhere/cb' is not the authorize request's {REDIRECT!r}",
    ),
    "no code_verifier": Rejection(
        with_setup(
            code(code_challenge=pkce_challenge(VERIFIER)),
            grant_type="authorization_code",
            code="{code}",
            redirect_uri=REDIRECT,
            client_id="{id}",
        ),
        400,
        "the code has a PKCE challenge and the code_verifier is missing or not 43-128 of A-Z a-z 0-9 - . _ ~",
    ),
    "wrong code_verifier": Rejection(
        with_setup(
            code(code_challenge=pkce_challenge(VERIFIER)),
            grant_type="authorization_code",
            code="{code}",
            redirect_uri=REDIRECT,
            client_id="{id}",
            code_verifier="w" * 43,
        ),
        400,
        "the code_verifier does not match the code_challenge (S256)",
    ),
    # devices
    "unknown device code": Rejection(
        token(grant_type="device_code", device_code="nope", user_code="ABCDEF"),
        400,
        "the device_code is unknown, used, expired (600 s of the server's clock) or from before a reset",
    ),
    "wrong user_code": Rejection(
        with_setup(device("pending"), grant_type="device_code", device_code="{device_code}", user_code="ZZZZZZ"),
        400,
        "user_code 'ZZZZZZ' is not the pair's",
    ),
    "not yet approved": Rejection(
        with_setup(device("pending"), grant_type="device_code", device_code="{device_code}", user_code="{user_code}"),
        400,
        "the user has not approved user_code {user_code} yet: approve_device() approves it",
    ),
    "polled too soon": Rejection(
        with_setup(device("polled"), grant_type="device_code", device_code="{device_code}", user_code="{user_code}"),
        400,
        "polled 0 s after the last poll, under the 30 s interval (enforce_poll_interval is on)",
        settings={"enforce_poll_interval": True},
    ),
    "device denied": Rejection(
        with_setup(device("denied"), grant_type="device_code", device_code="{device_code}", user_code="{user_code}"),
        400,
        "the user denied user_code {user_code}: deny_device()",
    ),
    "codepair for an unknown client": Rejection(codepair(client_id=NOBODY), 400, NOT_REGISTERED),
    "codepair with a wrong response_type": Rejection(
        codepair(response_type="code"),
        400,
        "response_type is 'code'; the codepair endpoint takes 'device_code'",
    ),
    "codepair with a scope not the client's": Rejection(
        codepair(scope="profil"),
        400,
        f"scope 'profil' (did you mean 'profile'?) is not registered for client {CI!r}, nor a user scope (its scopes:"
        f" {SCOPES}); add_client(scopes=[...]) registers scopes",
    ),
    "codepair for a client without the grant": Rejection(
        codepair(),
        400,
        f"client {CI!r} may not use device_code (its grants: 'client_credentials'); add_client(grants=[...]) allows it",
        grants=("client_credentials",),
    ),
    # the browser step (redirected errors too)
    "authorize an unknown client": Rejection(authorize(client_id=NOBODY), 400, NOT_REGISTERED),
    "authorize to an unregistered redirect_uri": Rejection(
        authorize(redirect_uri="https://elsewhere/cb"),
        400,
        f"redirect_uri 'https://elsewhere/cb' is not registered for client {CI!r} (registered: {REDIRECT!r});"
        " add_client(redirect_uris=[...]) registers it",
    ),
    "authorize with a scope typo": Rejection(
        authorize(scope="profle"),
        302,
        f"scope 'profle' (did you mean 'profile'?) is not registered for client {CI!r}, nor a user scope (its scopes:"
        f" {SCOPES}); add_client(scopes=[...]) registers scopes",
    ),
    "authorize with a wrong response_type": Rejection(
        authorize(response_type="token"), 302, "response_type is 'token'; /ap/oa takes 'code'"
    ),
    "authorize with a bad challenge method": Rejection(
        authorize(code_challenge="x" * 43, code_challenge_method="S512"),
        302,
        "code_challenge_method 'S512' is not S256 or plain",
    ),
    "consent refused": Rejection(
        authorize(state="s"), 302, "the user {default_user} cancelled: set_consent(granted=False)"
    ),
    # tokeninfo, profile, routes
    "tokeninfo with an unknown token": Rejection(
        raw("GET", "/auth/o2/tokeninfo?access_token=Atza%7Cnope"),
        400,
        "the token is invalid: not an access token this server issued (or issued before a reset)",
    ),
    "tokeninfo without a token": Rejection(
        raw("GET", "/auth/o2/tokeninfo"),
        400,
        "no access_token query parameter and no x-amz-access-token header",
    ),
    "profile without a token": Rejection(
        raw("GET", "/user/profile"),
        400,
        "no Authorization: Bearer or x-amz-access-token header and no access_token parameter",
    ),
    "unknown path": Rejection(
        raw("GET", "/auth/o2/nothing"),
        404,
        "/auth/o2/nothing is none of the mock's paths (/auth/o2/token, /auth/o2/tokeninfo, /auth/o2/create/codepair,"
        " /user/profile, /ap/oa, /ap/oa/consent, /apps/authorize/consent, /apps/authorize/confirm/<application_id>,"
        " /selling-partner-appstore/dp/<application_id>, /applications/2023-11-30/clientSecret,"
        " /sdk/<region>/login1.js, /ap/oa/popup)",
    ),
    "wrong method": Rejection(raw("GET", "/auth/o2/token"), 405, "/auth/o2/token takes POST, not GET"),
}


def prepare(server: LwaServer, case: Rejection) -> Client:
    server.configure(**case.settings)
    return server.add_client(CI, CI_SECRET, scopes=[APPSTORE], grants=case.grants, redirect_uris=[REDIRECT])


@pytest.mark.parametrize("name", REJECTIONS)
def test_the_request_log_says_why(lwa_server: LwaServer, name: str) -> None:
    case = REJECTIONS[name]
    if name == "consent refused":
        lwa_server.set_consent(granted=False)
    answer = case.send(lwa_server, prepare(lwa_server, case))
    assert answer.status_code == case.status, answer.text
    record = lwa_server.request_log[-1]
    pairs = [log.params.get("user_code", "") for log in lwa_server.request_log]
    expected = case.reason.format(user_code=pairs[-1], default_user=lwa_server.default_user.user_id)
    assert record.reason == expected
    assert record.describe().endswith(f": {expected}")
    assert expected not in answer.text  # the answer stays Amazon's


def test_a_fault_and_a_success_carry_no_reason(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(scopes=[APPSTORE])
    form = {"grant_type": "client_credentials", "scope": APPSTORE}
    lwa_server.fail_next("temporarily_unavailable")
    requests.post(lwa_server.token_url, data=form, auth=(client.client_id, client.client_secret), timeout=5)
    requests.post(lwa_server.token_url, data=form, auth=(client.client_id, client.client_secret), timeout=5)
    assert [(r.status, r.reason) for r in lwa_server.request_log] == [(503, None), (200, None)]
    assert lwa_server.request_log[0].describe().endswith("(fault: 503 temporarily_unavailable on /auth/o2/token,"
                                                          " fired 1 of 1)")  # fmt: skip
    # the client named by HTTP Basic shows in the line too
    assert f"client_id={client.client_id} auth=basic -> 200" in lwa_server.request_log[1].describe()


def test_the_mock_failing_says_so(lwa_server: LwaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(lwa_server.authority, "token", broken)
    requests.post(lwa_server.token_url, data={"grant_type": "client_credentials"}, timeout=5)
    failed = "the mock itself failed: RuntimeError('boom') (kept in server.errors)"
    assert lwa_server.request_log[-1].reason == failed
    lwa_server.reset()  # the failure was the point: the teardown check need not report it


def test_assert_token_requests_shows_the_reasons(lwa_server: LwaServer) -> None:
    prepare(lwa_server, REJECTIONS["wrong secret"])
    REJECTIONS["wrong secret"].send(lwa_server, lwa_server.clients[0])
    with pytest.raises(AssertionError) as failure:
        lwa_server.assert_token_requests(status=200)
    assert f"-> 401 invalid_client: the client_secret sent is not client {CI!r}'s secret" in str(failure.value)


REPORTED = f"""
import requests

def test_wrong_secret(lwa_server):
    lwa_server.add_client("{CI}", "{CI_SECRET}", scopes=["{APPSTORE}"])
    form = {{"grant_type": "client_credentials", "scope": "appstore:apps:readwrite", "client_id": "{CI}",
            "client_secret": "{CI_SECRET}"}}
    r = requests.post(lwa_server.token_url, data=form)
    assert r.status_code == 200

def test_passes(lwa_server):
    requests.get(lwa_server.url + "/nowhere")
"""


def test_a_failing_tests_report_shows_the_requests_and_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REPORTED)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*- lwa_server requests -*",
            "1. POST /auth/o2/token grant_type=client_credentials scope=appstore:apps:readwrite"
            f" client_id={CI} client_secret=*** auth=body -> 400 invalid_scope: scope 'appstore:apps:readwrite'"
            f" (did you mean {APPSTORE!r}?) is not registered for client {CI!r} (its scopes: {SCOPES});"
            " add_client(scopes=[...]) registers scopes",
        ]
    )
    assert result.stdout.str().count("lwa_server requests") == 1  # not for the passing test


MANY_REQUESTS = """
import requests

def test_many(lwa_server):
    for n in range(1, 61):
        requests.get(lwa_server.url + "/nowhere", params={"n": n})
    assert False
"""


def test_a_failing_tests_report_shows_its_last_50_requests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MANY_REQUESTS)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "(the last 50 of 60; all of them are in lwa_server.request_log)" in output
    shown = re.findall(r"^(\d+)\. GET /nowhere n=(\d+) -> 404 ", output, re.MULTILINE)
    assert shown == [(str(n), str(n)) for n in range(11, 61)]


def test_the_admin_api_and_the_access_log_say_why(lwa_server: LwaServer, caplog: pytest.LogCaptureFixture) -> None:
    from werkzeug.test import Client as WsgiClient

    from pytest_lwa.admin import AdminApp

    case = REJECTIONS["unknown client"]
    with caplog.at_level("INFO", logger="pytest_lwa.access"):
        case.send(lwa_server, prepare(lwa_server, case))
    assert caplog.records[-1].getMessage().endswith(f": {NOT_REGISTERED}")
    admin = WsgiClient(AdminApp(lwa_server.app, lwa_server, token=None, enabled=True, on_reset=lwa_server.reset))
    logged = json.loads(admin.get("/_lwa/requests").get_data())["requests"]
    assert logged[-1]["reason"] == NOT_REGISTERED
