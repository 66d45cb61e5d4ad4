"""``job --queue-url``: the component's exact Job command against a local SQS endpoint and real S3 (SeaweedFS).

The SQS side is a small HTTP server speaking the JSON protocol boto3 uses for SQS (``X-Amz-Target:
AmazonSQS.ReceiveMessage``/``DeleteMessage``), with the queue semantics the Job relies on: a received,
undeleted message becomes visible again (visibility timeout 0 here) and after ``max_receive_count``
receives it moves to the DLQ. Objects live in SeaweedFS (real S3) or, where only the queue contract
matters, under ``OPTIMIZER_STORAGE_ROOT``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from components.cdn.config import CdnSettings
from components.content_optimizer.config import OptimizerSettings as ComponentSettings
from components.content_optimizer.manifests import VideoWorkerInputs, worker_command
from components.content_optimizer.policies import function_environment
from functions.optimizer.calibrate import MATE_NATURE
from tests.functions.backup.conftest import S3Server, seaweedfs  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[3]
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/optimizer-video"


@dataclass
class FakeQueue:
    """One SQS queue with a DLQ; every request is recorded as (operation, request body)."""

    max_receive_count: int = 3
    messages: list[dict[str, Any]] = field(default_factory=list)
    dlq: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: dict[str, tuple[int, str]] = field(default_factory=dict)
    """operation -> (HTTP status, error code) to answer instead."""

    def send(self, body: str) -> str:
        message_id = str(uuid.uuid4())
        self.messages.append({"MessageId": message_id, "Body": body, "count": 0, "receipt": None})
        return message_id

    def receive(self) -> dict[str, Any]:
        while self.messages:
            message = self.messages[0]
            if message["count"] >= self.max_receive_count:  # SQS redrive: moved instead of delivered
                self.dlq.append(self.messages.pop(0))
                continue
            message["count"] += 1
            message["receipt"] = f"{message['MessageId']}#{message['count']}"
            return {
                "Messages": [
                    {
                        "MessageId": message["MessageId"],
                        "ReceiptHandle": message["receipt"],
                        "MD5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
                        "Body": message["Body"],
                        "Attributes": {"ApproximateReceiveCount": str(message["count"])},
                    }
                ]
            }
        return {}

    def delete(self, receipt: str) -> dict[str, Any]:
        for message in self.messages:
            if message["receipt"] == receipt:
                self.messages.remove(message)
                self.deleted.append(message["MessageId"])
                return {}
        raise KeyError(receipt)


@pytest.fixture
def sqs() -> Iterator[tuple[FakeQueue, str]]:
    queue = FakeQueue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            operation = self.headers.get("X-Amz-Target", "").removeprefix("AmazonSQS.")
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
            queue.requests.append((operation, request))
            status, payload = 200, {}
            if operation in queue.fail:
                status, code = queue.fail[operation]
                payload = {"__type": f"com.amazonaws.sqs#{code}", "message": f"{code} (fake)"}
            elif request.get("QueueUrl") != QUEUE_URL:
                status, payload = 400, {"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "no queue"}
            elif operation == "ReceiveMessage":
                payload = queue.receive()
            elif operation == "DeleteMessage":
                try:
                    payload = queue.delete(request["ReceiptHandle"])
                except KeyError:
                    status, payload = 400, {"__type": "com.amazonaws.sqs#ReceiptHandleIsInvalid", "message": "?"}
            else:
                status, payload = 400, {"__type": "com.amazonaws.sqs#InvalidAction", "message": operation}
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield queue, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def s3_event_body(bucket: str, *keys: str) -> str:
    records = [
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
         "s3": {"bucket": {"name": bucket}, "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 1}}}
        for key in keys
    ]  # fmt: skip
    return json.dumps({"Records": records})


def component_environment(**images: Any) -> dict[str, str]:
    """Exactly what the component sets on the Lambda and the Jobs (prod CDN classes, given image options)."""
    settings = ComponentSettings.model_validate({"images": images, "video": {"enabled": False}})
    return function_environment(settings, "optimized", CdnSettings().content_classes)


def job_command(dest: str) -> list[str]:
    """The ScaledJob's container command, from the component itself."""
    inputs = VideoWorkerInputs.model_construct(queue_url=QUEUE_URL, dest_uri=dest)
    command = worker_command(inputs)
    assert command[:3] == ["python", "-m", "functions.optimizer"]
    return [sys.executable, *command[1:]]


