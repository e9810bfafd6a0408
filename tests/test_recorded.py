"""One test per recorded row of docs/contract.md: the request as it was recorded, the answer as Amazon gave it.

Each test sends what the recording shows and compares status, body (exact text, key order; shapes for
random values) and the recorded headers. Where a row was recorded in the modern body style, the test sets
it; the classic style stays the default.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers import token_request

from pytest_lwa import Client, LwaServer, pkce_challenge
from pytest_lwa.amazon_hosts import AMAZON_HOSTS, redirected

PANDA = "http://internal.amazon.com/coral/com.amazon.panda/"
REDIRECT = "https://app.example.com/callback"
NO_GRANT = "The authorization grant type is not supported by the authorization server"
REFRESH_GONE = (
    "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission."
)


@pytest.fixture
def app(lwa_server: LwaServer) -> Client:
    return lwa_server.add_client(redirect_uris=[REDIRECT])


def post(server: LwaServer, form: dict[str, str], headers: dict[str, str] | None = None) -> requests.Response:
    """The form as recorded, and nothing else."""
    return token_request(server, None, None, headers=headers, **form)


def assert_amazon_headers(r: requests.Response) -> None:
    """The headers of R1's recording, on every answer of the token endpoint."""
    headers = r.headers
    assert headers["Content-Type"] == "application/json;charset=UTF-8"
    assert headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    assert headers["Pragma"] == "no-cache"
    assert str(uuid.UUID(headers["x-amzn-RequestId"])) == headers["x-amzn-RequestId"]
    assert re.fullmatch(r"[A-Z0-9]{20}", headers["X-Amz-Rid"])
    parsedate_to_datetime(headers["X-Amz-Date"])
    assert headers["X-Amz-Date"].endswith(" GMT")
    assert headers["Vary"] == "Content-Type,Accept-Encoding,User-Agent"
    assert headers["Strict-Transport-Security"] == "max-age=47474747; includeSubDomains; preload"


def assert_modern(r: requests.Response, description: str, error: str) -> None:
    body = r.json()
    assert list(body) == ["error_index", "error_description", "error", "request_id"]
    assert (body["error_description"], body["error"]) == (description, error)
    assert re.fullmatch(r"[A-Za-z0-9_-]{262}==", body["error_index"])
    assert len(base64.urlsafe_b64decode(body["error_index"])) == 196
    assert body["request_id"] == r.headers["x-amzn-RequestId"]
    assert r.content == json.dumps(body, separators=(",", ":")).encode()


def classic(description: str, error: str) -> bytes:
    return json.dumps({"error_description": description, "error": error}, separators=(",", ":")).encode()


def test_R1_refresh_answer_and_its_headers(lwa_server: LwaServer, app: Client) -> None:
    refresh = lwa_server.issue_refresh_token(app, ["profile"])
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
    }
    r = post(lwa_server, form, headers={"Connection": "close"})
    assert r.status_code == 200
    assert_amazon_headers(r)
    assert "X-Amzn-Errortype" not in r.headers
    body = r.json()
    assert list(body) == ["access_token", "refresh_token", "token_type", "expires_in"]
    assert r.headers["Content-Length"] == "806"  # as recorded: the two tokens are 728 characters together
    assert len(body["access_token"]) + len(body["refresh_token"]) == 728


def test_R1_x_amz_date_is_the_server_clocks_time(lwa_server: LwaServer, app: Client) -> None:
    """Every answer's X-Amz-Date, API or browser, success or error, follows the server's clock, not the wall's."""
    lwa_server.clock.set(datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC))
    answers = [
        token_request(lwa_server, app, "refresh_token", refresh_token=lwa_server.issue_refresh_token(app)),
        token_request(lwa_server, app, "refresh_token", refresh_token="Atzr|nonsense"),
        authorize(lwa_server, client_id=app.client_id, scope="profile", response_type="code"),
    ]
    assert [(r.status_code, r.headers["X-Amz-Date"]) for r in answers] == [
        (200, "Mon, 03 Feb 2031 04:05:06 GMT"),
        (400, "Mon, 03 Feb 2031 04:05:06 GMT"),
        (302, "Mon, 03 Feb 2031 04:05:06 GMT"),
    ]
    lwa_server.clock.advance(3600 * 24 + 1.5)
    r = token_request(lwa_server, app, "refresh_token", refresh_token="Atzr|nonsense")
    assert r.headers["X-Amz-Date"] == "Tue, 04 Feb 2031 04:05:07 GMT"


