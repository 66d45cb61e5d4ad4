"""Pure builders for the content optimizer: IAM/bucket/queue policy documents, S3 routing, function env.

Kept free of Pulumi so tests read exactly the documents the engine receives, and so the least-privilege
claims are checkable statement by statement. ARNs come in as plain strings (the component applies these
inside ``Output.all(...).apply``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from components.cdn.config import ContentClass
from components.content_optimizer.config import OptimizerSettings
from components.lib.aws_s3 import deny_insecure_transport

Document = dict[str, Any]
Target = Literal["lambda", "video"]

OBJECT_CREATED = "s3:ObjectCreated:*"
CACHE_CONTROL_ENV = "OPTIMIZER_CACHE_CONTROL"
"""JSON object: output file extension (no dot, lowercase) -> Cache-Control the optimizer must write."""
VISIBILITY_MARGIN_SECONDS = 600
"""The video queue hides a message this much longer than a Job may run, so it never reappears mid-transcode."""


def _document(*statements: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def tls_only_bucket_policy(bucket_arn: str) -> Document:
    """Refuse plain-HTTP requests to the bucket and its objects (encryption in transit)."""
    return _document(deny_insecure_transport("s3", [bucket_arn, f"{bucket_arn}/*"]))


def lambda_trust_policy(account_id: str) -> Document:
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )


def _bucket_key_use(key_arn: str, region: str, *actions: str) -> Document:
    """Use of the buckets' KMS key, only through S3 in this region (the bucket key derives per-object keys)."""
    return {
        "Sid": "BucketKeyThroughS3",
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": [key_arn],
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
    }


def lambda_role_policy(
    *,
    upload_bucket_arn: str,
    upload_prefix: str,
    key_arn: str,
    optimized_bucket_arn: str,
    optimized_prefix: str,
    dlq_arn: str,
    log_group_arn: str,
    region: str,
) -> Document:
    """Read the upload prefix, write the optimized bucket, send to the DLQ, write its own log group.

    The only wildcards are object-key ones (a prefix's objects) and ``log-stream:*`` under the function's
    own log group: Lambda names a stream per execution environment, unknown in advance.
    """
    return _document(
        {
            "Sid": "ReadUploads",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{upload_bucket_arn}/{upload_prefix}*"],
        },
        _bucket_key_use(key_arn, region, "kms:Decrypt", "kms:GenerateDataKey"),
        {
            "Sid": "WriteOptimized",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{optimized_bucket_arn}/{optimized_prefix}*"],
        },
        {"Sid": "DeadLetters", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [dlq_arn]},
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:log-stream:*"],
        },
    )


def video_queue_policy(queue_arn: str, upload_bucket_arn: str, account_id: str) -> Document:
    """Only the upload bucket's event notifications (from this account) may send; TLS only."""
    return _document(
        {
            "Sid": "UploadBucketEvents",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {
                "ArnEquals": {"aws:SourceArn": upload_bucket_arn},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
        deny_insecure_transport("sqs", [queue_arn]),
    )


def dlq_policy(dlq_arn: str) -> Document:
    return _document(deny_insecure_transport("sqs", [dlq_arn]))


def worker_trust_policy(oidc_provider_arn: str, namespace: str, service_account: str) -> Document:
    """IRSA: only the worker's ServiceAccount in the stack namespace may assume the role."""
    issuer = oidc_provider_arn.split(":oidc-provider/", 1)[1]
    return _document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        }
    )


def worker_role_policy(
    *,
    upload_bucket_arn: str,
    upload_prefix: str,
    key_arn: str,
    optimized_bucket_arn: str,
    optimized_prefix: str,
    queue_arn: str,
    region: str,
) -> Document:
    """Consume the video queue, read uploads, write (multipart) renditions to the optimized bucket."""
    return _document(
        {
            "Sid": "ConsumeVideoQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            "Resource": [queue_arn],
        },
        {
            "Sid": "ReadUploads",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{upload_bucket_arn}/{upload_prefix}*"],
        },
        _bucket_key_use(key_arn, region, "kms:Decrypt", "kms:GenerateDataKey"),
        {
            "Sid": "WriteRenditions",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": [f"{optimized_bucket_arn}/{optimized_prefix}*"],
        },
    )


def scaler_trust_policy(keda_operator_role_arn: str) -> Document:
    return _document({"Effect": "Allow", "Principal": {"AWS": keda_operator_role_arn}, "Action": "sts:AssumeRole"})