def run(command: list[str], endpoint: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPTIMIZ"))},
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_SQS": endpoint,
        **env,
    }
    return subprocess.run(command, cwd=ROOT, env=full, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24:duration=1",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _extension(key: str) -> str:
    return PurePosixPath(key.removesuffix(".br").removesuffix(".gz")).suffix.lstrip(".")


@pytest.mark.real
def test_the_component_command_optimizes_one_message_and_deletes_it(
    sqs: tuple[FakeQueue, str],
    seaweedfs: S3Server,  # noqa: F811  (the imported session fixture)
    clip: Path,
) -> None:
    queue, endpoint = sqs
    s3 = seaweedfs.client()
    for bucket in {"uploads", "optimized"} - _buckets(s3):
        seaweedfs.make_bucket(bucket, versioning=False)
    s3.upload_file(str(clip), "uploads", "uploads/videos/my clip.mp4")
    s3.upload_file(str(MATE_NATURE / "FreshFlower.jpg"), "uploads", "uploads/photos/flower.jpg")
    s3.put_object(Bucket="uploads", Key="uploads/site/index.html", Body=b"<p>  hello  </p>\n" * 200)
    message_id = queue.send(
        s3_event_body("uploads", "uploads/videos/my clip.mp4", "uploads/photos/flower.jpg", "uploads/site/index.html")
    )
    env = component_environment(quality="low", widths=[320, 640])

    done = run(job_command("s3://optimized/"), endpoint, {**env, **seaweedfs.env()})

    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["summary"]["files"] == 3 and report["summary"]["failures"] == 0, report
    assert queue.deleted == [message_id] and queue.messages == [] and queue.dlq == []
    receive = next(r for op, r in queue.requests if op == "ReceiveMessage")
    assert receive["MaxNumberOfMessages"] == 1 and 0 < receive["WaitTimeSeconds"] <= 20

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="optimized")["Contents"]]
    assert {k.split("/")[0] for k in keys} == {"videos", "photos", "site"}  # upload prefix stripped
    assert "videos/my clip/my clip-240p.mp4" in keys and "videos/my clip/my clip.m3u8" in keys
    assert "photos/flower/flower-640.avif" in keys and "photos/flower/manifest.json" in keys
    assert {"site/index.html", "site/index.html.br", "site/index.html.gz"} <= set(keys)
    # every object written carries the Cache-Control the component derived from the CDN classes
    table = json.loads(env["OPTIMIZER_CACHE_CONTROL"])
    stored = {k: s3.head_object(Bucket="optimized", Key=k) for k in keys}
    wrong = {k: h.get("CacheControl") for k, h in stored.items() if h.get("CacheControl") != table[_extension(k)]}
    assert wrong == {}
    assert stored["site/index.html.br"]["ContentEncoding"] == "br"
    # the image settings came from the environment: widths 320/640 only, quality level low
    manifest = json.loads(s3.get_object(Bucket="optimized", Key="photos/flower/manifest.json")["Body"].read())
    assert {v["width"] for v in manifest["variants"]} == {320, 640}
    assert manifest["quality"] == "low"


def _buckets(s3: Any) -> set[str]:
    return {b["Name"] for b in s3.list_buckets().get("Buckets", [])}


@pytest.fixture
def local_buckets(tmp_path: Path) -> dict[str, str]:
    """Objects under OPTIMIZER_STORAGE_ROOT: enough where only the queue contract is under test."""
    (tmp_path / "uploads" / "uploads" / "videos").mkdir(parents=True)
    (tmp_path / "uploads" / "uploads" / "videos" / "broken.mp4").write_bytes(b"\0\0\0\x18ftypmp42 not a video")
    (tmp_path / "uploads" / "uploads" / "site").mkdir(parents=True)
    (tmp_path / "uploads" / "uploads" / "site" / "a.css").write_text("body {\n  color: red;\n}\n" * 50)
    return {**component_environment(), "OPTIMIZER_STORAGE_ROOT": tmp_path.as_uri()}


def test_a_failed_file_leaves_the_message_until_sqs_moves_it_to_the_dlq(
    sqs: tuple[FakeQueue, str], local_buckets: dict[str, str]
) -> None:
    queue, endpoint = sqs
    message_id = queue.send(s3_event_body("uploads", "uploads/site/a.css", "uploads/videos/broken.mp4"))
    for attempt in (1, 2, 3):
        done = run(job_command("s3://optimized/"), endpoint, local_buckets)
        assert done.returncode == 1, done.stderr
        assert "broken.mp4" in done.stderr and "Traceback" not in done.stderr
        assert queue.messages[0]["count"] == attempt and queue.deleted == []
        assert f'"receive_count": {attempt}' in done.stderr
    done = run(job_command("s3://optimized/"), endpoint, local_buckets)  # 4th receive: redriven, queue empty
    assert done.returncode == 0, done.stderr
    assert [m["MessageId"] for m in queue.dlq] == [message_id] and queue.deleted == []


