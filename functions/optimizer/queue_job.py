"""The video Job: receive one SQS message, optimize the S3 objects it names, delete it only on success.

``python -m functions.optimizer job --queue-url URL --dest s3://optimized/prefix [--json]`` is the command of
the component's KEDA ScaledJob (``content_optimizer_manifests.worker_command``). KEDA starts one Job per
visible message, so each Job takes exactly one (long poll, at most 20 s, SQS's maximum).

Why delete only on success: the queue's visibility timeout is the Job deadline + 10 min, so a message left
behind (crash, deadline, a file that failed) becomes visible again, is retried by a new Job, and after the
queue's ``maxReceiveCount`` receives SQS moves it to the DLQ, where the DLQ alarm fires. The Job therefore
never retries by itself (``backoffLimit: 0``) and exits 1 to leave the message. An empty queue (another Job
took the message first) is not a failure: exit 0. S3's ``s3:TestEvent`` (sent when the notification
configuration is saved) names no object: it is deleted, or it would end in the DLQ and page someone.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from functions.optimizer.environment import Deployment
from functions.optimizer.errors import StorageError
from functions.optimizer.handler import process_records, s3_records
from functions.optimizer.metrics import Metrics
from functions.optimizer.pipeline import FileReport
from functions.optimizer.storage import split_uri

MAX_WAIT_SECONDS = 20
"""SQS long polling maximum: ReceiveMessage waits up to this long for a message before returning none."""
_QUEUE_REGION = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")


@dataclass
class QueueOutcome:
    """What one Job run did with its message."""

    message_id: str | None = None
    """None: the queue was empty."""
    receive_count: int | None = None
    reports: list[FileReport] = field(default_factory=list)
    deleted: bool = False
    error: str | None = None
    """A message-level failure (body not an S3 event, delete refused); per-file errors are in ``reports``."""
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(r.ok for r in self.reports)


def sqs_client(queue_url: str) -> Any:
    """boto3's SQS client, imported lazily (the image/text CLI does not need boto3).

    The region comes from the environment (the Job sets ``AWS_REGION``), else from the queue URL's host;
    ``AWS_ENDPOINT_URL_SQS`` / ``AWS_ENDPOINT_URL`` (read by boto3) point it at a local endpoint.
    """
    import boto3.session

    session = boto3.session.Session()
    match = _QUEUE_REGION.match(queue_url)
    region = session.region_name or (match.group(1) if match else None)
    return session.client("sqs", region_name=region)


def parse_message_body(body: str) -> list[tuple[str, str]] | None:
    """(bucket, key) per S3 ObjectCreated record of an S3 event notification; None for ``s3:TestEvent``."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"message body is not JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(document, dict):
        raise ValueError("message body is not an S3 event notification (a JSON object with Records)")
    if document.get("Event") == "s3:TestEvent":
        return None
    if "Records" not in document:
        raise ValueError(f"message body is not an S3 event notification (keys: {sorted(document)[:5]})")
    return s3_records(document)


def _call(queue_url: str, what: str, function: Any, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return function(QueueUrl=queue_url, **kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(f"--queue-url {queue_url}: {what} failed ({exc})") from exc


def _log(**fields: Any) -> None:
    print(json.dumps({"level": "error" if fields.get("error") else "info", **fields}), file=sys.stderr, flush=True)


def run_queue_job(
    queue_url: str,
    dest: str,
    deployment: Deployment,
    metrics: Metrics,
    *,
    wait_seconds: int = MAX_WAIT_SECONDS,
    client: Any | None = None,
) -> QueueOutcome:
    """Receive at most one message from ``queue_url`` and optimize its objects into ``dest``.

    Raises StorageError when SQS itself fails (the message, if any, stays queued). Objects whose key starts
    with ``deployment.upload_prefix`` lose that prefix under ``dest`` (as in the Lambda).
    """
    split_uri(dest)  # a bad --dest is refused before a message is taken
    sqs: Any = client if client is not None else sqs_client(queue_url)
    response = _call(
        queue_url,
        "ReceiveMessage",
        sqs.receive_message,
        MaxNumberOfMessages=1,
        WaitTimeSeconds=min(max(wait_seconds, 0), MAX_WAIT_SECONDS),
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    messages = response.get("Messages") or []
    if not messages:
        return QueueOutcome(note="queue empty")
    message = messages[0]
    count = message.get("Attributes", {}).get("ApproximateReceiveCount")
    outcome = QueueOutcome(message_id=message.get("MessageId"), receive_count=int(count) if count else None)
    try:
        records = parse_message_body(message.get("Body", ""))
    except ValueError as exc:
        outcome.error = f"message {outcome.message_id}: {exc}"
    else:
        if records is None:
            outcome.note = "s3:TestEvent (sent when the bucket notification was saved): deleted"
        else:
            outcome.reports = process_records(records, dest, deployment, metrics, allow_video=True, log=sys.stderr)
    if outcome.ok:
        _call(queue_url, "DeleteMessage", sqs.delete_message, ReceiptHandle=message["ReceiptHandle"])
        outcome.deleted = True
    _log(
        message_id=outcome.message_id,
        receive_count=outcome.receive_count,
        deleted=outcome.deleted,
        error=outcome.error,
        failed_files=[r.source for r in outcome.reports if not r.ok],
        note=outcome.note
        or (None if outcome.deleted else "left on the queue: retried after the visibility timeout, DLQ after "
            "maxReceiveCount receives"),
    )  # fmt: skip
    return outcome
