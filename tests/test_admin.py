"""The admin API's statuses and listings, in-process (tests/test_cli.py runs it behind a real serve)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from werkzeug.test import Client as WsgiClient

from pytest_lwa import LwaServer
from pytest_lwa.admin import AdminApp

APPSTORE = "appstore::apps:readwrite"
LOGIN = "https://app.example/login"


@pytest.fixture
def server() -> Iterator[LwaServer]:
    with LwaServer() as server:
        yield server


def admin_client(server: LwaServer, *, token: str | None = None, enabled: bool = True) -> WsgiClient:
    return WsgiClient(AdminApp(server.app, server, token=token, enabled=enabled, on_reset=server.reset))


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "health", None, 200),
        ("GET", "clients", None, 200),
        ("POST", "clients", {"client_id": "made", "scopes": [APPSTORE]}, 201),
        ("GET", "users", None, 200),
        ("POST", "users", {"user_id": "amzn1.account.NEW"}, 201),
        ("POST", "refresh-tokens", {"client_id": "ci"}, 201),
        ("POST", "authorization-codes", {"client_id": "ci"}, 201),
        ("GET", "settings", None, 200),
        ("POST", "settings", {"expires_in": 60}, 200),
        ("GET", "faults", None, 200),
        ("POST", "faults", {"error": "server_error"}, 201),
        ("DELETE", "faults", None, 200),
        ("GET", "requests", None, 200),
        ("DELETE", "requests", None, 200),
        ("GET", "clock", None, 200),
        ("POST", "clock/advance", {"seconds": 5}, 200),
        ("POST", "reset", None, 200),
        ("DELETE", "clients/ci", None, 200),
        ("POST", "consent", {"granted": False}, 200),
        ("GET", "sp-applications", None, 200),
        ("POST", "sp-applications", {"client": "ci", "login_uri": LOGIN, "redirect_uris": [LOGIN]}, 201),
        ("GET", "selling-partners", None, 200),
        ("POST", "selling-partners", {"selling_partner_id": "ANEW"}, 201),
        ("POST", "seller-consent", {"granted": False}, 200),
    ],
)
def test_201_only_for_what_a_post_creates(
    server: LwaServer, method: str, path: str, body: dict[str, object] | None, status: int
) -> None:
    server.add_client("ci", "ci-secret")
    r = admin_client(server).open("/_lwa/" + path, method=method, json=body)
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.headers["Content-Type"] == "application/json"


def test_the_root_lists_every_endpoint(server: LwaServer) -> None:
    r = admin_client(server).get("/_lwa/")
    assert r.status_code == 200
    endpoints = r.get_json()["endpoints"]
    assert endpoints[0] == "GET /_lwa/"
    for expected in ("GET /_lwa/health", "POST /_lwa/clients", "DELETE /_lwa/clients/<client_id>", "POST /_lwa/reset"):
        assert expected in endpoints
    assert len(endpoints) == len(set(endpoints)) == 32


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("clients/ghost", "no client with client_id 'ghost' is registered"),
    ],
)
def test_unknown_things_are_404_without_python_hints(server: LwaServer, path: str, message: str) -> None:
    r = admin_client(server).delete("/_lwa/" + path)
    assert (r.status_code, r.get_json()) == (404, {"error": "not_found", "message": message})


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("devices/approve", {"user_code": "NOPE12"}, "no live code pair with user_code 'NOPE12'"),
        ("refresh-tokens", {"client_id": "ci", "user_id": "amzn1.account.GHOST"},
         "no user with user_id 'amzn1.account.GHOST' is registered"),
        ("seller-consent", {"selling_partner_id": "AGHOST"}, "no selling partner 'AGHOST' is registered"),
        ("spapi-codes", {"application_id": "amzn1.sp.solution.x"},
         "no SP-API application 'amzn1.sp.solution.x' is registered"),
        ("consent", {"user_id": "amzn1.account.GHOST"}, "no user with user_id 'amzn1.account.GHOST' is registered"),
    ],
)  # fmt: skip
def test_unknown_users_and_devices_are_404(server: LwaServer, path: str, body: dict[str, str], message: str) -> None:
    server.add_client("ci", "ci-secret")
    r = admin_client(server).post("/_lwa/" + path, json=body)
    assert (r.status_code, r.get_json()) == (404, {"error": "not_found", "message": message})


def test_health_answers_without_the_token_and_when_the_api_is_off(server: LwaServer) -> None:
    for client in (admin_client(server, token="s3cret"), admin_client(server, enabled=False)):
        assert client.get("/_lwa/health").get_json() == {"status": "ok", "url": server.url}
        assert client.get("/_lwa/clients").status_code in (401, 403)
        assert client.get("/_lwa/").status_code in (401, 403)


def test_reset_goes_back_to_the_start_state(server: LwaServer) -> None:
    def start() -> None:
        server.reset()
        server.add_client("configured", "configured-secret")

    start()
    admin = WsgiClient(AdminApp(server.app, server, token=None, enabled=True, on_reset=start))
    admin.post("/_lwa/clients", json={"client_id": "added"})
    admin.post("/_lwa/users", json={"user_id": "amzn1.account.ADDED"})
    admin.post("/_lwa/settings", json={"expires_in": 5})
    admin.post("/_lwa/faults", json={"error": "server_error"})
    admin.post("/_lwa/clock/advance", json={"seconds": 1000})
    before = server.clock.now()
    assert admin.post("/_lwa/reset").status_code == 200
    assert [c.client_id for c in server.clients] == ["configured"]
    assert [u.user_id for u in server.users] == [server.default_user.user_id]
    assert server.settings.expires_in == 3600
    assert server.pending_faults == []
    assert server.clock.now() < before


def test_consent_names_the_voluntary_scopes_kept(server: LwaServer) -> None:
    app = server.add_client(redirect_uris=["https://app.example.com/cb"])
    r = admin_client(server).post("/_lwa/consent", json={"grant_scopes": ["profile"]})
    assert r.status_code == 200
    asked = {
        "client_id": app.client_id,
        "scope": "profile postal_code",
        "response_type": "code",
        "scope_data": '{"postal_code":{"essential":false}}',
    }
    back = server.follow(server.url + "/ap/oa?" + urlencode(asked))
    assert parse_qs(urlsplit(back).query)["scope"] == ["profile"]
    assert server.consents[-1].requested == "profile postal_code"


def test_wrong_method_names_the_allowed_ones(server: LwaServer) -> None:
    r = admin_client(server).put("/_lwa/sp-applications")
    assert (r.status_code, r.headers["Allow"]) == (405, "GET, POST")
    assert r.get_json() == {"error": "method_not_allowed", "message": "use GET or POST"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"granted": "no"}, "granted must be true or false, got 'no'"),
        ({"login_uri": LOGIN}, "missing field 'redirect_uris'"),
        ({"login_uri": LOGIN, "redirect_uris": [], "app_id": "x"}, "unknown field(s) app_id; fields are: client,"),
    ],
)
def test_bad_sp_fields_are_400(server: LwaServer, body: dict[str, object], message: str) -> None:
    path = "/_lwa/seller-consent" if "granted" in body else "/_lwa/sp-applications"
    r = admin_client(server).post(path, json=body)
    assert r.status_code == 400
    assert message in r.get_json()["message"]


def test_a_website_workflow_set_up_through_the_admin_api(server: LwaServer) -> None:
    """What a CI job in another language does: register the app and the seller, then walk the workflow."""
    admin = admin_client(server)
    app = admin.post("/_lwa/sp-applications", json={"login_uri": LOGIN, "redirect_uris": [LOGIN + "/back"],
                                                    "published": True}).get_json()  # fmt: skip
    assert app["application_id"].startswith("amzn1.sp.solution.")
    assert list(app) == ["application_id", "client_id", "name", "login_uri", "redirect_uris", "published", "vendor",
                         "notification_queue"]  # fmt: skip
    seller = admin.post("/_lwa/selling-partners", json={"selling_partner_id": "ACI0000000001"}).get_json()
    assert seller == {"selling_partner_id": "ACI0000000001", "name": "Test Seller"}
    assert admin.post("/_lwa/seller-consent", json={"selling_partner_id": "ACI0000000001"}).status_code == 200
    consent = admin.get(f"/apps/authorize/consent?application_id={app['application_id']}&state=s")
    assert consent.status_code == 302
    assert "selling_partner_id=ACI0000000001" in consent.headers["Location"]
    code = admin.post("/_lwa/spapi-codes", json={"application_id": app["application_id"]}).get_json()
    client = next(c for c in server.clients if c.client_id == app["client_id"])
    form = {"grant_type": "authorization_code", "code": code["spapi_oauth_code"], "client_id": client.client_id,
            "client_secret": client.client_secret}  # fmt: skip
    assert admin.post("/auth/o2/token", data=form).status_code == 200
