"""CORS on the endpoints a page calls from the browser (contract N15): a client's Allowed Origins get the
headers a browser needs, any other origin none, and the request log says why."""

from __future__ import annotations

import pytest
import requests

from pytest_lwa import Client, LwaServer

SITE = "http://127.0.0.1:8123"
OTHER = "http://127.0.0.1:9999"
CORS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers")


@pytest.fixture
def site(lwa_server: LwaServer) -> Client:
    return lwa_server.add_client(allowed_origins=[SITE], redirect_uris=[SITE + "/cb"])


def preflight(server: LwaServer, path: str, origin: str, method: str) -> requests.Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": method,
               "Access-Control-Request-Headers": "authorization"}  # fmt: skip
    return requests.options(server.url + path, headers=headers, timeout=5)


@pytest.mark.parametrize(
    ("path", "method"), [("/auth/o2/token", "POST"), ("/user/profile", "GET"), ("/auth/o2/tokeninfo", "GET")]
)
def test_a_preflight_from_an_allowed_origin(lwa_server: LwaServer, site: Client, path: str, method: str) -> None:
    r = preflight(lwa_server, path, SITE, method)
    assert (r.status_code, r.content) == (200, b"")
    assert {k: r.headers.get(k) for k in (*CORS, "Access-Control-Max-Age", "Vary")} == {
        "Access-Control-Allow-Origin": SITE,
        "Access-Control-Allow-Methods": method,
        "Access-Control-Allow-Headers": "Authorization, Content-Type, x-amz-access-token",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }
    assert lwa_server.request_log[-1].reason is None


def test_a_preflight_from_another_origin_gets_no_cors_headers(lwa_server: LwaServer, site: Client) -> None:
    r = preflight(lwa_server, "/auth/o2/token", OTHER, "POST")
    assert r.status_code == 200
    assert [k for k in CORS if k in r.headers] == []
    assert lwa_server.request_log[-1].reason == (
        f"Origin {OTHER!r} is no client's Allowed Origin: no CORS headers, so the browser will not let the page"
        " read the answer; add_client(allowed_origins=[...]), or allowed_origins in serve's [[clients]], allows it"
    )
    wrong_method = preflight(lwa_server, "/user/profile", SITE, "DELETE")
    assert "Access-Control-Allow-Origin" not in wrong_method.headers
    assert lwa_server.request_log[-1].reason == (
        "the preflight asks for DELETE, and /user/profile takes GET: the browser will not send it"
    )


def test_an_options_request_that_is_no_preflight_is_refused_as_before(lwa_server: LwaServer, site: Client) -> None:
    r = requests.options(lwa_server.token_url, timeout=5)
    assert (r.status_code, r.json()["error"], r.headers["Allow"]) == (405, "method_not_allowed", "POST")


def token(lwa_server: LwaServer, client: Client, origin: str | None) -> requests.Response:
    code = lwa_server.issue_authorization_code(client, redirect_uri=SITE + "/cb")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": SITE + "/cb",
            "client_id": client.client_id, "client_secret": client.client_secret}  # fmt: skip
    return requests.post(lwa_server.token_url, data=form, headers={"Origin": origin} if origin else {}, timeout=5)


def test_the_token_endpoint_answers_the_clients_origin(lwa_server: LwaServer, site: Client) -> None:
    r = token(lwa_server, site, SITE)
    assert (r.status_code, r.headers["Access-Control-Allow-Origin"]) == (200, SITE)
    assert r.headers["Vary"] == "Content-Type,Accept-Encoding,User-Agent,Origin"
    plain = token(lwa_server, site, None)  # no Origin: no page, the answer as ever
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert plain.headers["Vary"] == "Content-Type,Accept-Encoding,User-Agent"


def test_another_clients_origin_is_refused_with_a_reason(lwa_server: LwaServer, site: Client) -> None:
    lwa_server.add_client(allowed_origins=[OTHER])
    r = token(lwa_server, site, OTHER)  # allowed for some client, not for this one
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers
    assert lwa_server.request_log[-1].reason == (
        f"Origin {OTHER!r} is not an Allowed Origin of client {site.client_id!r} (its allowed_origins: {SITE}):"
        " no CORS headers, so the browser will not let the page read the answer;"
        " add_client(allowed_origins=[...]), or allowed_origins in serve's [[clients]], allows it"
    )


def test_an_error_keeps_its_reason_and_adds_the_cors_one(lwa_server: LwaServer, site: Client) -> None:
    form = {"grant_type": "authorization_code", "code": "nope", "client_id": site.client_id,
            "client_secret": site.client_secret}  # fmt: skip
    allowed = requests.post(lwa_server.token_url, data=form, headers={"Origin": SITE}, timeout=5)
    assert (allowed.status_code, allowed.headers["Access-Control-Allow-Origin"]) == (400, SITE)  # readable
    requests.post(lwa_server.token_url, data=form, headers={"Origin": OTHER}, timeout=5)
    reason = lwa_server.request_log[-1].reason or ""
    assert reason.startswith("the code is unknown, used or expired")
    assert reason.endswith(
        "no CORS headers, so the browser will not let the page read the answer;"
        " add_client(allowed_origins=[...]), or allowed_origins in serve's [[clients]], allows it"
    )