def test_an_empty_queue_is_not_a_failure(sqs: tuple[FakeQueue, str], local_buckets: dict[str, str]) -> None:
    queue, endpoint = sqs
    done = run([*job_command("s3://optimized/"), "--wait-seconds", "0"], endpoint, local_buckets)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["files"] == 0
    assert [op for op, _ in queue.requests] == ["ReceiveMessage"]
    assert queue.requests[0][1]["WaitTimeSeconds"] == 0


def test_the_s3_test_event_is_deleted(sqs: tuple[FakeQueue, str], local_buckets: dict[str, str]) -> None:
    queue, endpoint = sqs
    message_id = queue.send(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "uploads"}))
    done = run(job_command("s3://optimized/"), endpoint, local_buckets)
    assert done.returncode == 0, done.stderr
    assert queue.deleted == [message_id] and "s3:TestEvent" in done.stderr


@pytest.mark.parametrize(
    ("body", "reason"),
    [("not json", "message body is not JSON"), ('{"Type": "Notification"}', "not an S3 event notification")],
)
def test_a_message_that_is_not_an_s3_event_is_left_for_the_dlq(
    sqs: tuple[FakeQueue, str], local_buckets: dict[str, str], body: str, reason: str
) -> None:
    queue, endpoint = sqs
    queue.send(body)
    done = run(job_command("s3://optimized/"), endpoint, local_buckets)
    assert done.returncode == 1 and reason in done.stderr and "Traceback" not in done.stderr
    assert queue.deleted == [] and len(queue.messages) == 1


def test_a_refused_delete_fails_the_job(sqs: tuple[FakeQueue, str], local_buckets: dict[str, str]) -> None:
    queue, endpoint = sqs
    queue.send(s3_event_body("uploads", "uploads/site/a.css"))
    queue.fail["DeleteMessage"] = (400, "ReceiptHandleIsInvalid")
    done = run(job_command("s3://optimized/"), endpoint, local_buckets)
    assert done.returncode == 1 and "DeleteMessage failed" in done.stderr and "Traceback" not in done.stderr
    assert Path(
        urllib.parse.urlparse(local_buckets["OPTIMIZER_STORAGE_ROOT"]).path, "optimized/site/a.css.br"
    ).is_file()


def test_an_unreachable_or_missing_queue_is_a_runtime_error(
    sqs: tuple[FakeQueue, str], local_buckets: dict[str, str]
) -> None:
    _, endpoint = sqs
    command = job_command("s3://optimized/")
    command[command.index(QUEUE_URL)] = QUEUE_URL + "-missing"
    done = run(command, endpoint, local_buckets)
    assert done.returncode == 1 and "ReceiveMessage failed" in done.stderr and "QueueDoesNotExist" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_variable_is_a_usage_error_before_any_receive(
    sqs: tuple[FakeQueue, str], local_buckets: dict[str, str]
) -> None:
    queue, endpoint = sqs
    queue.send(s3_event_body("uploads", "uploads/site/a.css"))
    done = run(job_command("s3://optimized/"), endpoint, {**local_buckets, "OPTIMIZER_WIDTHS": "640,320"})
    assert done.returncode == 2 and "OPTIMIZER_WIDTHS='640,320'" in done.stderr and "Traceback" not in done.stderr
    assert queue.requests == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--source", "s3://uploads/x"], "not allowed with argument"),
        (["--wait-seconds", "30"], "from 0 to 20"),
    ],
)
def test_job_usage_errors(sqs: tuple[FakeQueue, str], extra: list[str], message: str) -> None:
    _, endpoint = sqs
    done = run([*job_command("s3://optimized/"), *extra], endpoint, {})
    assert done.returncode == 2 and message in done.stderr


def test_job_needs_a_queue_or_a_source(sqs: tuple[FakeQueue, str]) -> None:
    _, endpoint = sqs
    done = run([sys.executable, "-m", "functions.optimizer", "job", "--dest", "s3://o/"], endpoint, {})
    assert done.returncode == 2 and "one of the arguments --queue-url --source is required" in done.stderr