def test_R2_no_grant_type_in_the_modern_style(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.configure(body_style="modern")
    r = post(lwa_server, {"client_id": app.client_id, "client_secret": app.client_secret})
    assert r.status_code == 400
    assert_amazon_headers(r)
    assert_modern(r, NO_GRANT, "unsupported_grant_type")
    assert r.headers["X-Amzn-Errortype"] == f"OA2UnsupportedGrantTypeException:{PANDA}"


@pytest.mark.parametrize("style", ["classic", "modern"])
def test_R3_authorization_code_grant_with_a_bad_code(lwa_server: LwaServer, app: Client, style: str) -> None:
    lwa_server.configure(body_style=style)
    form = {"grant_type": "authorization_code", "code": "ANdNAVhyhqirUelHGEHA", "redirect_uri": REDIRECT}
    r = post(lwa_server, {**form, "client_id": app.client_id, "client_secret": app.client_secret})
    assert r.status_code == 400
    description = "The request has an invalid grant parameter : code"
    if style == "modern":
        assert_modern(r, description, "invalid_grant")
    else:
        assert r.content == classic(description, "invalid_grant")


def test_R4_unknown_or_revoked_refresh_token(lwa_server: LwaServer, app: Client) -> None:
    revoked = lwa_server.issue_refresh_token(app)
    lwa_server.revoke(revoked)
    for token in ("Atzr|IwEBIunknown", revoked):
        form = {"grant_type": "refresh_token", "refresh_token": token}
        r = post(lwa_server, {**form, "client_id": app.client_id, "client_secret": app.client_secret})
        assert (r.status_code, r.content) == (400, classic(REFRESH_GONE, "invalid_grant"))


def test_R5_wrong_client_secret(lwa_server: LwaServer, app: Client) -> None:
    form = {"grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications"}
    r = post(lwa_server, {**form, "client_id": app.client_id, "client_secret": "amzn1.oa2-cs.v1.wrong"})
    assert (r.status_code, r.content) == (
        401,
        b'{"error_description":"Client authentication failed","error":"invalid_client"}',
    )
    assert r.headers["X-Amzn-Errortype"] == f"OA2InvalidClientException:{PANDA}"
    assert_amazon_headers(r)


def test_R6_client_credentials_with_an_unknown_scope(lwa_server: LwaServer, app: Client) -> None:
    form = {"grant_type": "client_credentials", "scope": "sellingpartnerapi::notification"}
    r = post(lwa_server, {**form, "client_id": app.client_id, "client_secret": app.client_secret})
    assert (r.status_code, r.content) == (400, classic("The request has an invalid parameter : scope", "invalid_scope"))


def authorize(server: LwaServer, **params: str) -> requests.Response:
    return requests.get(server.url + "/ap/oa", params=params, allow_redirects=False, timeout=5, headers=BROWSER)


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_R7_authorize_with_an_unknown_scope(lwa_server: LwaServer, app: Client) -> None:
    r = authorize(lwa_server, client_id=app.client_id, scope="profile nonsense", response_type="code",
                  redirect_uri=REDIRECT, state="xyz")  # fmt: skip
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert location.query == "error=invalid_scope&error_description=An+unknown+scope+was+requested&state=xyz"


def codepair(server: LwaServer, client_id: str, scope: str = "alexa:all") -> requests.Response:
    form = {"response_type": "device_code", "client_id": client_id, "scope": scope}
    return requests.post(server.url + "/auth/o2/create/codepair", data=form, timeout=5)


def test_R8_R9_R24_R25_a_device_as_amazons_device_sdk_runs_it(lwa_server: LwaServer) -> None:
    device = lwa_server.add_client(scopes=[])
    pair = codepair(lwa_server, device.client_id).json()
    poll = {"grant_type": "device_code", "device_code": pair["device_code"], "user_code": pair["user_code"]}
    pending = classic("The user has not yet approved the code pair", "authorization_pending")
    for _ in range(6):  # the SDK polls every ~5 s, without client_id; never slow_down
        r = post(lwa_server, poll)
        assert (r.status_code, r.content) == (400, pending)  # R24: status 400
        lwa_server.clock.advance(5)
    lwa_server.approve_device(pair["user_code"])
    tokens = post(lwa_server, poll).json()
    assert list(tokens) == ["access_token", "refresh_token", "token_type", "expires_in"]
    # R9: the refresh carries the client_id and no secret
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": device.client_id}
    for _ in range(2):
        r = post(lwa_server, refresh)
        assert r.status_code == 200, r.text
        assert r.json()["refresh_token"] == tokens["refresh_token"]  # R25: always there
    wrong = post(lwa_server, {**refresh, "client_secret": "amzn1.oa2-cs.v1.wrong"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")  # a secret sent must be right


def test_R9_a_confidential_clients_refresh_token_still_needs_its_secret(lwa_server: LwaServer, app: Client) -> None:
    refresh = {"grant_type": "refresh_token", "refresh_token": lwa_server.issue_refresh_token(app)}
    r = post(lwa_server, {**refresh, "client_id": app.client_id})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")


def test_N3_a_code_redeemed_without_a_secret_gets_no_refresh_token(lwa_server: LwaServer, app: Client) -> None:
    verifier = "v" * 43
    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT, "code_verifier": verifier}
    for secret in ({}, {"client_secret": app.client_secret}):
        code = lwa_server.issue_authorization_code(app, redirect_uri=REDIRECT, code_challenge=pkce_challenge(verifier))
        r = post(lwa_server, {**form, "code": code, "client_id": app.client_id, **secret})
        keys = (
            ["access_token", "token_type", "expires_in"]
            if not secret
            else ["access_token", "refresh_token", "token_type", "expires_in"]
        )
        assert (r.status_code, list(r.json())) == (200, keys)  # fmt: skip
        assert r.json()["access_token"].startswith("Atza|")
    refreshed = post(
        lwa_server,
        {"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"], "client_id": app.client_id},
    )
    assert (refreshed.status_code, refreshed.json()["error"]) == (401, "invalid_client")  # a secret was sent: needs it


def test_R10_codepair_with_a_malformed_client_id(lwa_server: LwaServer) -> None:
    r = codepair(lwa_server, "amzn1.application-oa2-client.not-a-client")
    assert (r.status_code, r.content) == (
        400,
        b'{"error_description":"The request has an invalid parameter : client_id","error":"InvalidValue"}',
    )


def test_R11_codepair_with_a_scope_the_client_may_not_use(lwa_server: LwaServer, app: Client) -> None:
    r = codepair(lwa_server, app.client_id, scope="alexa:all appstore::nothing")
    assert (r.status_code, r.content) == (
        400,
        classic(
            "Client does not have permission to use scope : com.amazon.aztec.service.Scope@53c407e6", "invalid_scope"
        ),
    )  # N2: Amazon prints a Java object, not the scope; the log's reason names it
    assert "'appstore::nothing'" in (lwa_server.request_log[-1].reason or "")


def grantless_token(server: LwaServer, client: Client) -> str:
    token: str = token_request(server, client, scope=client.scopes[0]).json()["access_token"]
    return token


def test_R12_tokeninfo_with_the_token_in_a_header(lwa_server: LwaServer, app: Client) -> None:
    token = lwa_server.issue_refresh_token(app, ["profile"])
    form = {"grant_type": "refresh_token", "refresh_token": token}
    access = post(lwa_server, {**form, "client_id": app.client_id, "client_secret": app.client_secret}).json()
    r = requests.get(lwa_server.tokeninfo_url, headers={"x-amz-access-token": access["access_token"]}, timeout=5)
    assert r.status_code == 200
    assert list(r.json()) == ["aud", "user_id", "iss", "exp", "app_id", "iat"]
    assert r.json()["aud"] == app.client_id


def test_R13_amazon_pay_hosts_reach_the_mock() -> None:
    for host in ("api.amazon.de", "api.sandbox.amazon.com", "api.sandbox.amazon.de", "api.sandbox.amazon.co.uk"):
        assert host in AMAZON_HOSTS
        assert redirected(f"https://{host}/auth/o2/tokeninfo?access_token=x", "http://mock") == (
            "http://mock/auth/o2/tokeninfo?access_token=x"
        )


def test_R14_a_json_null_is_an_absent_field(lwa_server: LwaServer, app: Client) -> None:
    body = {
        "grant_type": "client_credentials",
        "refresh_token": None,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "scope": "sellingpartnerapi::nothing",
    }
    r = requests.post(lwa_server.token_url, json=body, timeout=5)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")


def test_R15_tokens_are_opaque(lwa_server: LwaServer, app: Client) -> None:
    access = grantless_token(lwa_server, app)
    refresh = lwa_server.issue_refresh_token(app)
    assert access.startswith("Atc|MAEBI")  # the seed's sample token (R15's pasted ones: MQEB…)
    assert refresh.startswith("Atzr|IwEBI")
    claims = [app.client_id, "appstore", "profile", lwa_server.default_user.user_id, "amzn1", "null", "true"]
    for token in (access, refresh):
        raw = base64.urlsafe_b64decode(token.split("|", 1)[1] + "==")
        assert not [claim for claim in claims if claim.encode() in raw]  # nothing of the claims to read


def test_R16_a_client_not_allowed_the_grant(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(grants=["refresh_token"])
    form = {"grant_type": "client_credentials", "scope": "appstore::apps:readwrite"}
    r = post(lwa_server, {**form, "client_id": client.client_id, "client_secret": client.client_secret})
    assert (r.status_code, r.content) == (400, classic("Not authorized for requested operation", "unauthorized_client"))


def test_R17_bad_code_in_the_classic_style(lwa_server: LwaServer, app: Client) -> None:
    form = {"grant_type": "authorization_code", "code": "RHxNbUuvmnglvbWiqMWK", "redirect_uri": REDIRECT}
    r = post(lwa_server, {**form, "client_id": app.client_id, "client_secret": app.client_secret})
    assert (r.status_code, r.headers["Content-Length"]) == (400, "97")
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["X-Amzn-Errortype"] == f"OA2InvalidGrantException:{PANDA}"


def test_R18_malformed_request_in_the_modern_style(lwa_server: LwaServer, app: Client) -> None:
    """Recorded in 2021 without ``request_id``; R2's 2024 recordings carry it, and the later one wins."""
    lwa_server.configure(body_style="modern")
    body = f"grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id={app.client_id}"
    r = requests.post(lwa_server.token_url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                      timeout=5)  # fmt: skip
    assert r.status_code == 400
    assert_modern(r, "Malformed request", "invalid_request")


def test_R19_tokeninfo_with_an_invalid_token(lwa_server: LwaServer) -> None:
    r = requests.get(lwa_server.tokeninfo_url, params={"access_token": "Atza|IwEBIinvalid"}, timeout=5)
    assert (r.status_code, r.content) == (
        400,
        b'{"error_description":"The request has an invalid parameter : access_token","error":"invalid_token"}',
    )


def test_R20_a_browser_at_ap_oa_with_an_unknown_client(lwa_server: LwaServer) -> None:
    r = authorize(lwa_server, client_id="amzn1.application-oa2-client.nobody", scope="profile", response_type="code")
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert r.headers["Content-Type"] == "text/html;charset=UTF-8"
    page = r.text
    for words in ("We're sorry!", "Error Summary", "400 Bad Request", "Unknown client_id"):
        assert words in page
    reason = lwa_server.request_log[-1].reason
    assert reason is not None
    assert reason.startswith("client_id 'amzn1.application-oa2-client.nobody' is not registered")
    api = requests.get(lwa_server.url + "/ap/oa", params={"client_id": "nobody"}, allow_redirects=False, timeout=5)
    assert (api.status_code, api.json()["error"]) == (400, "invalid_client")  # not a browser: JSON


def test_R21_a_browser_at_ap_oa_with_an_unlisted_redirect_uri(lwa_server: LwaServer, app: Client) -> None:
    r = authorize(lwa_server, client_id=app.client_id, scope="profile", response_type="code",
                  redirect_uri="https://elsewhere.example/cb")  # fmt: skip
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert (
        "The redirect URI you provided has not been whitelisted for your application. Please add your redirect URI"
        " in the &#x27;Allowed Return URLs&#x27; section under &#x27;Web Settings&#x27; for your Security Profile"
        " on Amazon Developer Portal."
    ) in r.text


def test_R22_the_user_cancels(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.set_consent(granted=False)
    r = authorize(lwa_server, client_id=app.client_id, scope="profile", response_type="code", state="s1")
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query) == {
        "error": ["access_denied"],
        "error_description": ["Access not permitted."],
        "state": ["s1"],
    }


def test_R23_a_server_fault(lwa_server: LwaServer, app: Client) -> None:
    lwa_server.fail_next("server_error")
    r = post(lwa_server, {"grant_type": "client_credentials", "scope": "appstore::apps:readwrite"})
    assert (r.status_code, r.content) == (500, b"{}")
    assert r.headers["X-Amzn-Errortype"] == "InternalFailure:http://internal.amazon.com/coral/com.amazon.coral.service/"


def test_R24_slow_down_and_invalid_code_pair_are_reachable(lwa_server: LwaServer, app: Client) -> None:
    pair = codepair(lwa_server, app.client_id).json()
    poll = {"grant_type": "device_code", "device_code": pair["device_code"], "user_code": pair["user_code"]}
    lwa_server.fail_next("slow_down")
    assert post(lwa_server, poll).json()["error"] == "slow_down"
    lwa_server.configure(enforce_poll_interval=True)
    assert post(lwa_server, poll).json()["error"] == "authorization_pending"
    assert post(lwa_server, poll).json()["error"] == "slow_down"  # 0 s after the last poll
    lwa_server.clock.advance(600)
    r = post(lwa_server, poll)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_code_pair")


@pytest.mark.parametrize("rotate", [False, True])
def test_R25_a_refresh_answer_always_has_a_refresh_token(lwa_server: LwaServer, app: Client, rotate: bool) -> None:
    lwa_server.configure(rotate_refresh_tokens=rotate)
    token = lwa_server.issue_refresh_token(app)
    form = {"grant_type": "refresh_token", "refresh_token": token}
    body = post(lwa_server, {**form, "client_id": app.client_id, "client_secret": app.client_secret}).json()
    assert body["refresh_token"].startswith("Atzr|")
    assert (body["refresh_token"] == token) is not rotate


ASK_CLI_SCOPES = (
    "alexa::ask:skills:readwrite alexa::ask:models:readwrite alexa::ask:skills:test alexa::ask:catalogs:read"
    " alexa::ask:catalogs:readwrite alexa::ask:subscriptions alexa::ask:skills:debug"
)


@pytest.mark.parametrize(
    "scope",
    [
        ASK_CLI_SCOPES,
        "advertising::audiences",
        "payments:widget payments:shipping_address payments:billing_address",
        "portability::customer_profile portability::advertising_insights",
    ],
    ids=["ask-cli", "ads", "amazon-pay", "data-portability"],
)
def test_N17_more_scope_families_are_default_user_scopes(lwa_server: LwaServer, scope: str) -> None:
    client = lwa_server.add_client(scopes=[], redirect_uris=[REDIRECT])  # nothing registered: the defaults alone
    r = authorize(lwa_server, client_id=client.client_id, scope=scope, response_type="code", redirect_uri=REDIRECT)
    query = parse_qs(urlsplit(r.headers["Location"]).query)
    assert (r.status_code, sorted(query), query["scope"]) == (302, ["code", "scope"], [scope])
    assert codepair(lwa_server, client.client_id, scope=scope).status_code == 200
