"""Client secrets that expire on the server clock, the Application Management API's rotation, and the rotation
notifications (docs/contract.md N7, N8, N10-N12)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import INVALID_CLIENT, token_request, wait_for

from pytest_lwa import LwaServer, SellingPartnerApp
from pytest_lwa.admin import AdminApp

ROTATION = "sellingpartnerapi::client_credential:rotation"
LOGIN = "https://app.example/amazon/login"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/lwa-rotation"
DAY = timedelta(days=1)
UNAUTHORIZED = "Access to requested resource is denied."
NOT_ENROLLED = (
    b'{"errors":[{"code":"InvalidInput","message":"Application is not enrolled for rotation notification. Please'
    b' update application notification preference in Developer console."}]}'
)
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(when * 1000) % 1000:03d}Z"


@pytest.fixture
def app(lwa_server: LwaServer) -> SellingPartnerApp:
    lwa_server.clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    return lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[LOGIN], notification_queue="kept-only")


def secret_of(server: LwaServer, app: SellingPartnerApp) -> str:
    return next(c for c in server.clients if c.client_id == app.client_id).client_secret


def grantless(server: LwaServer, app: SellingPartnerApp, secret: str | None = None, scope: str = ROTATION) -> Any:
    client = next(c for c in server.clients if c.client_id == app.client_id)
    return token_request(server, client, scope=scope, client_secret=secret or client.client_secret)


def rotate(server: LwaServer, token: str | None, base: str | None = None) -> requests.Response:
    headers = {"x-amz-access-token": token} if token is not None else {}
    return requests.post((base or server.url) + "/applications/2023-11-30/clientSecret", headers=headers, timeout=5)


def rotation_token(server: LwaServer, app: SellingPartnerApp) -> str:
    answer = grantless(server, app)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


# --- secrets that expire ----------------------------------------------------------------------------


def test_an_sp_application_secret_works_180_days_and_is_then_answered_as_a_wrong_one(
    lwa_server: LwaServer, app: SellingPartnerApp
) -> None:
    issued = lwa_server.clock.now()
    client = next(c for c in lwa_server.clients if c.client_id == app.client_id)
    assert (client.secret_lifetime, client.secret_expires_at) == (180 * 86400, issued + 180 * 86400)
    lwa_server.clock.advance(179 * DAY)
    assert grantless(lwa_server, app).status_code == 200
    lwa_server.clock.advance(2 * DAY)  # day 181
    answer = grantless(lwa_server, app)
    assert (answer.status_code, answer.content) == (401, INVALID_CLIENT)
    assert lwa_server.request_log[-1].reason == (
        f"client {app.client_id!r}'s secret expired at {iso(issued + 180 * 86400)}, 180 days after it was issued;"
        " rotate it"
    )


def test_other_clients_secrets_do_not_expire_unless_given_a_lifetime(lwa_server: LwaServer) -> None:
    plain = lwa_server.add_client()
    short = lwa_server.add_client(secret_lifetime=3600)
    assert (plain.secret_expires_at, short.secret_expires_at) == (None, lwa_server.clock.now() + 3600)
    lwa_server.clock.advance(3600)
    assert token_request(lwa_server, plain).status_code == 200
    answer = token_request(lwa_server, short)
    assert (answer.status_code, answer.content) == (401, INVALID_CLIENT)
    assert "0.0416667 days after it was issued; rotate it" in str(lwa_server.request_log[-1].reason)


def test_the_setting_turns_the_sp_lifetime_off(lwa_server: LwaServer) -> None:
    lwa_server.configure(sp_secret_lifetime=0)
    app = lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[LOGIN])
    lwa_server.clock.advance(400 * DAY)
    assert grantless(lwa_server, app).status_code == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sp_secret_lifetime": -1}, "sp_secret_lifetime must be a whole number of seconds from 0 to 2147483647"),
        ({"secret_expiry_notices": "90,x"}, "secret_expiry_notices must be whole numbers of days from 1 to 3650"),
    ],
)
def test_bad_rotation_settings(lwa_server: LwaServer, changes: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        lwa_server.configure(**changes)


def test_a_rotated_secret_works_6_days_later_and_not_8(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    old = secret_of(lwa_server, app)
    rotated_at = lwa_server.clock.now()
    client = lwa_server.rotate_secret(app.client_id)
    assert [s.expires_at for s in client.secrets] == [rotated_at + 180 * 86400, rotated_at + 7 * 86400]
    lwa_server.clock.advance(6 * DAY)
    assert grantless(lwa_server, app, old).status_code == 200
    assert grantless(lwa_server, app).status_code == 200
    lwa_server.clock.advance(2 * DAY)
    answer = grantless(lwa_server, app, old)
    assert (answer.status_code, answer.content) == (401, INVALID_CLIENT)
    assert lwa_server.request_log[-1].reason == (
        f"client {app.client_id!r}'s previous secret expired at {iso(rotated_at + 7 * 86400)}, 7 days after a"
        " rotation replaced it; use the new one"
    )
    assert grantless(lwa_server, app).status_code == 200
    lwa_server.retire_secret(app.client_id)  # still works, and forgets the old secret
    assert [s.value for s in lwa_server.clients[-1].secrets] == [lwa_server.clients[-1].client_secret]


# --- the rotation API -------------------------------------------------------------------------------


def test_a_rotation_answers_204_and_sends_the_new_secret(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    old = secret_of(lwa_server, app)
    answer = rotate(lwa_server, rotation_token(lwa_server, app))
    assert (answer.status_code, answer.content) == (204, b"")
    assert answer.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert re.fullmatch(r"[0-9a-f-]{36}", answer.headers["x-amzn-RequestId"])
    new = secret_of(lwa_server, app)
    assert new != old
    assert new.startswith("amzn1.oa2-cs.v1.")
    [notice] = lwa_server.notifications
    now = lwa_server.clock.now()
    assert (notice.queue, notice.delivery, notice.message_id) == ("kept-only", "kept", None)
    metadata = notice.body.pop("notificationMetadata")
    assert notice.body == {
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "payloadVersion": "1.0",
        "eventTime": iso(now),
        "payload": {
            "applicationOAuthClientNewSecret": {
                "clientId": app.client_id,
                "newClientSecret": new,
                "newClientSecretExpiryTime": iso(now + 180 * 86400),
                "oldClientSecretExpiryTime": iso(now + 7 * 86400),
            }
        },
    }
    assert list(metadata) == ["applicationId", "subscriptionId", "publishTime", "notificationId"]
    assert (metadata["applicationId"], metadata["publishTime"]) == (app.application_id, iso(now))
    assert UUID.match(metadata["subscriptionId"])
    assert UUID.match(metadata["notificationId"])


def test_an_application_without_a_queue_gets_400(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    lwa_server.set_notification_queue(app, None)
    answer = rotate(lwa_server, rotation_token(lwa_server, app))
    assert (answer.status_code, answer.content) == (400, NOT_ENROLLED)
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert "has no notification_queue registered" in str(lwa_server.request_log[-1].reason)
    assert lwa_server.notifications == []


def forbidden(details: str) -> bytes:
    body = {"errors": [{"code": "Unauthorized", "message": UNAUTHORIZED, "details": details}]}
    return json.dumps(body, separators=(",", ":")).encode()


def test_tokens_the_rotation_refuses(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    missing = rotate(lwa_server, None)
    assert (missing.status_code, missing.content) == (403, forbidden("Access token is missing in the request header."))
    assert missing.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    invalid = rotate(lwa_server, "Atc|not-one-of-ours")
    assert (invalid.status_code, invalid.content) == (
        403,
        forbidden("The access token you provided is revoked, malformed or invalid."),
    )
    other = grantless(lwa_server, app, scope="sellingpartnerapi::notifications").json()["access_token"]
    scoped = rotate(lwa_server, other)
    assert (scoped.status_code, scoped.content) == (403, forbidden(""))
    assert "not a grantless token with sellingpartnerapi::client_credential:rotation" in str(
        lwa_server.request_log[-1].reason
    )
    token = rotation_token(lwa_server, app)
    lwa_server.clock.advance(3600)
    expired = rotate(lwa_server, token)
    assert (expired.status_code, expired.content) == (403, forbidden("The access token you provided has expired."))
    plain = lwa_server.add_client()
    stranger = token_request(lwa_server, plain, scope=ROTATION).json()["access_token"]
    assert (rotate(lwa_server, stranger).status_code, rotate(lwa_server, stranger).content) == (403, forbidden(""))
    assert lwa_server.notifications == []


def test_a_second_rotation_within_a_minute_gets_429(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    assert rotate(lwa_server, rotation_token(lwa_server, app)).status_code == 204
    lwa_server.clock.advance(59)
    again = rotate(lwa_server, rotation_token(lwa_server, app))
    assert (again.status_code, again.content) == (
        429,
        b'{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.",'
        b'"details":""}]}',
    )
    assert "rotation_rate_limit=False lifts the limit" in str(lwa_server.request_log[-1].reason)
    lwa_server.clock.advance(1)
    assert rotate(lwa_server, rotation_token(lwa_server, app)).status_code == 204
    lwa_server.configure(rotation_rate_limit=False)
    assert rotate(lwa_server, rotation_token(lwa_server, app)).status_code == 204
    assert len(lwa_server.notifications) == 3


def test_the_rotation_on_the_sp_api_host_through_lwa_amazon_hosts(lwa_amazon_hosts: LwaServer) -> None:
    server = lwa_amazon_hosts
    app = server.add_sp_application(login_uri=LOGIN, redirect_uris=[LOGIN], notification_queue="kept-only")
    token = rotation_token(server, app)
    answer = rotate(server, token, "https://sellingpartnerapi-eu.amazon.com")
    assert answer.status_code == 204
    assert server.request_log[-1].headers["Host"] == "sellingpartnerapi-eu.amazon.com"


# --- expiry notices -----------------------------------------------------------------------------------


def test_expiry_notices_90_30_and_7_days_before(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    expires = lwa_server.clock.now() + 180 * 86400
    lwa_server.clock.advance(89 * DAY)
    assert lwa_server.notifications == []
    for day in (90, 150, 173):
        lwa_server.clock.set(expires - (180 - day) * 86400)
    notices = lwa_server.notifications
    assert [n.body["notificationType"] for n in notices] == ["APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"] * 3
    assert [n.body["eventTime"] for n in notices] == [iso(expires - d * 86400) for d in (90, 30, 7)]
    assert notices[0].body["payload"] == {
        "applicationOAuthClientSecretExpiry": {
            "clientId": app.client_id,
            "clientSecretExpiryTime": iso(expires),
            "clientSecretExpiryReason": "PERIODIC_ROTATION",
        }
    }
    lwa_server.clock.advance(DAY)
    assert len(lwa_server.notifications) == 3  # each point once


def test_a_jump_past_several_points_sends_one_notice(lwa_server: LwaServer, app: SellingPartnerApp) -> None:
    lwa_server.configure(secret_expiry_notices="60,10")
    lwa_server.clock.advance(175 * DAY)
    [notice] = lwa_server.notifications
    assert notice.body["eventTime"] == iso(lwa_server.clock.now() - 5 * 86400)
    assert ISO.match(notice.body["notificationMetadata"]["publishTime"])
    lwa_server.reset()
    assert lwa_server.notifications == []


# --- the admin API --------------------------------------------------------------------------------


def test_the_admin_api_registers_the_queue_and_lists_the_notifications(lwa_server: LwaServer) -> None:
    from werkzeug.test import Client as WsgiClient

    admin = WsgiClient(AdminApp(lwa_server.app, lwa_server, token=None, enabled=True, on_reset=lwa_server.reset))
    made = admin.post("/_lwa/sp-applications", json={"login_uri": LOGIN, "redirect_uris": [LOGIN]}).get_json()
    assert made["notification_queue"] is None
    path = f"/_lwa/sp-applications/{made['application_id']}/notification-queue"
    bad = admin.post(path, json={"url": "x"})
    assert (bad.status_code, bad.get_json()["message"]) == (
        400,
        'the body must be {"queue": "<SQS queue URL>"} (or null to remove it)',
    )
    assert admin.post(path, json={"queue": "kept-only"}).get_json()["notification_queue"] == "kept-only"
    app = lwa_server.authority.sp_applications[0]
    assert rotate(lwa_server, rotation_token(lwa_server, app)).status_code == 204
    [listed] = admin.get("/_lwa/notifications").get_json()["notifications"]
    assert (listed["queue"], listed["delivery"]) == ("kept-only", "kept")
    assert listed["body"]["notificationType"] == "APPLICATION_OAUTH_CLIENT_NEW_SECRET"
    client = admin.get("/_lwa/clients").get_json()["clients"][0]
    assert (client["secret_lifetime"], client["secret_expires_at"]) == (
        180 * 86400,
        lwa_server.clock.now() + 180 * 86400,
    )


# --- SQS (moto) -------------------------------------------------------------------------------------


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def test_notifications_reach_the_sqs_queue(lwa_server: LwaServer, sqs: Any) -> None:
    queue = sqs.create_queue(QueueName="lwa-rotation")["QueueUrl"]
    app = lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[LOGIN], notification_queue=queue)
    assert rotate(lwa_server, rotation_token(lwa_server, app)).status_code == 204
    [notice] = lwa_server.notifications
    assert notice.delivery == "sent"
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert (message["MessageId"], json.loads(message["Body"])) == (notice.message_id, notice.body)


def test_a_failed_delivery_is_logged_and_kept(
    lwa_server: LwaServer, sqs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    missing = "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue"
    app = lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[LOGIN], notification_queue=missing)
    with caplog.at_level(logging.WARNING, logger="pytest_lwa"):
        assert rotate(lwa_server, rotation_token(lwa_server, app)).status_code == 204
    [notice] = lwa_server.notifications
    assert notice.delivery.startswith("failed: QueueDoesNotExist:"), notice.delivery
    assert f"APPLICATION_OAUTH_CLIENT_NEW_SECRET notification for {app.application_id} to {missing} failed" in (
        caplog.text
    )


# --- the standalone server, moto's server and the job in processes of their own ---------------------


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's SQS as a server on a free loopback port; its URL."""
    pytest.importorskip("moto")
    from moto.server import ThreadedMotoServer

    for name, value in AWS.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    server._server.server_close()  # type: ignore[union-attr]  # (stop leaves its socket open)


AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def test_the_rotation_job_against_serve_proxy_and_moto_server(moto_server: str, tmp_path: Path) -> None:
    import boto3

    queue = boto3.client("sqs", endpoint_url=moto_server).create_queue(QueueName="lwa-rotation")["QueueUrl"]
    ready_file = tmp_path / "ready.json"
    env = {"PATH": os.environ.get("PATH", ""), "TMPDIR": str(tmp_path), **AWS}
    command = [sys.executable, "-m", "pytest_lwa", "serve", "--proxy", "--port", "0", "--ready-file", str(ready_file),
               "--log-level", "warning"]  # fmt: skip
    serve = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = wait_for(ready_file, serve)
        admin = ready["admin_url"]
        made = requests.post(f"{admin}/sp-applications", timeout=5, json={
            "login_uri": LOGIN, "redirect_uris": [LOGIN], "notification_queue": queue}).json()  # fmt: skip
        client = next(c for c in requests.get(f"{admin}/clients", timeout=5).json()["clients"]
                      if c["client_id"] == made["client_id"])  # fmt: skip
        first = client["client_secret"]
        credentials = tmp_path / "credentials.json"
        credentials.write_text(json.dumps({"clientId": client["client_id"], "clientSecret": first}))
        job_env = {
            **env,
            "HTTPS_PROXY": ready["proxy_url"],
            "REQUESTS_CA_BUNDLE": ready["ca_bundle"],
            "NO_PROXY": "127.0.0.1,localhost",
            "AWS_ENDPOINT_URL": moto_server,
            "ROTATION_QUEUE_URL": queue,
            "ROTATION_CREDENTIALS": str(credentials),
        }
        job = [sys.executable, str(Path(__file__).parent.parent / "examples" / "rotation_job.py")]

        def run_job() -> list[str]:
            done = subprocess.run(job, env=job_env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            return done.stdout.splitlines()

        def advance(days: float) -> None:
            moved = requests.post(f"{admin}/clock/advance", json={"seconds": days * 86400}, timeout=30)
            assert moved.status_code == 200, moved.text

        def token_with(secret: str) -> int:
            form = {"grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications"}
            form |= {"client_id": client["client_id"], "client_secret": secret}
            return requests.post(ready["token_url"], data=form, timeout=5).status_code

        advance(90)
        # (serve's clock also ticks with real time: a fraction of a day has passed since the secret was issued)
        assert run_job() in (["skipped: 89 days left"], ["skipped: 90 days left"])
        advance(83)  # day 173: the 7-day notice
        assert run_job() == ["rotated", "stored the new secret"]
        second = json.loads(credentials.read_text())["clientSecret"]
        assert second != first
        assert (token_with(first), token_with(second)) == (200, 200)
        advance(7)
        assert (token_with(first), token_with(second)) == (401, 200)
        notices = requests.get(f"{admin}/notifications", timeout=5).json()["notifications"]
        assert [(n["body"]["notificationType"], n["delivery"]) for n in notices] == [
            ("APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY", "sent"),
            ("APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY", "sent"),
            ("APPLICATION_OAUTH_CLIENT_NEW_SECRET", "sent"),
        ]
        hosts = [r["headers"].get("Host") for r in requests.get(f"{admin}/requests", timeout=5).json()["requests"]]
        assert "sellingpartnerapi-na.amazon.com" in hosts
        assert "api.amazon.com" in hosts
    finally:
        serve.terminate()
        serve.communicate(timeout=10)


def test_toml_registers_the_queue_and_a_client_lifetime(tmp_path: Path) -> None:
    from pytest_lwa import Authority
    from pytest_lwa.config import load_config

    toml = tmp_path / "lwa.toml"
    toml.write_text(
        '[settings]\nsecret_expiry_notices = "14"\n\n[[clients]]\nclient_id = "short"\nsecret_lifetime = 600\n\n'
        '[[sp_applications]]\nlogin_uri = "https://app.example/login"\nredirect_uris = ["https://app.example/b"]\n'
        'notification_queue = "http://127.0.0.1:1/123456789012/q"\n'
    )
    config = load_config(toml)
    assert config.settings == {"secret_expiry_notices": "14"}
    authority = Authority()
    config.apply(authority)
    [app] = authority.sp_applications
    assert app.notification_queue == "http://127.0.0.1:1/123456789012/q"
    assert authority.find_client("short").secret_lifetime == 600  # type: ignore[union-attr]


def test_bad_queues_and_lifetimes_are_refused(lwa_server: LwaServer) -> None:
    with pytest.raises(ValueError, match=r"^notification_queue must be a queue URL or ARN without spaces, got .a b.$"):
        lwa_server.add_sp_application(login_uri=LOGIN, redirect_uris=[LOGIN], notification_queue="a b")
    with pytest.raises(ValueError, match=r"^secret_lifetime must be a whole number of seconds >= 1 \(or None"):
        lwa_server.add_client(secret_lifetime=0)
    admin = AdminApp(lwa_server.app, lwa_server, token=None, enabled=True, on_reset=lwa_server.reset)
    from werkzeug.test import Client as WsgiClient

    answer = WsgiClient(admin).post("/_lwa/settings", json={"secret_expiry_notices": "soon"})
    assert answer.status_code == 400
    assert answer.get_json()["message"].startswith("secret_expiry_notices must be whole numbers of days")
    assert lwa_server.clients == []


def test_a_client_keeps_its_own_lifetime_when_an_application_takes_it(lwa_server: LwaServer) -> None:
    client = lwa_server.add_client(secret_lifetime=30 * 86400)
    app = lwa_server.add_sp_application(client, login_uri=LOGIN, redirect_uris=[LOGIN])
    registered = next(c for c in lwa_server.clients if c.client_id == app.client_id)
    assert registered.secret_lifetime == 30 * 86400
    assert registered.secret_expires_at == client.secret_expires_at
