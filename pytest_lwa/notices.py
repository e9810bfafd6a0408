"""Rotation notifications as Amazon sends them (docs/contract.md N11), and their delivery to an SQS queue.

boto3 is imported only when a notification is sent to an SQS queue URL (``pip install "pytest-lwa[sqs]"``).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any, Final
from urllib.parse import urlsplit

from .model import iso_time

__all__ = ["NEW_SECRET", "SECRET_EXPIRY", "deliver", "expiry_body", "new_secret_body"]

NEW_SECRET: Final = "APPLICATION_OAUTH_CLIENT_NEW_SECRET"
SECRET_EXPIRY: Final = "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"
#: the reason an expiry notice gives: the scheduled end of the secret's lifetime (the mock's word)
EXPIRY_REASON: Final = "PERIODIC_ROTATION"
_AWS_SQS_HOST: Final = re.compile(r"sqs[.-]([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")


def _envelope(kind: str, payload: dict[str, Any], application_id: str, event_time: float, now: float) -> dict[str, Any]:
    return {
        "notificationVersion": "1.0",
        "notificationType": kind,
        "payloadVersion": "1.0",
        "eventTime": iso_time(event_time),
        "payload": payload,
        "notificationMetadata": {
            "applicationId": application_id,
            "subscriptionId": str(uuid.uuid4()),
            "publishTime": iso_time(now),
            "notificationId": str(uuid.uuid4()),
        },
    }


def new_secret_body(
    application_id: str, client_id: str, secret: str, expires_at: float | None, old_expires_at: float, now: float
) -> dict[str, Any]:
    """``APPLICATION_OAUTH_CLIENT_NEW_SECRET``: a rotation at ``now`` gave ``client_id`` ``secret``."""
    payload = {
        "clientId": client_id,
        "newClientSecret": secret,
        "newClientSecretExpiryTime": iso_time(expires_at) if expires_at is not None else None,
        "oldClientSecretExpiryTime": iso_time(old_expires_at),
    }
    return _envelope(NEW_SECRET, {"applicationOAuthClientNewSecret": payload}, application_id, now, now)


def expiry_body(application_id: str, client_id: str, expires_at: float, point: float, now: float) -> dict[str, Any]:
    """``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY``: the secret of ``client_id`` expires at ``expires_at``; the
    notice point was ``point``, it is sent at ``now``."""
    payload = {
        "clientId": client_id,
        "clientSecretExpiryTime": iso_time(expires_at),
        "clientSecretExpiryReason": EXPIRY_REASON,
    }
    return _envelope(SECRET_EXPIRY, {"applicationOAuthClientSecretExpiry": payload}, application_id, point, now)


def deliver(queue: str | None, body: dict[str, Any]) -> tuple[str, str | None]:
    """Send ``body`` to ``queue`` when it is an SQS queue URL: ``("sent", message id)``, ``("kept", None)``
    (no queue, or not a URL) or ``("failed: <reason>", None)``.

    A queue on ``sqs.<region>.amazonaws.com`` is sent to in that region (boto3's own endpoint, so
    ``AWS_ENDPOINT_URL`` and moto's ``mock_aws`` apply); a queue URL on another host (moto's server,
    ElasticMQ, LocalStack) is sent to that host, in ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` (else us-east-1).
    """
    parts = urlsplit(queue or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "kept", None
    try:
        import boto3  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return 'failed: boto3 is not installed (pip install "pytest-lwa[sqs]")', None
    aws = _AWS_SQS_HOST.fullmatch(parts.hostname)
    region = (
        aws.group(1) if aws else os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    endpoint = {} if aws else {"endpoint_url": f"{parts.scheme}://{parts.netloc}"}
    try:
        sqs = boto3.client("sqs", region_name=region, **endpoint)
        sent = sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body, separators=(",", ":")))
    except Exception as error:  # every failure of boto3 or the queue is the delivery's, reported
        return f"failed: {type(error).__name__}: {error}", None
    return "sent", str(sent.get("MessageId"))