def scaler_role_policy(queue_arn: str) -> Document:
    """KEDA only reads the queue depth: it never sees message bodies or the buckets."""
    return _document(
        {"Sid": "ReadQueueDepth", "Effect": "Allow", "Action": ["sqs:GetQueueAttributes"], "Resource": [queue_arn]}
    )


def origin_read_policy(optimized_bucket_arn: str, optimized_prefix: str, key_arn: str, region: str) -> Document:
    """What a CDN origin signer (e.g. a Cloudflare Worker signing SigV4) needs: read the outputs, nothing else."""
    return _document(
        {
            "Sid": "ReadOptimized",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{optimized_bucket_arn}/{optimized_prefix}*"],
        },
        _bucket_key_use(key_arn, region, "kms:Decrypt"),
    )


@dataclass(frozen=True)
class Route:
    """One S3 event-notification filter: uploads under ``prefix`` ending in ``suffix`` go to ``target``."""

    target: Target
    prefix: str
    suffix: str


def notification_routes(settings: OptimizerSettings) -> list[Route]:
    """Image/text suffixes to the Lambda, video suffixes to the queue (when the video worker is on).

    S3 suffix filters are case-sensitive, so each extension is routed in lower and upper case
    (``photo.JPG`` from a camera is as common as ``photo.jpg``).
    """
    routes: list[Route] = []
    groups: list[tuple[Target, Iterable[str]]] = [("lambda", settings.lambda_suffixes)]
    if settings.video.enabled:
        groups.append(("video", settings.video_suffixes))
    for target, suffixes in groups:
        for suffix in suffixes:
            for variant in dict.fromkeys((suffix.lower(), suffix.upper())):
                routes.append(Route(target, settings.upload_prefix, f".{variant}"))
    return routes


def overlapping_suffixes(routes: list[Route]) -> list[tuple[str, str]]:
    """Pairs S3 would reject as overlapping (same prefix, one suffix ends with the other)."""
    found: list[tuple[str, str]] = []
    for i, a in enumerate(routes):
        for b in routes[i + 1 :]:
            if a.prefix == b.prefix and (a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)):
                found.append((a.suffix, b.suffix))
    return found


def cache_control(cls: ContentClass) -> str:
    """The origin Cache-Control that states a CDN content class's TTLs.

    Browsers get ``max-age`` = the class's browser TTL (0: revalidate every time), shared caches get
    ``s-maxage`` = the edge TTL when it differs, ``immutable`` for fingerprinted classes. Cloudflare
    overrides both TTLs by rule anyway; the metadata makes the bucket correct behind any other cache too.
    """
    parts = ["public", f"max-age={cls.browser_ttl_seconds}"]
    if cls.edge_ttl_seconds != cls.browser_ttl_seconds:
        parts.append(f"s-maxage={cls.edge_ttl_seconds}")
    if cls.immutable:
        parts.append("immutable")
    return ", ".join(parts)


def cache_control_by_extension(classes: Iterable[ContentClass]) -> dict[str, str]:
    """Extension (lowercase, no dot) -> Cache-Control, from ``cdn.content_classes`` (extensions are unique there)."""
    return {ext.lower(): cache_control(cls) for cls in classes for ext in cls.extensions}


def function_environment(
    settings: OptimizerSettings, optimized_bucket: str, classes: Iterable[ContentClass]
) -> dict[str, str]:
    """What the handler/Job read: destination, quality level, widths, text levels, Cache-Control per extension."""
    images, text = settings.images, settings.text
    return {
        "OPTIMIZED_BUCKET": optimized_bucket,
        "OPTIMIZED_PREFIX": settings.optimized_prefix,
        "OPTIMIZER_UPLOAD_PREFIX": settings.upload_prefix,
        "OPTIMIZER_QUALITY": images.quality,
        "OPTIMIZER_WIDTHS": ",".join(str(w) for w in images.widths),
        "OPTIMIZER_FORMATS": ",".join(images.formats),
        "OPTIMIZER_GZIP_LEVEL": str(text.gzip_level),
        "OPTIMIZER_BROTLI_QUALITY": str(text.brotli_quality),
        "OPTIMIZER_MINIFY": "true" if text.minify else "false",
        CACHE_CONTROL_ENV: json.dumps(cache_control_by_extension(classes), separators=(",", ":"), sort_keys=True),
    }


def environment_bytes(env: dict[str, str]) -> int:
    """Size Lambda counts against its 4 KB environment limit (keys + values)."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in env.items())


def to_json(document: Document) -> str:
    return json.dumps(document, sort_keys=True)
