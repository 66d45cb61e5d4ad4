"""Lambda handler for S3 upload events (images and text) and the prefix Job (``job --source``).

Lambda: ``functions.optimizer.handler.lambda_handler``; env ``OPTIMIZED_BUCKET`` names the destination
bucket (``OPTIMIZED_PREFIX`` optional), the ``OPTIMIZER_*`` variables of ``environment.py`` set quality,
widths, text levels, Cache-Control and the upload prefix stripped from output keys. A bad file is logged and reported, not raised: S3 async invokes
retry on exceptions and a corrupt JPEG stays corrupt. A StorageError is raised so Lambda retries it.
Video is refused with a pointer to the Job, whose entry is ``python -m functions.optimizer job``; the queue
Job (``job --queue-url``, ``queue_job.py``) shares ``s3_records`` and ``process_records`` with the Lambda.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import PurePosixPath
from typing import Any, TextIO

from functions.optimizer.environment import DEST_BUCKET_ENV, Deployment, EnvironmentConfigError, load, output_folder
from functions.optimizer.errors import StorageError
from functions.optimizer.metrics import Metrics
from functions.optimizer.pipeline import FileReport, process
from functions.optimizer.settings import OptimizerSettings
from functions.optimizer.storage import Storage, join, split_uri, storage_for


def _log(level: str, stream: TextIO | None = None, **fields: Any) -> None:
    """One JSON line per event (stdout in Lambda, whose log group is in JSON format; stderr in the Job)."""
    print(json.dumps({"level": level, **fields}), file=stream or sys.stdout, flush=True)


def s3_records(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, key) per S3 ``ObjectCreated`` record; keys arrive URL-encoded with '+' for spaces.

    Other S3 events (deletes, restores) are not uploads and are skipped: the component subscribes only to
    ObjectCreated, so seeing one means a hand-made configuration, not a file to optimize.
    """
    found: list[tuple[str, str]] = []
    records = event.get("Records", [])
    if not isinstance(records, list):
        raise ValueError("event Records is not a list of S3 event records")
    for index, record in enumerate(records):
        try:
            bucket = record["s3"]["bucket"]["name"]
            key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"event Records[{index}] is not an S3 event record (missing {exc})") from exc
        if str(record.get("eventName", "ObjectCreated:")).startswith("ObjectCreated:"):
            found.append((bucket, key))
    return found


def process_records(
    records: list[tuple[str, str]],
    dest_root: str,
    deployment: Deployment,
    metrics: Metrics,
    *,
    allow_video: bool,
    log: TextIO | None = None,
) -> list[FileReport]:
    """Optimize each uploaded object into ``dest_root/<key folder without the upload prefix>/``."""
    reports: list[FileReport] = []
    for source_bucket, key in records:
        src = f"s3://{source_bucket}/{key}"
        dest = join(dest_root, output_folder(key, deployment.upload_prefix))
        report = process(storage_for(src), src, dest, deployment.settings, metrics, allow_video=allow_video)
        _log("error" if not report.ok else "info", log, **report.as_dict())
        reports.append(report)
    return reports


def lambda_handler(
    event: dict[str, Any], context: Any = None, settings: OptimizerSettings | None = None
) -> dict[str, Any]:
    """Optimize every uploaded object of an S3 event into ``s3://$OPTIMIZED_BUCKET/$OPTIMIZED_PREFIX/<folder>/``.

    ``settings`` is the base the ``OPTIMIZER_*`` variables override (seed defaults when None). A bad variable
    fails the invocation with a logged error: Lambda retries, then the event waits in the DLQ for a redrive
    after the configuration is fixed, instead of outputs being written with the wrong settings.
    """
    try:
        deployment = load(base=settings)
        if not deployment.dest_bucket:
            raise EnvironmentConfigError(
                f"environment variable {DEST_BUCKET_ENV} is not set (the optimized bucket's name)"
            )
    except EnvironmentConfigError as exc:
        _log("error", error=str(exc))
        raise
    metrics = Metrics()
    dest_root = join(f"s3://{deployment.dest_bucket}", deployment.dest_prefix)
    reports = process_records(s3_records(event), dest_root, deployment, metrics, allow_video=False)
    return {"summary": metrics.summary(), "files": [r.as_dict() for r in reports], "metrics": metrics.prometheus()}


def run_job(source: str, dest: str, settings: OptimizerSettings, metrics: Metrics) -> list[FileReport]:
    """Optimize every object under ``source`` (one object or a prefix) into ``dest``, keeping sub-folders."""
    split_uri(dest)
    storage: Storage = storage_for(source)
    dest_storage = storage_for(dest)
    if type(dest_storage) is not type(storage):
        raise StorageError(f"--source {source} and --dest {dest} must use the same backend")
    sources = storage.list(source)
    reports: list[FileReport] = []
    root = source.rstrip("/")
    for src in sources:
        relative = src[len(root) + 1 :] if src.startswith(root + "/") else PurePosixPath(src).name
        parent = str(PurePosixPath(relative).parent).strip(".")
        reports.append(process(storage, src, join(dest, parent), settings, metrics))
        print(json.dumps(reports[-1].as_dict()), file=sys.stderr, flush=True)
    return reports
