"""Faults, the request log and its assertions, verify() and the SP-API guard."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from helpers import INVALID_CLIENT
from pytest_httpserver import HTTPServer
from werkzeug.test import Client as WsgiClient
from werkzeug.wrappers import Request, Response

from pytest_lwa import Client, LwaServer, TokenRejected, pkce_challenge
from pytest_lwa.guard import GuardMiddleware, guard

APPSTORE = "appstore::apps:readwrite"
SERVER_ERROR = b"{}"  # Amazon's answer to a fault of its own (docs/contract.md R23)


@pytest.fixture
def client(lwa_server: LwaServer) -> Client:
    return lwa_server.add_client(client_id="amzn1.application-oa2-client.toolkit", scopes=[APPSTORE])


def grantless(server: LwaServer, client: Client, **extra: str) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "scope": APPSTORE,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    return requests.post(server.token_url, data={**form, **extra}, timeout=5)


# --- faults --------------------------------------------------------------------------------------


def test_fail_next_then_normal(lwa_server: LwaServer, client: Client) -> None:
    fault = lwa_server.fail_next()
    r = grantless(lwa_server, client)
    assert (r.status_code, r.content) == (500, SERVER_ERROR)
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["X-Amzn-Errortype"] == "InternalFailure:http://internal.amazon.com/coral/com.amazon.coral.service/"
    assert "x-amzn-RequestId" in r.headers
    assert grantless(lwa_server, client).status_code == 200
    assert (fault.fired, fault.remaining, lwa_server.pending_faults) == (1, 0, [])


def test_fail_next_times_and_catalogue(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.fail_next("temporarily_unavailable", times=2)
    for _ in range(2):
        r = grantless(lwa_server, client)
        assert (r.status_code, r.json()) == (
            503,
            {
                "error_description": "The authorization server is temporarily unavailable",
                "error": "temporarily_unavailable",
            },
        )
    lwa_server.fail_next("invalid_client")
    assert grantless(lwa_server, client).content == INVALID_CLIENT


def test_fail_next_follows_the_body_style(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.configure(body_style="modern")
    lwa_server.fail_next("server_error", status=502)
    r = grantless(lwa_server, client)
    assert r.status_code == 502
    assert list(r.json()) == ["error_index", "error_description", "error", "request_id"]


def test_fail_next_with_an_uncatalogued_error(lwa_server: LwaServer, client: Client) -> None:
    with pytest.raises(ValueError, match=r"'quota' is not in the error catalogue .*; pass description= to use it"):
        lwa_server.fail_next("quota")
    lwa_server.fail_next("quota", status=403, description="Quota exceeded")
    assert grantless(lwa_server, client).content == b'{"error_description":"Quota exceeded","error":"quota"}'


def test_raw_answers(lwa_server: LwaServer, client: Client) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    lwa_server.respond_next(502, html, {"Content-Type": "text/html"})
    lwa_server.respond_next(200, b'{"access_token":"Atc|tru')
    r = grantless(lwa_server, client)
    assert (r.status_code, r.text, r.headers["Content-Type"]) == (502, html, "text/html")
    r = grantless(lwa_server, client)
    assert (r.status_code, r.content, r.headers["Content-Type"]) == (
        200,
        b'{"access_token":"Atc|tru',
        "application/json",
    )
    with pytest.raises(requests.JSONDecodeError):
        r.json()
    lwa_server.respond_next(503, "busy", {"content-type": "text/plain"})  # header names in any case
    r = grantless(lwa_server, client)
    assert (r.status_code, r.headers["Content-Type"]) == (503, "text/plain")


def test_throttle(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.throttle_next(retry_after=7)
    r = grantless(lwa_server, client)
    assert (r.status_code, r.headers["Retry-After"]) == (429, "7")
    assert r.content == b'{"error_description":"The request rate is too high","error":"too_many_requests"}'


def test_delay_makes_a_client_time_out(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.delay_next(2.0)
    with pytest.raises(requests.ReadTimeout):
        requests.post(lwa_server.token_url, data={"grant_type": "client_credentials"}, timeout=0.2)


def test_drop_closes_without_an_answer(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.drop_next()
    with pytest.raises(requests.ConnectionError):
        grantless(lwa_server, client)
    assert grantless(lwa_server, client).status_code == 200
    assert [(r.status, r.fault) for r in lwa_server.request_log] == [
        (0, "dropped connection on /auth/o2/token, fired 1 of 1"),
        (200, None),
    ]


def test_faults_only_on_the_token_endpoint_unless_asked(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.fail_next("server_error", path="/auth/o2/tokeninfo")
    assert grantless(lwa_server, client).status_code == 200
    assert requests.get(lwa_server.tokeninfo_url, params={"access_token": "x"}, timeout=5).status_code == 500
    lwa_server.fail_next(path=None)
    assert requests.get(lwa_server.url + "/user/profile", timeout=5).status_code == 500


def test_fault_with_a_predicate(lwa_server: LwaServer, client: Client) -> None:
    def refreshes(request: object) -> bool:
        return getattr(request, "grant_type", None) == "refresh_token"

    lwa_server.fail_next(when=refreshes)
    assert grantless(lwa_server, client).status_code == 200
    token = lwa_server.issue_refresh_token(client)
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client.client_id}
    r = requests.post(lwa_server.token_url, data={**form, "client_secret": client.client_secret}, timeout=5)
    assert r.status_code == 500


def test_fault_on_the_nth_request(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.fail_next(nth=3)
    assert [grantless(lwa_server, client).status_code for _ in range(4)] == [200, 200, 500, 200]


def test_faults_are_consumed_in_order(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.fail_next("server_error")
    lwa_server.fail_next("temporarily_unavailable")
    assert [grantless(lwa_server, client).status_code for _ in range(3)] == [500, 503, 200]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"times": 0}, "times must be a whole number >= 1"),
        ({"nth": 0}, "nth must be a whole number >= 1"),
    ],
)
def test_fault_arguments_are_checked(lwa_server: LwaServer, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lwa_server.fail_next(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delay must be a non-negative"):
        lwa_server.delay_next(-1)
    assert lwa_server.pending_faults == []


# --- the request log -----------------------------------------------------------------------------


def test_request_log_parses_and_redacts(lwa_server: LwaServer, client: Client) -> None:
    grantless(lwa_server, client)
    requests.post(
        lwa_server.token_url,
        data={"grant_type": "client_credentials", "scope": APPSTORE},
        auth=(client.client_id, client.client_secret),
        timeout=5,
    )
    body, basic = lwa_server.request_log
    assert (body.grant_type, body.client_id, body.scopes, body.auth_method) == (
        "client_credentials",
        client.client_id,
        (APPSTORE,),
        "body",
    )
    assert body.content_type == "application/x-www-form-urlencoded"
    assert body.params["client_secret"] == "***"
    assert body.status == 200
    assert body.answer["token_type"] == "bearer"
    assert (basic.auth_method, basic.client_id, basic.headers["Authorization"]) == (
        "basic",
        client.client_id,
        "Basic ***",
    )
    everything = repr(lwa_server.request_log) + "".join(str(r) for r in lwa_server.request_log)
    encoded = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    assert client.client_secret not in everything
    assert encoded not in everything


def test_request_log_records_the_server_clock(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    grantless(lwa_server, client)
    assert lwa_server.request_log[0].time == datetime(2030, 1, 1, tzinfo=UTC).timestamp()


def test_assert_token_requests(lwa_server: LwaServer, client: Client) -> None:
    grantless(lwa_server, client)
    grantless(lwa_server, client, client_secret="wrong")
    assert len(lwa_server.assert_token_requests(count=2, grant_type="client_credentials")) == 2
    assert len(lwa_server.assert_token_requests(status=401)) == 1
    assert lwa_server.token_requests(auth_method="basic") == []


def test_assert_token_requests_failure_lists_what_was_seen(lwa_server: LwaServer, client: Client) -> None:
    grantless(lwa_server, client)
    requests.get(lwa_server.tokeninfo_url, timeout=5)
    with pytest.raises(AssertionError) as caught:
        lwa_server.assert_token_requests(count=1, grant_type="refresh_token", auth_method="basic")
    assert str(caught.value) == (
        "expected 1 token request(s) with grant_type='refresh_token', auth_method='basic'; 0 matched.\n"
        "Token requests seen (1):\n"
        "  1. POST /auth/o2/token grant_type=client_credentials scope=appstore::apps:readwrite"
        " client_id=amzn1.application-oa2-client.toolkit client_secret=*** auth=body -> 200\n"
        "       grant_type is 'client_credentials', not 'refresh_token'\n"
        "       auth_method is 'body', not 'basic'\n"
        "(1 other request(s) not shown; see lwa_server.request_log)"
    )


def test_assert_token_requests_with_none_seen(lwa_server: LwaServer) -> None:
    with pytest.raises(AssertionError, match=r"expected at least 1 token request\(s\); 0 matched.\nNo token requests"):
        lwa_server.assert_token_requests()
    with pytest.raises(TypeError, match="unknown criteria grant; criteria are: grant_type, client_id"):
        lwa_server.assert_token_requests(grant="x")


# --- verify and the guard ------------------------------------------------------------------------


def test_verify(lwa_server: LwaServer, client: Client) -> None:
    token = grantless(lwa_server, client).json()["access_token"]
    claims = lwa_server.verify(token, scopes=[APPSTORE])
    assert (claims.client_id, claims.scopes, claims.user_id) == (client.client_id, (APPSTORE,), None)

    with pytest.raises(TokenRejected, match="insufficient_scope: the access token lacks scope\\(s\\) profile") as no:
        lwa_server.verify(token, scopes=["profile"])
    assert no.value.reason == "insufficient_scope"
    for bad, reason in (
        ("", "missing"),
        ("Atc|forged", "invalid"),
        (lwa_server.issue_refresh_token(client), "invalid"),
    ):
        with pytest.raises(TokenRejected) as caught:
            lwa_server.verify(bad)
        assert caught.value.reason == reason
    lwa_server.clock.advance(3600)
    with pytest.raises(TokenRejected, match="expired: the access token expired 0 s ago"):
        lwa_server.verify(token)


def test_verify_revoked(lwa_server: LwaServer, client: Client) -> None:
    token = grantless(lwa_server, client).json()["access_token"]
    lwa_server.revoke(token)
    with pytest.raises(TokenRejected, match="revoked"):
        lwa_server.verify(token)


DENIED = "Access to requested resource is denied."


def sp_api_error(details: str) -> dict[str, object]:
    return {"errors": [{"code": "Unauthorized", "message": DENIED, "details": details}]}


def test_guard_with_pytest_httpserver(lwa_server: LwaServer, client: Client, httpserver: HTTPServer) -> None:
    def orders(request: Request) -> Response:
        return Response('{"payload":{"Orders":[]}}', content_type="application/json")

    httpserver.expect_request("/orders/v0/orders").respond_with_handler(guard(lwa_server, orders, scopes=[APPSTORE]))
    url = httpserver.url_for("/orders/v0/orders")
    token = grantless(lwa_server, client).json()["access_token"]

    assert requests.get(url, headers={"x-amz-access-token": token}, timeout=5).json() == {"payload": {"Orders": []}}
    missing = requests.get(url, timeout=5)
    assert (missing.status_code, missing.json()) == (
        403,
        sp_api_error("Access token is missing in the request header."),
    )
    assert missing.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    lwa_server.clock.advance(3600)
    expired = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert (expired.status_code, expired.json()) == (403, sp_api_error("The access token you provided has expired."))
    assert "x-amzn-ErrorType" not in expired.headers


def test_guard_middleware(lwa_server: LwaServer, client: Client) -> None:
    def api(environ: object, start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])  # type: ignore[operator]
        return [b"{}"]

    web = WsgiClient(GuardMiddleware(api, lwa_server, scopes=[APPSTORE]))
    token = grantless(lwa_server, client).json()["access_token"]
    assert web.get("/", headers={"x-amz-access-token": token}).status_code == 200
    lwa_server.revoke(token)
    refused = web.get("/", headers={"x-amz-access-token": token})
    invalid = "The access token you provided is revoked, malformed or invalid."
    assert (refused.status_code, json.loads(refused.data)) == (403, sp_api_error(invalid))


def test_clock_set_moves_expiry(lwa_server: LwaServer, client: Client) -> None:
    token = grantless(lwa_server, client).json()["access_token"]
    lwa_server.clock.set(datetime.now(UTC) + timedelta(hours=2))
    with pytest.raises(TokenRejected, match="expired"):
        lwa_server.verify(token)


def test_a_request_that_outlives_its_test_stays_out_of_the_next(lwa_server: LwaServer, client: Client) -> None:
    lwa_server.delay_next(0.5)
    with pytest.raises(requests.ReadTimeout):
        requests.post(lwa_server.token_url, data={"grant_type": "client_credentials"}, timeout=0.05)
    lwa_server.reset()  # what the fixture does between tests
    assert lwa_server.wait_idle(5)  # the delayed request has finished
    assert lwa_server.request_log == []
    assert lwa_server.errors == []


def test_pkce_verifiers_and_secrets_never_reach_the_log(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(redirect_uris=["https://app.example/cb"])
    verifier = "a-verifier-that-must-stay-secret-0123456789abc"
    code = lwa_server.issue_authorization_code(
        client, redirect_uri="https://app.example/cb", code_challenge=pkce_challenge(verifier)
    )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "https://app.example/cb",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "code_verifier": verifier,
    }
    assert requests.post(lwa_server.token_url, data=form, timeout=5).status_code == 200
    (record,) = lwa_server.request_log
    assert (record.params["code_verifier"], record.params["client_secret"]) == ("***", "***")
    assert verifier not in record.describe()
    assert client.client_secret not in record.describe()