@pytest.mark.parametrize("path", ["/user/profile", "/auth/o2/tokeninfo"])
def test_profile_and_tokeninfo_answer_the_tokens_clients_origin(lwa_server: LwaServer, site: Client, path: str) -> None:
    access = token(lwa_server, site, None).json()["access_token"]
    other = lwa_server.add_client(allowed_origins=[OTHER])
    for origin, allowed in ((SITE, True), (OTHER, False)):
        r = requests.get(
            lwa_server.url + path,
            params={"access_token": access} if path.endswith("tokeninfo") else {},
            headers={"Origin": origin, **({} if path.endswith("tokeninfo") else {"Authorization": f"Bearer {access}"})},
            timeout=5,
        )
        assert r.status_code == 200
        assert (r.headers.get("Access-Control-Allow-Origin") == origin) is allowed
    assert f"not an Allowed Origin of client {site.client_id!r}" in (lwa_server.request_log[-1].reason or "")
    assert other.allowed_origins == (OTHER,)


def test_origins_compare_as_a_browser_sends_them(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(allowed_origins=["HTTP://LocalHost:3000/"])
    assert client.allowed_origins == ("http://localhost:3000",)
    r = preflight(lwa_server, "/auth/o2/token", "http://localhost:3000", "POST")
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Access-Control-Allow-Origin" not in preflight(lwa_server, "/auth/o2/token", "null", "POST").headers


# --- faults: they stand for the server's answer to the page's request, never to the browser's preflight -------

UNAVAILABLE = (
    b'{"error_description":"The authorization server is temporarily unavailable","error":"temporarily_unavailable"}'
)


def page_request(lwa_server: LwaServer, site: Client, path: str, access: str) -> requests.Response:
    """The request a page on SITE sends once its preflight passed."""
    if path == "/auth/o2/token":
        form = {"grant_type": "client_credentials", "scope": "appstore::apps:readwrite", "client_id": site.client_id,
                "client_secret": site.client_secret}  # fmt: skip
        return requests.post(lwa_server.url + path, data=form, headers={"Origin": SITE}, timeout=5)
    return requests.get(lwa_server.url + path, headers={"Origin": SITE, "Authorization": f"Bearer {access}"}, timeout=5)


@pytest.mark.parametrize(
    ("path", "method"), [("/auth/o2/token", "POST"), ("/user/profile", "GET"), ("/auth/o2/tokeninfo", "GET")]
)
def test_a_fault_answers_the_pages_request_and_not_its_preflight(
    lwa_server: LwaServer, site: Client, path: str, method: str
) -> None:
    """A browser whose preflight got a fault's answer, without CORS headers, would never send the request: the
    page would see a network error instead of the fault. The preflight is answered as ever, the fault waits for
    the request, and its answer carries the CORS header, so the page reads the fault's status and body."""
    access = token(lwa_server, site, None).json()["access_token"]
    fault = lwa_server.fail_next("temporarily_unavailable", path=path)
    r = preflight(lwa_server, path, SITE, method)
    assert (r.status_code, r.content) == (200, b"")
    assert (r.headers["Access-Control-Allow-Origin"], r.headers["Access-Control-Allow-Methods"]) == (SITE, method)
    assert (fault.fired, lwa_server.pending_faults) == (0, [fault])
    assert lwa_server.request_log[-1].fault is None
    answer = page_request(lwa_server, site, path, access)
    assert (answer.status_code, answer.content) == (503, UNAVAILABLE)
    assert answer.headers["Access-Control-Allow-Origin"] == SITE
    assert answer.headers["Vary"].endswith(",Origin")
    assert (fault.fired, lwa_server.pending_faults) == (1, [])
    assert lwa_server.request_log[-1].fault == f"503 temporarily_unavailable on {path}, fired 1 of 1"


def test_no_fault_acts_on_a_preflight(lwa_server: LwaServer, site: Client) -> None:
    """Not one for every path, a dropped connection or a delay either; nor does a preflight count towards
    ``nth`` (a browser sends one or none, as its preflight cache decides)."""
    raw = lwa_server.respond_next(502, b"<h1>Bad Gateway</h1>", {"Content-Type": "text/html"}, path=None, nth=2)
    dropped = lwa_server.drop_next(path=None)
    for _ in range(2):
        assert preflight(lwa_server, "/auth/o2/token", SITE, "POST").headers["Access-Control-Allow-Origin"] == SITE
    assert (raw.fired, dropped.fired) == (0, 0)
    with pytest.raises(requests.ConnectionError):
        page_request(lwa_server, site, "/auth/o2/token", "")
    answer = page_request(lwa_server, site, "/auth/o2/token", "")  # the second request, not the fourth
    assert (answer.status_code, answer.content, answer.headers["Content-Type"]) == (502, b"<h1>Bad Gateway</h1>",
                                                                                    "text/html")  # fmt: skip
    assert answer.headers["Access-Control-Allow-Origin"] == SITE
    assert lwa_server.pending_faults == []


def test_a_faults_own_cors_header_replaces_the_servers(lwa_server: LwaServer, site: Client) -> None:
    """As any header a fault names: a test of a misconfigured server gets exactly the one it wrote."""
    lwa_server.respond_next(500, b"{}", {"Access-Control-Allow-Origin": OTHER})
    answer = page_request(lwa_server, site, "/auth/o2/token", "")
    assert answer.status_code == 500
    assert answer.raw.headers.getlist("Access-Control-Allow-Origin") == [OTHER]


def test_a_fault_answered_request_from_another_origin_gets_no_cors_header(lwa_server: LwaServer, site: Client) -> None:
    lwa_server.fail_next("temporarily_unavailable")
    form = {"grant_type": "client_credentials", "scope": "appstore::apps:readwrite", "client_id": site.client_id,
            "client_secret": site.client_secret}  # fmt: skip
    r = requests.post(lwa_server.token_url, data=form, headers={"Origin": OTHER}, timeout=5)
    assert (r.status_code, r.content) == (503, UNAVAILABLE)
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "not an Allowed Origin of client" in (lwa_server.request_log[-1].reason or "")
