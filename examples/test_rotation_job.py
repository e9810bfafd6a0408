"""The rotation job of rotation_job.py lives a whole 180-day secret cycle in one test: the mock's clock is
advanced, its notifications arrive in an SQS queue faked by moto (in this process), and the job, unchanged,
reads them, rotates the secret through the Application Management API and stores the new one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("boto3", reason="this example needs boto3 and moto: pip install boto3 'moto[sqs]'")
pytest.importorskip("moto", reason="this example needs boto3 and moto: pip install boto3 'moto[sqs]'")

import boto3
import moto
import requests
from rotation_job import RotationFailed, RotationJob

from pytest_lwa import LwaServer, SellingPartnerApp

DAY = timedelta(days=1)
INVALID_CLIENT = '{"error_description":"Client authentication failed","error":"invalid_client"}'


@pytest.fixture
def queue_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        yield boto3.client("sqs").create_queue(QueueName="lwa-rotation")["QueueUrl"]


@pytest.fixture
def app(lwa_server: LwaServer, queue_url: str) -> SellingPartnerApp:
    lwa_server.clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    return lwa_server.add_sp_application(
        login_uri="https://app.example/login", redirect_uris=["https://app.example/back"], notification_queue=queue_url
    )


@pytest.fixture
def job(lwa_server: LwaServer, app: SellingPartnerApp, queue_url: str, tmp_path: Path) -> RotationJob:
    client = next(c for c in lwa_server.clients if c.client_id == app.client_id)
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"clientId": client.client_id, "clientSecret": client.client_secret}))
    return RotationJob(queue_url, credentials, token_url=lwa_server.token_url, sp_api_url=lwa_server.url)


def token_with(server: LwaServer, client_id: str, secret: str) -> requests.Response:
    form = {"grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications"}
    return requests.post(server.token_url, data={**form, "client_id": client_id, "client_secret": secret}, timeout=5)


def test_a_whole_180_day_cycle(lwa_server: LwaServer, app: SellingPartnerApp, job: RotationJob) -> None:
    first = job.stored()["clientSecret"]
    assert job.run() == []
    lwa_server.clock.advance(90 * DAY)  # the 90-day notice: too early for the job's 7-day threshold
    assert job.run() == ["skipped: 90 days left"]
    lwa_server.clock.advance(60 * DAY)
    assert job.run() == ["skipped: 30 days left"]
    lwa_server.clock.advance(23 * DAY)  # day 173: the 7-day notice
    assert job.run() == ["rotated", "stored the new secret"]
    second = job.stored()["clientSecret"]
    assert second != first
    assert [n.body["notificationType"] for n in lwa_server.notifications][-2:] == [
        "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
        "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
    ]
    assert {n.delivery for n in lwa_server.notifications} == {"sent"}
    for secret in (first, second):  # both work for 7 days
        assert token_with(lwa_server, app.client_id, secret).status_code == 200
    lwa_server.clock.advance(7 * DAY)
    old = token_with(lwa_server, app.client_id, first)
    assert (old.status_code, old.text) == (401, INVALID_CLIENT)
    assert "previous secret expired" in str(lwa_server.request_log[-1].reason)
    assert token_with(lwa_server, app.client_id, second).status_code == 200
    assert job.grantless_token().startswith("Atc|")
    lwa_server.clock.advance(166 * DAY)  # the new secret's own 7-day notice: the cycle starts again
    assert job.run() == ["rotated", "stored the new secret"]


def test_no_queue_registered(lwa_server: LwaServer, app: SellingPartnerApp, job: RotationJob) -> None:
    lwa_server.set_notification_queue(app, None)
    with pytest.raises(RotationFailed) as failed:
        job.rotate()
    assert (failed.value.status, json.loads(failed.value.body)["errors"][0]["code"]) == (400, "InvalidInput")


def test_a_token_without_the_rotation_scope(lwa_server: LwaServer, app: SellingPartnerApp, job: RotationJob) -> None:
    job.scope = "sellingpartnerapi::notifications"
    with pytest.raises(RotationFailed) as failed:
        job.rotate()
    assert (failed.value.status, failed.value.body) == (
        403,
        '{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":""}]}',
    )


def test_rotating_twice_within_a_minute(lwa_server: LwaServer, app: SellingPartnerApp, job: RotationJob) -> None:
    job.rotate()
    lwa_server.clock.advance(30)
    with pytest.raises(RotationFailed) as failed:
        job.rotate()
    assert failed.value.status == 429
    assert json.loads(failed.value.body)["errors"][0]["code"] == "QuotaExceeded"


def test_a_job_that_ignores_the_notices(lwa_server: LwaServer, app: SellingPartnerApp, job: RotationJob) -> None:
    lwa_server.clock.advance(173 * DAY)  # the 7-day notice arrives, and nothing reads it for 8 days
    lwa_server.clock.advance(8 * DAY)
    with pytest.raises(RotationFailed) as failed:
        job.run()
    assert (failed.value.status, failed.value.body) == (401, INVALID_CLIENT)
    reason: Any = lwa_server.request_log[-1].reason
    assert "secret expired at 2027-06-30T00:00:00.000Z, 180 days after it was issued; rotate it" in reason
