"""A client-secret rotation job for an SP-API application, in the shape of Amazon's sample rotation solution.

It reads the application's notification queue (SQS, with boto3):

- ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` for this job's client, expiring within ``threshold_days`` of the
  notice: it asks LWA for a grantless token with the rotation scope and calls the Application Management API's
  ``rotateApplicationClientSecret`` (``POST /applications/2023-11-30/clientSecret``);
- ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` for this job's client: it stores the new secret, which the next token
  request uses.

The credentials live in a JSON file (``{"clientId": …, "clientSecret": …}``), standing in for a secrets store.
Nothing in it knows about pytest-lwa: run against the mock, it talks to Amazon's own host names (through
``pytest-lwa serve --proxy``) or to the URLs it is given. Run it as ``python rotation_job.py`` with
``ROTATION_QUEUE_URL`` and ``ROTATION_CREDENTIALS`` set (and ``LWA_TOKEN_URL``, ``SP_API_URL`` to go elsewhere
than Amazon's North American hosts).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import requests

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
SP_API_URL = "https://sellingpartnerapi-na.amazon.com"
ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"


class RotationFailed(Exception):
    """An LWA or SP-API call answered other than expected: ``status`` and ``body`` are its answer's."""

    def __init__(self, what: str, status: int, body: str) -> None:
        super().__init__(f"{what}: {status} {body}")
        self.status, self.body = status, body


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class RotationJob:
    def __init__(
        self,
        queue_url: str,
        credentials: Path,
        *,
        token_url: str = LWA_TOKEN_URL,
        sp_api_url: str = SP_API_URL,
        threshold_days: int = 7,
        scope: str = ROTATION_SCOPE,
    ) -> None:
        self.queue_url, self.credentials = queue_url, credentials
        self.token_url, self.sp_api_url = token_url, sp_api_url
        self.threshold_days, self.scope = threshold_days, scope
        self.sqs = boto3.client("sqs")

    # --- the credentials store ------------------------------------------------------------------

    def stored(self) -> dict[str, str]:
        return dict(json.loads(self.credentials.read_text()))

    def store_secret(self, secret: str) -> None:
        self.credentials.write_text(json.dumps({**self.stored(), "clientSecret": secret}))

    # --- LWA and SP-API -------------------------------------------------------------------------

    def grantless_token(self) -> str:
        stored = self.stored()
        form = {"grant_type": "client_credentials", "scope": self.scope}
        form |= {"client_id": stored["clientId"], "client_secret": stored["clientSecret"]}
        answer = requests.post(self.token_url, data=form, timeout=10)
        if answer.status_code != 200:
            raise RotationFailed("the LWA token request failed", answer.status_code, answer.text)
        return str(answer.json()["access_token"])

    def rotate(self) -> None:
        url = self.sp_api_url + "/applications/2023-11-30/clientSecret"
        answer = requests.post(url, headers={"x-amz-access-token": self.grantless_token()}, timeout=10)
        if answer.status_code != 204:
            raise RotationFailed("rotateApplicationClientSecret failed", answer.status_code, answer.text)

    # --- the queue ------------------------------------------------------------------------------

    def handle(self, notification: dict[str, Any]) -> str:
        """What one notification made the job do, in a few words."""
        kind, payload = notification["notificationType"], notification["payload"]
        client_id = self.stored()["clientId"]
        if kind == "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY":
            expiry = payload["applicationOAuthClientSecretExpiry"]
            if expiry["clientId"] != client_id:
                return "skipped: another client"
            # measured from when the notice was published, so a late run decides as a timely one would
            published = _time(notification["notificationMetadata"]["publishTime"])
            days_left = (_time(expiry["clientSecretExpiryTime"]) - published).days
            if days_left > self.threshold_days:
                return f"skipped: {days_left} days left"
            self.rotate()
            return "rotated"
        if kind == "APPLICATION_OAUTH_CLIENT_NEW_SECRET":
            new = payload["applicationOAuthClientNewSecret"]
            if new["clientId"] != client_id:
                return "skipped: another client"
            self.store_secret(new["newClientSecret"])
            return "stored the new secret"
        return f"skipped: {kind}"

    def run(self) -> list[str]:
        """Handle every message in the queue (deleting each once handled) until it is empty."""
        done = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return done
            for message in messages:
                done.append(self.handle(json.loads(message["Body"])))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def main() -> int:
    job = RotationJob(
        os.environ["ROTATION_QUEUE_URL"],
        Path(os.environ["ROTATION_CREDENTIALS"]),
        token_url=os.environ.get("LWA_TOKEN_URL", LWA_TOKEN_URL),
        sp_api_url=os.environ.get("SP_API_URL", SP_API_URL),
    )
    try:
        for action in job.run():
            print(action)
    except RotationFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
