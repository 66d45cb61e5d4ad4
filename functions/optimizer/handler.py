"""Lambda handler for S3 upload events (images and text) and the Kubernetes Job entry point (everything).

Lambda: ``functions.optimizer.handler.lambda_handler``; env ``OPTIMIZED_BUCKET`` names the destination
bucket (``OPTIMIZED_PREFIX`` optional). A bad file is logged and reported, not raised: S3 async invokes
retry on exceptions and a corrupt JPEG stays corrupt. A StorageError is raised so Lambda retries it.
Video is refused with a pointer to the Job, whose entry is ``python -m functions.optimizer job``.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
from pathlib import PurePosixPath
from typing import Any

from functions.optimizer.errors import StorageError
from functions.optimizer.metrics import Metrics
from functions.optimizer.pipeline import FileReport, process
from functions.optimizer.settings import OptimizerSettings
from functions.optimizer.storage import Storage, join, split_uri, storage_for

DEST_BUCKET_ENV = "OPTIMIZED_BUCKET"
DEST_PREFIX_ENV = "OPTIMIZED_PREFIX"


def _records(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(bucket, key) per S3 record; keys arrive URL-encoded with '+' for spaces."""
    found: list[tuple[str, str]] = []
    for index, record in enumerate(event.get("Records", [])):
        try:
            bucket = record["s3"]["bucket"]["name"]
            key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"event Records[{index}] is not an S3 event record (missing {exc})") from exc
        found.append((bucket, key))
    return found


def lambda_handler(
    event: dict[str, Any], context: Any = None, settings: OptimizerSettings | None = None
) -> dict[str, Any]:
    """Optimize every uploaded object of an S3 event into ``s3://$OPTIMIZED_BUCKET/<key folder>/``."""
    bucket = os.environ.get(DEST_BUCKET_ENV)
    if not bucket:
        raise RuntimeError(f"environment variable {DEST_BUCKET_ENV} is not set (the optimized bucket's name)")
    settings = settings or OptimizerSettings()
    metrics = Metrics()
    reports: list[FileReport] = []
    for source_bucket, key in _records(event):
        src = f"s3://{source_bucket}/{key}"
        parent = str(PurePosixPath(key).parent).strip(".")
        dest = join(f"s3://{bucket}", os.environ.get(DEST_PREFIX_ENV, ""), parent)
        report = process(storage_for(src), src, dest, settings, metrics, allow_video=False)
        print(json.dumps({"level": "error" if not report.ok else "info", **report.as_dict()}), flush=True)
        reports.append(report)
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
